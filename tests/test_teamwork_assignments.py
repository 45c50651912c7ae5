"""Assigning transcripts with an overlap sample, the coder's queue, and "coding done"."""

from django.db import connection
from django.test import SimpleTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import make_transcript
from tests.teamwork_base import TeamworkTestCase
from transcripts import actions
from transcripts.assigning import plan_overlap
from transcripts.models import AuditEvent, TranscriptAssignment


class PlanTests(SimpleTestCase):
    def test_round_robin_then_a_seeded_sample_goes_to_a_second_coder(self):
        plan = plan_overlap(list(range(1, 11)), [100, 200, 300], 0.3, seed=42)
        first = plan[:10]
        assert first == [(t, [100, 200, 300][(t - 1) % 3]) for t in range(1, 11)]
        second = plan[10:]
        assert len(second) == 3
        primary = dict(first)
        assert all(coder != primary[t] for t, coder in second)
        assert len({t for t, _ in second}) == 3
        assert plan == plan_overlap(list(range(1, 11)), [100, 200, 300], 0.3, seed=42)

    def test_the_share_is_respected_and_rounded_to_whole_transcripts(self):
        for n, share, expected in [(10, 0.3, 3), (7, 0.5, 4), (20, 1.0, 20), (20, 0.0, 0), (3, 0.1, 0)]:
            plan = plan_overlap(list(range(n)), [1, 2], share, seed=1)
            assert len(plan) - n == expected

    def test_other_seeds_draw_other_samples(self):
        samples = {tuple(plan_overlap(list(range(20)), [1, 2], 0.3, seed=seed)[20:]) for seed in range(10)}
        assert len(samples) > 5

    def test_double_coding_needs_two_coders(self):
        for coders, share in [([], 0.0), ([1], 0.3)]:
            with self.assertRaises(ValueError):
                plan_overlap([1, 2], coders, share, seed=1)
        assert plan_overlap([1, 2], [1], 0.0, seed=1) == [(1, 1), (2, 1)]


class AssignmentViewTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.extra = [make_transcript(cls.project, title=f"Interview {n:02}") for n in range(8)]
        cls.url = reverse("assignment_list", args=[cls.project.slug])

    def assign(self, transcripts, coders, overlap=30, seed=7):
        self.client.force_login(self.alice)
        data = {"transcripts": [t.pk for t in transcripts], "coders": [c.pk for c in coders], "overlap": overlap}
        if seed is not None:
            data["seed"] = seed
        return self.client.post(self.url, data)

    def test_a_lead_assigns_with_overlap_and_the_seed_is_audited(self):
        transcripts = self.extra  # 8 transcripts, 30% -> 2 double-coded
        response = self.assign(transcripts, [self.bob, self.cora], overlap=30, seed=7)
        self.assertRedirects(response, self.url)
        pairs = set(TranscriptAssignment.objects.values_list("transcript_id", "coder_id"))
        ordered = sorted(transcripts, key=lambda t: (t.title, t.pk))
        assert pairs == set(plan_overlap([t.pk for t in ordered], [self.bob.pk, self.cora.pk], 0.3, 7))
        assert len(pairs) == 10
        event = AuditEvent.objects.get(verb="assignment.created")
        assert event.after["seed"] == 7 and event.after["share"] == 0.3
        assert {tuple(p) for p in event.after["assigned"]} == pairs
        page = self.client.get(self.url)
        self.assertContains(page, "2 double-coded by assignment")

    def test_without_a_seed_one_is_drawn_and_recorded(self):
        self.assign(self.extra, [self.bob, self.cora], seed=None)
        event = AuditEvent.objects.get(verb="assignment.created")
        assert isinstance(event.after["seed"], int)

    def test_assigning_again_keeps_existing_assignments(self):
        self.assign(self.extra[:4], [self.bob, self.cora], overlap=0)
        TranscriptAssignment.objects.filter(coder=self.bob).update(done_at="2026-01-01T00:00Z")
        self.assign(self.extra[:4], [self.bob, self.cora], overlap=100)
        assert TranscriptAssignment.objects.count() == 8
        assert TranscriptAssignment.objects.filter(done_at__isnull=False).count() == 2

    def test_readers_and_other_projects_transcripts_cannot_be_assigned(self):
        response = self.assign(self.extra[:2], [self.bob, self.rita])
        self.assertContains(response, "Select a valid choice")
        foreign = make_transcript(self.other_project, title="Theirs")
        response = self.assign([foreign], [self.bob])
        self.assertContains(response, "Select a valid choice")
        response = self.assign(self.extra[:2], [self.bob], overlap=30)
        self.assertContains(response, "at least two coders")
        assert not TranscriptAssignment.objects.exists()

    def test_the_page_costs_the_same_with_few_or_many_assignments(self):
        self.client.force_login(self.alice)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(self.url).status_code == 200
            return len(queries)

        self.assign(self.extra[:2], [self.bob, self.cora], overlap=0)
        small = count()
        more = [make_transcript(self.project, title=f"More {n}") for n in range(20)]
        self.assign(more, [self.bob, self.cora, self.alice], overlap=50)
        assert count() == small


class QueueTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.mine = TranscriptAssignment.objects.create(transcript=cls.hand, coder=cls.bob, assigned_by=cls.alice)
        cls.theirs = TranscriptAssignment.objects.create(transcript=cls.hand, coder=cls.cora, assigned_by=cls.alice)
        cls.url = reverse("queue", args=[cls.project.slug])

    def test_coders_see_their_own_queue_with_their_own_counts(self):
        actions.create_excerpt(self.hand, start=15, end=20, codes=[self.x], by=self.bob)
        actions.create_excerpt(self.hand, start=15, end=20, codes=[self.x], by=self.cora)
        self.client.force_login(self.bob)
        response = self.client.get(self.url)
        assert [a.pk for a in response.context["assignments"]] == [self.mine.pk]
        assert response.context["assignments"][0].n_mine == 1
        self.assertContains(response, "Coding done")
        self.client.force_login(self.rita)
        assert self.client.get(self.url).status_code == 403

    def test_marking_done_and_undoing_it_is_audited(self):
        self.client.force_login(self.bob)
        url = reverse("assignment_done", args=[self.mine.pk])
        self.assertRedirects(self.client.post(url, {"done": "1"}), self.url)
        self.mine.refresh_from_db()
        assert self.mine.done_at is not None
        self.assertContains(self.client.get(self.url), "Undo")
        self.client.post(url, {"done": "0"})
        self.mine.refresh_from_db()
        assert self.mine.done_at is None
        verbs = list(AuditEvent.objects.filter(verb__startswith="assignment.").order_by("pk").values_list("verb", flat=True))
        assert verbs == ["assignment.done", "assignment.reopened"]

    def test_a_coder_cannot_mark_someone_elses_assignment(self):
        self.client.force_login(self.bob)
        response = self.client.post(reverse("assignment_done", args=[self.theirs.pk]), {"done": "1"})
        assert response.status_code == 403
        self.theirs.refresh_from_db()
        assert self.theirs.done_at is None

    def test_the_queue_costs_the_same_with_one_or_many_assignments(self):
        self.client.force_login(self.bob)
        self.client.get(self.url)  # the session's once-a-minute renewal is not the page's cost

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(self.url).status_code == 200
            return len(queries)

        small = count()
        for n in range(15):
            TranscriptAssignment.objects.create(transcript=make_transcript(self.project, title=f"Q{n}"), coder=self.bob)
        assert count() == small
