"""Reconciliation: side by side, disagreements first; settling writes consensus excerpts and
never touches the coders' own."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import make_transcript
from tests.teamwork_base import TeamworkTestCase
from transcripts import actions
from transcripts.models import AuditEvent, CodeApplication, Excerpt


def originals_snapshot() -> list:
    """Every field of the coders' own excerpts and their codes."""
    excerpts = list(
        Excerpt.objects.filter(is_consensus=False)
        .order_by("pk")
        .values_list("pk", "transcript_id", "start", "end", "quote", "coder_id", "memo", "version", "updated_at")
    )
    codes = list(
        CodeApplication.objects.filter(excerpt__is_consensus=False)
        .order_by("pk")
        .values_list("pk", "excerpt_id", "code_id", "applied_by_id", "is_exemplar")
    )
    return excerpts + codes


class ReconcileTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.code_hand_transcript()
        cls.url = reverse("reconcile", args=[cls.hand.pk])
        cls.settle_url = reverse("reconcile_settle", args=[cls.hand.pk])

    def settle(self, excerpts, choice, note="We agreed on this in the meeting of 3 March.", **extra):
        self.client.force_login(self.alice)
        data = {"excerpts": ",".join(str(e.pk) for e in excerpts), "choice": choice, "note": note, **extra}
        return self.client.post(self.settle_url, data)

    def big_cluster(self) -> list:
        return [self.bob_first, self.bob_second, self.cora_x, self.cora_y]

    def test_the_page_shows_disagreements_first_side_by_side(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        groups = response.context["groups"]
        assert [g["cluster"].status for g in groups] == ["codes", "extent"]
        assert groups[0]["cluster"].excerpt_ids == [self.bob_interviewer.pk]
        assert [len(column["excerpts"]) for column in groups[1]["columns"]] == [2, 2]  # bob, cora
        self.assertContains(response, "Did not code this passage.")
        self.assertContains(response, "Not coded by everyone")
        self.assertContains(response, "Same codes, different extent")
        self.assertContains(response, "2 disagreements still open")

    def test_accepting_a_coders_version_copies_it_into_the_consensus(self):
        before = originals_snapshot()
        response = self.settle(self.big_cluster(), f"accept:{self.cora.pk}")
        self.assertRedirects(response, self.url)
        consensus = list(Excerpt.objects.filter(is_consensus=True).order_by("start", "end"))
        assert sorted((e.start, e.end) for e in consensus) == [(15, 35), (20, 30)]
        assert all(e.coder == self.alice and e.memo.startswith("We agreed") for e in consensus)
        assert sorted(tuple(e.codes.values_list("pk", flat=True)) for e in consensus) == [(self.x.pk,), (self.y.pk,)]
        assert originals_snapshot() == before
        event = AuditEvent.objects.get(verb="consensus.settled")
        assert event.after["choice"] == f"accept:{self.cora.pk}"
        assert event.after["from_excerpts"] == sorted(e.pk for e in self.big_cluster())

    def test_merging_takes_the_union_of_span_and_codes(self):
        before = originals_snapshot()
        self.settle(self.big_cluster(), "merge")
        (merged,) = Excerpt.objects.filter(is_consensus=True)
        assert (merged.start, merged.end, merged.quote) == (15, 35, "abcdefghij0123456789")
        assert set(merged.codes.values_list("pk", flat=True)) == {self.x.pk, self.y.pk}
        assert originals_snapshot() == before

    def test_writing_a_new_version(self):
        before = originals_snapshot()
        self.settle(self.big_cluster(), "new", start=18, end=28, codes=[self.y.pk])
        (new,) = Excerpt.objects.filter(is_consensus=True)
        assert (new.start, new.end, list(new.codes.all())) == (18, 28, [self.y])
        assert originals_snapshot() == before
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(response, "Settled")
        self.assertContains(response, "1 disagreement still open")

    def test_the_consensus_shows_alone_on_the_transcript_page(self):
        self.settle(self.big_cluster(), "merge")
        self.client.force_login(self.alice)
        response = self.client.get(reverse("transcript_detail", args=[self.hand.pk]), {"coder": "consensus"})
        assert [e.pk for e in response.context["page"].shown] == list(
            Excerpt.objects.filter(is_consensus=True).values_list("pk", flat=True)
        )
        mine = self.client.get(reverse("transcript_detail", args=[self.hand.pk]), {"coder": str(self.alice.pk)})
        assert mine.context["page"].shown == []  # the consensus is nobody's own coding
        self.assertContains(response, '<option value="consensus" selected>')

    def test_refusals_change_nothing(self):
        foreign = actions.create_excerpt(self.transcript, start=0, end=5, codes=[self.x], by=self.bob)
        consensus = actions.settle_consensus(
            self.hand, originals=[self.cora_x], versions=[(20, 30, [self.x])], choice="merge", note="n", by=self.alice
        )[0]
        before = (originals_snapshot(), Excerpt.objects.count())
        for excerpts, choice, extra in [
            (self.big_cluster(), "merge", {"note": "   "}),  # no reason given
            ([foreign], "merge", {}),  # another transcript's excerpt
            ([consensus], "merge", {}),  # the consensus is not a coder's version
            (self.big_cluster(), f"accept:{self.rita.pk}", {}),  # rita has no version here
            (self.big_cluster(), "new", {"start": 30, "end": 10, "codes": [self.x.pk]}),
            (self.big_cluster(), "new", {"start": 15, "end": 20}),  # no code
            (self.big_cluster(), "sideways", {}),
        ]:
            with self.subTest(choice=choice, extra=extra):
                response = self.settle(excerpts, choice, **({"note": "why"} | extra))
                self.assertRedirects(response, self.url)
                assert (originals_snapshot(), Excerpt.objects.count()) == before
        self.client.force_login(self.bob)
        assert self.client.post(self.settle_url, {"excerpts": str(self.cora_x.pk), "choice": "merge", "note": "x"}).status_code == 403
        assert self.client.get(self.url).status_code == 403

    def test_the_page_costs_the_same_for_a_few_or_many_excerpts(self):
        def count(url) -> int:
            self.client.force_login(self.alice)
            self.client.get(url)  # the session's once-a-minute renewal is not the page's cost
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(url).status_code == 200
            return len(queries)

        actions.settle_consensus(
            self.hand, originals=[], versions=[(15, 20, [self.x])], choice="new", note="n", by=self.alice
        )
        small = count(self.url)
        big = make_transcript(self.project, title="Long", text="P07: " + "words and more words " * 200)
        for coder in (self.bob, self.cora):
            for start in range(5, 4000, 70):
                actions.create_excerpt(big, start=start, end=start + 40, codes=[self.x], by=coder)
        actions.settle_consensus(big, originals=[], versions=[(5, 45, [self.x])], choice="new", note="n", by=self.alice)
        assert count(reverse("reconcile", args=[big.pk])) == small
