"""Full-text search: whole words, substrings and phrases on SQLite and PostgreSQL; coding every hit."""

from __future__ import annotations

from django.db import connection
from django.test import TestCase
from django.urls import reverse

from tests.base import make_code, make_participant, make_project, make_transcript, make_user
from transcripts import actions, review
from transcripts.interop.readers import parse_transcript
from transcripts.models import AuditEvent, Excerpt, Membership, Transcript
from transcripts.review import text_search

TEXTS = {
    "P01": "Interviewer: Does self-care help?\nP01: Self-care, yes. I am careful with my group chat.\n"
    "Interviewer: And the group?\nP01: The group\nchat keeps me going. Scare tactics do not.",
    "P02": "Interviewer: Anything else?\nP02: Supervision. Nobody cares about the CARE plan.",
    "P03": "Interviewer: Hello.\nP03: Nothing about it here.",
}


class SearchTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_user("alice")
        cls.bob = make_user("bob")
        cls.rita = make_user("rita")
        cls.project = make_project(cls.alice)
        actions.set_role(cls.project, cls.bob, Membership.Role.CODER, by=cls.alice)
        actions.set_role(cls.project, cls.rita, Membership.Role.READER, by=cls.alice)
        cls.transcripts = {}
        for label, text in TEXTS.items():
            parsed = parse_transcript(f"{label}.txt", text.encode())
            cls.transcripts[label] = make_transcript(
                cls.project, title=f"Interview {label}", text=parsed.text, turns=parsed.turns,
                participant=make_participant(cls.project, label=label),
                speaker_roles={"Interviewer": "interviewer", label: "participant"},
            )
        cls.code = make_code(cls.project, name="Self-care")
        cls.other = make_project(make_user("oscar"), name="Other", slug="other")
        make_transcript(cls.other, title="Elsewhere", text="Interviewer: care\nP9: care care care")

    def hits(self, query: str, **options) -> list[tuple[str, str]]:
        filters = options.pop("filters", review.ReviewFilters())
        return [(hit.transcript.participant.label, hit.match) for hit in review.search(self.project, filters, query, **options)]

    def test_whole_words_do_not_match_inside_longer_words(self):
        self.assertEqual(
            self.hits("care"),
            [("P01", "care"), ("P01", "care"), ("P02", "CARE")],  # self-care twice; not careful, Scare or cares
        )

    def test_anywhere_matches_substrings_in_any_case(self):
        self.assertEqual(len(self.hits("care", whole_words=False)), 6)  # + careful, Scare, cares

    def test_a_phrase_matches_its_words_in_order_across_line_breaks(self):
        self.assertEqual(self.hits("group chat"), [("P01", "group chat"), ("P01", "group\nchat")])
        self.assertEqual(self.hits("chat group"), [])
        self.assertEqual(self.hits("self-care help"), [("P01", "self-care help")])

    def test_hits_come_with_their_context_and_line(self):
        hit = review.search(self.project, review.ReviewFilters(), "supervision")[0]
        self.assertEqual((hit.before[-5:], hit.match, hit.after[:10], hit.line), ("P02: ", "Supervision", ". Nobody c", 2))

    def test_interviewer_turns_can_be_left_out(self):
        filters = review.ReviewFilters(no_interviewer=True)
        self.assertEqual(self.hits("care", filters=filters), [("P01", "care"), ("P02", "CARE")])

    def test_only_this_projects_transcripts_are_searched(self):
        assert all(hit.transcript.project_id == self.project.pk for hit in review.search(self.project, review.ReviewFilters(), "care"))

    def test_the_search_stops_reading_transcripts_once_it_has_more_hits_than_it_shows(self):
        from unittest import mock

        with mock.patch.object(text_search, "MAX_HITS", 1):
            hits = review.search(self.project, review.ReviewFilters(), "care")
        self.assertEqual([(hit.transcript.participant.label, hit.line) for hit in hits], [("P01", 1), ("P01", 2)])

    def test_nothing_to_search_finds_nothing(self):
        self.assertEqual(self.hits("   "), [])
        self.assertEqual(self.hits("?!"), [])

    def test_postgresql_stores_the_full_text_vector_indexes_it_and_uses_it(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only")
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'transcript_search_vector'")
            self.assertIn("gin", cursor.fetchone()[0].lower())
            # Computed from the text when it is written, not when it is searched.
            cursor.execute("SELECT search_vector::text FROM transcripts_transcript WHERE id = %s",
                           [self.transcripts["P02"].pk])
            self.assertIn("'supervision'", cursor.fetchone()[0])
            cursor.execute("SET enable_seqscan = off")
            queryset = text_search.preselect(Transcript.objects.all(), "group chat", True)
            plan = queryset.explain()
            cursor.execute("SET enable_seqscan = on")
        self.assertIn("transcript_search_vector", plan)
        self.assertEqual(list(queryset.values_list("title", flat=True)), ["Interview P01"])

    def test_coding_every_hit_is_previewed_then_applied_once_and_audited(self):
        url = reverse("review_search", args=[self.project.slug])
        self.client.force_login(self.rita)
        self.assertNotContains(self.client.get(url, {"q": "care"}), "Code every hit with")
        self.client.force_login(self.bob)
        preview = self.client.get(url, {"q": "care", "code": self.code.pk})
        self.assertContains(preview, "Code 3 hits with Self-care")
        digest = preview.context["digest"]
        apply = reverse("review_search_code", args=[self.project.slug])
        data = {"q": "care", "match": "words", "code": self.code.pk, "digest": digest}
        stale = self.client.post(apply, {**data, "digest": "old"}, headers={"HX-Request": "true"})
        self.assertContains(stale, "changed since the preview")
        self.assertEqual(Excerpt.objects.count(), 0)
        response = self.client.post(apply, data, headers={"HX-Request": "true"})
        self.assertContains(response, "already coded Self-care")
        assert "<html" not in response.content.decode()
        coded = sorted(Excerpt.objects.values_list("quote", "coder__username"))
        self.assertEqual(coded, [("CARE", "bob"), ("care", "bob"), ("care", "bob")])
        event = AuditEvent.objects.get(verb="search.coded")
        self.assertEqual(event.after, {"query": "care", "code": self.code.pk, "hits": 3, "created": 3, "skipped": 0})
        self.assertEqual(AuditEvent.objects.filter(verb="excerpt.created").count(), 3)
        # Applying again changes nothing but says so; another coder's hits are their own.
        response = self.client.post(apply, data)
        self.assertEqual(Excerpt.objects.count(), 3)
        self.assertEqual(AuditEvent.objects.filter(verb="search.coded").latest("pk").after["skipped"], 3)
        self.client.force_login(self.alice)
        preview = self.client.get(url, {"q": "care", "code": self.code.pk})
        self.client.post(apply, {**data, "digest": preview.context["digest"]})
        self.assertEqual(Excerpt.objects.filter(coder=self.alice).count(), 3)

    def test_readers_cannot_code_hits_and_codes_of_other_projects_are_refused(self):
        apply = reverse("review_search_code", args=[self.project.slug])
        self.client.force_login(self.rita)
        self.assertEqual(self.client.post(apply, {"q": "care", "code": self.code.pk}).status_code, 403)
        foreign = make_code(self.other, name="Foreign")
        self.client.force_login(self.bob)
        response = self.client.post(apply, {"q": "care", "code": foreign.pk, "digest": "x"}, headers={"HX-Request": "true"})
        self.assertContains(response, "Choose a code to apply")
        self.assertEqual(Excerpt.objects.count(), 0)
