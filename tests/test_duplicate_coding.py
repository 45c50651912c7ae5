"""The same coder cannot code exactly the same span with the same code twice: the twin would
count twice in the quotes and in every figure."""

from __future__ import annotations

import json

from django.contrib.messages import get_messages
from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt
from transcripts import actions
from transcripts.models import AuditEvent, CodeApplication, Excerpt

HTMX = {"HX-Request": "true"}


class DuplicateCodingActionTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.other = make_code(cls.project, name="Boundaries")
        cls.start = cls.transcript.text.index("The group chat")
        cls.end = cls.start + len("The group chat")

    def coded(self, codes, *, by=None, start=None, end=None, **fields):
        return make_excerpt(self.transcript, codes, start=self.start if start is None else start, end=self.end if end is None else end, by=by or self.bob, **fields)

    def assertNothingWritten(self, before: tuple) -> None:
        after = (Excerpt.objects.count(), CodeApplication.objects.count(), AuditEvent.objects.count())
        self.assertEqual(after, before)

    def counts(self) -> tuple:
        return (Excerpt.objects.count(), CodeApplication.objects.count(), AuditEvent.objects.count())

    def test_it_refuses_the_same_span_with_the_same_code_and_names_the_excerpt_there(self):
        first = self.coded([self.code])
        before = self.counts()
        with self.assertRaises(actions.DuplicateCoding) as refused:
            self.coded([self.code])
        self.assertEqual(refused.exception.existing, first)
        self.assertIn("You already coded exactly this passage with Sense of community", refused.exception.messages[0])
        self.assertNothingWritten(before)

    def test_it_refuses_when_one_of_several_codes_is_already_there(self):
        first = self.coded([self.code, self.other])
        with self.assertRaises(actions.DuplicateCoding) as refused:
            self.coded([self.other, make_code(self.project, name="Self-care")])
        self.assertEqual(refused.exception.existing, first)
        self.assertIn("with Boundaries;", refused.exception.messages[0])
        self.assertEqual(Excerpt.objects.count(), 1)

    def test_other_codes_other_spans_and_other_coders_are_not_duplicates(self):
        self.coded([self.code])
        self.coded([self.other])  # same span, another code
        self.coded([self.code], end=self.end - 1)  # same code, another span
        self.coded([self.code], by=self.alice)  # same span and code, another coder
        self.assertEqual(Excerpt.objects.count(), 4)

    def test_a_repeated_request_token_still_returns_the_first_excerpt(self):
        first = self.coded([self.code], client_token="tab-1")
        self.assertEqual(self.coded([self.code], client_token="tab-1"), first)
        self.assertEqual(Excerpt.objects.count(), 1)

    def test_moving_an_excerpt_onto_its_twin_is_refused(self):
        self.coded([self.code])
        moved = self.coded([self.code, self.other], start=0, end=11)
        before = self.counts()
        with self.assertRaises(actions.DuplicateCoding):
            actions.change_excerpt(moved, by=self.bob, expected_version=1, start=self.start, end=self.end)
        self.assertNothingWritten(before)
        moved.refresh_from_db()
        self.assertEqual((moved.start, moved.end, moved.version), (0, 11, 1))

    def test_giving_an_excerpt_its_twins_code_is_refused(self):
        self.coded([self.code])
        twin = self.coded([self.other])
        with self.assertRaises(actions.DuplicateCoding) as refused:
            # The lead edits bob's excerpt: it is bob's coding that would count twice.
            actions.change_excerpt(twin, by=self.alice, expected_version=1, codes=[self.other, self.code])
        self.assertIn("Its coder already coded", refused.exception.messages[0])
        self.assertEqual(list(twin.applications.values_list("code_id", flat=True)), [self.other.pk])
        # A memo alone changes no span and no code.
        actions.change_excerpt(twin, by=self.bob, expected_version=1, memo="Said twice in the interview")

    def test_undoing_a_move_onto_a_twin_is_refused(self):
        twin = self.coded([self.code], start=0, end=5)
        moved = self.coded([self.code])
        actions.change_excerpt(moved, by=self.bob, expected_version=1, start=0, end=11)
        # The lead moves bob's other excerpt to where the first one was; bob's last action is still the move.
        actions.change_excerpt(twin, by=self.alice, expected_version=1, start=self.start, end=self.end)
        with self.assertRaises(actions.DuplicateCoding):
            actions.undo_last(self.transcript, by=self.bob)
        moved.refresh_from_db()
        self.assertEqual((moved.start, moved.end), (0, 11))

    def test_coding_search_hits_twice_still_skips_the_ones_done(self):
        hit = type("Hit", (), {"transcript": self.transcript, "start": self.start, "end": self.end})
        self.assertEqual(actions.code_search_hits(self.project, [hit], self.code, by=self.bob, query="group chat"), (1, 0))
        self.assertEqual(actions.code_search_hits(self.project, [hit], self.code, by=self.bob, query="group chat"), (0, 1))


class DuplicateCodingViewTests(BaseTestCase):
    def setUp(self) -> None:
        self.client.force_login(self.bob)
        self.start = self.transcript.text.index("The group chat")
        self.url = reverse("excerpt_create", args=[self.transcript.pk])
        self.data = {"start": self.start, "end": self.start + len("The group chat"), "codes": str(self.code.pk)}

    def test_the_coding_page_refuses_the_twin_and_links_to_the_excerpt_there(self):
        first = self.client.post(self.url, self.data, headers=HTMX)
        self.assertEqual(first.status_code, 200)
        existing = Excerpt.objects.get()
        response = self.client.post(self.url, {**self.data, "client_token": "another-tab"}, headers=HTMX)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "<html")
        link = f'{reverse("transcript_detail", args=[self.transcript.pk])}?excerpt={existing.pk}'
        self.assertContains(response, f'<a href="{link}" class="existing-excerpt">Open that excerpt</a>', html=False)
        self.assertContains(response, "You already coded exactly this passage with Sense of community")
        notice = json.loads(response["HX-Trigger"])["notify"]
        self.assertEqual(notice["level"], "error")
        self.assertNotIn("<a", notice["message"])
        self.assertEqual(Excerpt.objects.count(), 1)

    def test_without_htmx_it_redirects_with_the_message_and_link(self):
        self.client.post(self.url, self.data)
        existing = Excerpt.objects.get()
        response = self.client.post(self.url, self.data)
        self.assertRedirects(response, reverse("transcript_detail", args=[self.transcript.pk]), fetch_redirect_response=False)
        [message] = [str(m) for m in get_messages(response.wsgi_request)]
        self.assertIn(f"?excerpt={existing.pk}", message)
        self.assertEqual(Excerpt.objects.count(), 1)

    def test_moving_onto_a_twin_from_the_page_is_refused_with_the_link(self):
        existing = make_excerpt(self.transcript, [self.code], start=self.data["start"], end=self.data["end"], by=self.bob)
        other = make_excerpt(self.transcript, [self.code], start=0, end=11, by=self.bob)
        response = self.client.post(
            reverse("excerpt_update", args=[other.pk]),
            {"version": 1, "start": self.data["start"], "end": self.data["end"]},
            headers=HTMX,
        )
        self.assertContains(response, f"?excerpt={existing.pk}")
        other.refresh_from_db()
        self.assertEqual((other.start, other.end), (0, 11))
