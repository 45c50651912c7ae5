"""The coding endpoints: permissions, validation, stale edits, undo, double submits, query counts."""

import html
import json
import random
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt, make_transcript, make_user
from transcripts import actions
from transcripts.models import AuditEvent, CodeApplication, Excerpt, Membership

HTMX = {"HX-Request": "true"}


def triggers(response) -> dict:
    """The events a response asks the page to fire (HX-Trigger), by name."""
    return json.loads(response["HX-Trigger"])


def page_data(response) -> list[dict]:
    """The excerpts as the coding area hands them to the page's script."""
    raw = re.search(r'id="excerpt-data" hidden data-json="([^"]*)"', response.content.decode()).group(1)
    return json.loads(html.unescape(raw))


def shifted(state: str, delta: list[int]) -> str:
    """What the page's script makes of its state token after a patch (coding.js, shiftedState)."""
    return "-".join(str(int(part) + change) for part, change in zip(state.split("-"), delta))


class CreateExcerptTests(BaseTestCase):
    def setUp(self) -> None:
        self.url = reverse("excerpt_create", args=[self.transcript.pk])
        self.start = self.transcript.text.index("The group chat")

    def post(self, user, **data):
        self.client.force_login(user)
        data.setdefault("start", self.start)
        data.setdefault("end", self.start + len("The group chat"))
        data.setdefault("codes", str(self.code.pk))
        return self.client.post(self.url, data, headers=HTMX)

    def test_members_who_may_code_create_excerpts_and_others_are_refused(self):
        self.assertEqual(self.post(self.oscar).status_code, 404)
        self.assertEqual(self.post(self.rita).status_code, 403)
        self.assertFalse(Excerpt.objects.exists())
        response = self.post(self.bob)
        self.assertEqual(response.status_code, 200)
        self.assertIn("coding-saved", triggers(response))  # the page patches the text in place
        self.assertContains(response, 'id="excerpt-panel"')
        self.assertNotContains(response, 'id="coding-area"')
        excerpt = Excerpt.objects.get()
        self.assertEqual((excerpt.quote, excerpt.coder), ("The group chat", self.bob))

    def test_it_snaps_to_words_when_asked(self):
        self.post(self.bob, start=self.start + 2, end=self.start + 7, snap="1")
        self.assertEqual(Excerpt.objects.get().quote, "The group")

    def test_codes_of_another_project_or_missing_codes_are_refused_with_a_message(self):
        foreign = make_code(self.other_project, name="Foreign")
        for codes in [str(foreign.pk), "999999", ""]:
            response = self.post(self.bob, codes=codes)
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, "form-errors")
        self.assertFalse(Excerpt.objects.exists())

    def test_an_archived_code_cannot_be_applied(self):
        self.code.archived = True
        self.code.save(update_fields=["archived"])
        response = self.post(self.bob)
        self.assertContains(response, "deleted or archived meanwhile")
        self.assertFalse(Excerpt.objects.exists())

    def test_offsets_outside_the_text_are_refused(self):
        for start, end in [(5, 5), (10, 3), (0, 10_000), ("x", 3)]:
            self.post(self.bob, start=start, end=end)
        self.assertFalse(Excerpt.objects.exists())

    def test_a_retried_request_codes_once(self):
        self.post(self.bob, client_token="abc-123")
        self.post(self.bob, client_token="abc-123")
        self.assertEqual(Excerpt.objects.count(), 1)
        self.assertEqual(AuditEvent.objects.filter(verb="excerpt.created").count(), 1)

    def test_a_new_code_from_the_picker_respects_the_project_setting(self):
        self.post(self.bob, codes="", new_code="Naming peers")
        self.assertEqual(list(Excerpt.objects.get().codes.values_list("name", flat=True)), ["Naming peers"])
        self.project.only_leads_create_codes = True
        self.project.save(update_fields=["only_leads_create_codes"])
        response = self.post(self.bob, codes="", new_code="Another new code")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.project.codes.filter(name="Another new code").exists())
        self.post(self.alice, codes="", new_code="Another new code")
        self.assertTrue(self.project.codes.filter(name="Another new code").exists())

    def test_without_htmx_it_redirects_back_to_the_transcript(self):
        self.client.force_login(self.bob)
        response = self.client.post(self.url, {"start": self.start, "end": self.start + 3, "codes": self.code.pk})
        excerpt = Excerpt.objects.get()
        self.assertRedirects(
            response, reverse("transcript_detail", args=[self.transcript.pk]) + f"?excerpt={excerpt.pk}",
            fetch_redirect_response=False,
        )


class ChangeExcerptTests(BaseTestCase):
    def setUp(self) -> None:
        self.excerpt = make_excerpt(self.transcript, [self.code], start=0, end=12, by=self.bob)
        self.url = reverse("excerpt_update", args=[self.excerpt.pk])
        self.other = make_code(self.project, name="Boundaries")

    def test_only_the_coder_or_a_lead_may_change_an_excerpt(self):
        carol = make_user("carol")
        actions.set_role(self.project, carol, Membership.Role.CODER, by=self.alice)
        for user, status in [(self.oscar, 404), (self.rita, 403), (carol, 403)]:
            self.client.force_login(user)
            response = self.client.post(self.url, {"version": 1, "memo": "hijack"}, headers=HTMX)
            self.assertEqual(response.status_code, status)
        self.excerpt.refresh_from_db()
        self.assertEqual((self.excerpt.memo, self.excerpt.version), ("", 1))
        self.client.force_login(self.alice)
        self.client.post(self.url, {"version": 1, "memo": "Lead's note"}, headers=HTMX)
        self.excerpt.refresh_from_db()
        self.assertEqual(self.excerpt.memo, "Lead's note")

    def test_codes_memo_and_boundaries_change_and_are_audited(self):
        self.client.force_login(self.bob)
        self.client.post(self.url, {"version": 1, "codes": f"{self.code.pk},{self.other.pk}", "memo": "Two codes"}, headers=HTMX)
        self.client.post(self.url, {"version": 2, "move": "end-right"}, headers=HTMX)
        self.excerpt.refresh_from_db()
        self.assertEqual(set(self.excerpt.codes.all()), {self.code, self.other})
        self.assertEqual(self.excerpt.memo, "Two codes")
        self.assertEqual(self.excerpt.quote, self.transcript.text[0 : self.excerpt.end])
        self.assertGreater(self.excerpt.end, 12)
        events = AuditEvent.objects.filter(verb="excerpt.changed").order_by("pk")
        self.assertEqual(events[0].before["codes"], [self.code.pk])
        self.assertEqual(events[1].before["end"], 12)

    def test_a_stale_version_is_refused_with_409_and_keeps_the_typed_memo(self):
        actions.change_excerpt(self.excerpt, by=self.alice, expected_version=1, memo="Lead got there first")
        self.client.force_login(self.bob)
        response = self.client.post(self.url, {"version": 1, "memo": "Bob's <b>careful</b> memo"}, headers=HTMX)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Bob&#x27;s &lt;b&gt;careful&lt;/b&gt; memo", status_code=409)
        self.assertContains(response, "Lead got there first", status_code=409)
        self.excerpt.refresh_from_db()
        self.assertEqual(self.excerpt.memo, "Lead got there first")

    def test_an_excerpt_needs_a_code(self):
        self.client.force_login(self.bob)
        response = self.client.post(self.url, {"version": 1, "codes": ""}, headers=HTMX)
        self.assertContains(response, "at least one code")
        self.assertEqual(list(self.excerpt.codes.all()), [self.code])

    def test_a_deleted_excerpt_is_a_clear_404(self):
        self.client.force_login(self.bob)
        self.client.post(reverse("excerpt_delete", args=[self.excerpt.pk]), {"version": 1}, headers=HTMX)
        self.assertFalse(Excerpt.objects.exists())
        response = self.client.post(self.url, {"version": 1, "memo": "late"}, headers=HTMX)
        self.assertEqual(response.status_code, 404)


class UndoTests(BaseTestCase):
    def test_undo_walks_back_the_users_own_actions_only(self):
        url = reverse("coding_undo", args=[self.transcript.pk])
        mine = make_excerpt(self.transcript, [self.code], start=0, end=5, by=self.bob)
        theirs = make_excerpt(self.transcript, [self.code], start=6, end=10, by=self.alice)
        actions.change_excerpt(mine, by=self.bob, expected_version=1, memo="changed")
        self.client.force_login(self.bob)
        self.client.post(url, headers=HTMX)
        mine.refresh_from_db()
        self.assertEqual(mine.memo, "")
        self.client.post(url, headers=HTMX)
        self.assertFalse(Excerpt.objects.filter(pk=mine.pk).exists())
        self.assertTrue(Excerpt.objects.filter(pk=theirs.pk).exists())
        response = self.client.post(url, headers=HTMX)
        self.assertContains(response, "nothing of yours to undo")
        self.client.force_login(self.rita)
        self.assertEqual(self.client.post(url, headers=HTMX).status_code, 403)

    def test_undoing_a_delete_restores_the_excerpt_and_its_codes(self):
        excerpt = make_excerpt(self.transcript, [self.code], start=0, end=5, by=self.bob, memo="keep me")
        actions.delete_excerpt(excerpt, by=self.bob)
        actions.undo_last(self.transcript, by=self.bob)
        restored = Excerpt.objects.get()
        self.assertEqual((restored.start, restored.end, restored.memo), (0, 5, "keep me"))
        self.assertEqual(list(restored.codes.all()), [self.code])


class TranscriptPageTests(BaseTestCase):
    def test_readers_get_no_coding_controls(self):
        url = reverse("transcript_detail", args=[self.transcript.pk])
        self.client.force_login(self.rita)
        response = self.client.get(url)
        self.assertNotContains(response, 'id="code-picker"')
        self.assertNotContains(response, 'id="undo-button"')
        self.assertContains(response, "read only")
        self.client.force_login(self.bob)
        self.assertContains(self.client.get(url), 'id="code-picker"')

    def test_filters_show_one_coders_or_one_codes_coding(self):
        other = make_code(self.project, name="Boundaries")
        mine = make_excerpt(self.transcript, [self.code], start=0, end=5, by=self.bob)
        theirs = make_excerpt(self.transcript, [other], start=6, end=10, by=self.alice)
        url = reverse("transcript_detail", args=[self.transcript.pk])
        self.client.force_login(self.bob)
        for query, shown, hidden in [
            ("?coder=mine", mine, theirs),
            (f"?coder={self.alice.pk}", theirs, mine),
            (f"?code={other.pk}", theirs, mine),
        ]:
            response = self.client.get(url + query)
            self.assertContains(response, f'data-excerpts="{shown.pk}"')
            self.assertNotContains(response, f'data-excerpts="{hidden.pk}"')

    def test_the_state_token_changes_when_coding_changes(self):
        url = reverse("transcript_state", args=[self.transcript.pk])
        self.client.force_login(self.rita)
        first = self.client.get(url).json()["state"]
        excerpt = make_excerpt(self.transcript, [self.code], by=self.bob)
        second = self.client.get(url).json()["state"]
        actions.change_excerpt(excerpt, by=self.bob, expected_version=1, memo="x")
        third = self.client.get(url).json()["state"]
        self.assertEqual(len({first, second, third}), 3)
        self.client.force_login(self.oscar)
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_codes_css_carries_only_validated_colours(self):
        make_code(self.project, name="Blue", color="#1f77b4")
        self.client.force_login(self.rita)
        response = self.client.get(reverse("codes_css", args=[self.project.slug]))
        self.assertEqual(response["Content-Type"], "text/css; charset=utf-8")
        self.assertIn(".c-%d{--code:#1f77b4;--code-ink:#fff}" % self.project.codes.get(name="Blue").pk, response.content.decode())
        self.client.force_login(self.oscar)
        self.assertEqual(self.client.get(reverse("codes_css", args=[self.project.slug])).status_code, 404)


def long_text(n_words: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = "peer group boundaries self care supervisor policy stigma recovery honestly really".split()
    lines = []
    for turn in range(n_words // 60):
        speaker = "Interviewer" if turn % 2 == 0 else "P07"
        lines.append(f"{speaker}: " + " ".join(rng.choice(words) for _ in range(60)))
    return "\n".join(lines)


class TranscriptPageQueryTests(BaseTestCase):
    def build(self, transcript, n_excerpts: int, n_codes: int) -> None:
        codes = [make_code(self.project, name=f"Code {transcript.pk}-{i}") for i in range(n_codes)]
        rng = random.Random(n_excerpts)
        length = len(transcript.text)
        for i in range(n_excerpts):
            start = rng.randrange(0, length - 2)
            actions.create_excerpt(
                transcript,
                start=start,
                end=min(length, start + rng.randrange(1, 200)),
                codes=rng.sample(codes, k=min(2, len(codes))),
                by=self.bob if i % 2 else self.alice,
            )

    def count_queries(self, transcript, **params) -> int:
        url = reverse("transcript_detail", args=[transcript.pk])
        self.client.force_login(self.bob)
        self.client.get(url)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url, params)
        self.assertEqual(response.status_code, 200)
        return len(queries)

    def test_the_page_costs_a_fixed_number_of_queries_however_much_coding_there_is(self):
        from transcripts.interop.readers import parse_transcript

        small = make_transcript(self.project, title="Small", text=long_text(600))
        parsed = parse_transcript("P07.txt", long_text(15_000).encode())
        big = make_transcript(self.project, title="Long", text=parsed.text, turns=parsed.turns)
        self.build(small, n_excerpts=3, n_codes=2)
        self.build(big, n_excerpts=400, n_codes=12)
        baseline = self.count_queries(small)
        self.assertLessEqual(baseline, 12)
        self.assertEqual(self.count_queries(big), baseline)
        self.assertEqual(self.count_queries(big, focus=self.code.pk), baseline + 1)  # the two example quotes
        self.assertEqual(self.count_queries(big, coder="mine", uncoded="1"), baseline)
        self.assertGreaterEqual(len(parsed.text.split()), 15_000)
        self.assertEqual(CodeApplication.objects.filter(excerpt__transcript=big).count(), 800)

    def test_partials_cost_no_more_than_the_page(self):
        self.build(self.transcript, n_excerpts=5, n_codes=3)
        full = self.count_queries(self.transcript)
        url = reverse("transcript_detail", args=[self.transcript.pk])
        for partial in ("coding-area", "code-panel", "excerpt-panel"):
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as queries:
                response = self.client.get(url, {"partial": partial}, headers=HTMX)
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, f'id="{partial}"')
            self.assertNotContains(response, "<html")
            self.assertLessEqual(len(queries), full)


class CodingPatchTests(BaseTestCase):
    """A coding write answers with what the page needs to show it in place, and what it adds to
    the polling token, so that only someone else's change makes the page refresh."""

    def setUp(self) -> None:
        self.client.force_login(self.bob)
        self.state_url = reverse("transcript_state", args=[self.transcript.pk])
        self.other = make_code(self.project, name="Boundaries", color="#1f77b4")
        self.start = self.transcript.text.index("The group chat")

    def state(self) -> str:
        return self.client.get(self.state_url).json()["state"]

    def create(self, **data):
        data.setdefault("start", self.start)
        data.setdefault("end", self.start + len("The group chat"))
        data.setdefault("codes", f"{self.other.pk},{self.code.pk}")
        return self.client.post(reverse("excerpt_create", args=[self.transcript.pk]), data, headers=HTMX)

    def test_a_new_excerpt_comes_back_as_the_page_itself_lists_it(self):
        response = self.create()
        events = triggers(response)
        self.assertNotIn("coding-changed", events)
        excerpt = Excerpt.objects.get()
        patch = events["coding-saved"]
        self.assertEqual(patch["removed"], None)
        self.assertEqual(patch["delta"], [1, excerpt.pk, 1])
        page = self.client.get(reverse("transcript_detail", args=[self.transcript.pk]))
        [listed] = [entry for entry in page_data(page) if entry["id"] == excerpt.pk]
        self.assertEqual(patch["excerpt"], listed)
        first = min(self.code.pk, self.other.pk)
        self.assertEqual(patch["excerpt"]["cls"], f"c-{first} mine")
        self.assertContains(page, f'<mark class="hl depth-1 c-{first} mine" data-excerpts="{excerpt.pk}">The group chat</mark>')

    def code_panel(self, content: bytes) -> str:
        """The code panel's section in a response, without the out-of-band mark."""
        found = re.search(r'<section id="code-panel".*?</section>', content.decode(), re.S).group(0)
        return found.replace(' hx-swap-oob="true"', "")

    def test_each_write_carries_the_code_panel_as_the_page_would_fetch_it(self):
        page = reverse("transcript_detail", args=[self.transcript.pk])
        shown = f"partial=code-panel&coder=mine&focus={self.other.pk}"
        excerpt = None
        for write in ("create", "update", "delete"):
            if write == "create":
                response = self.client.post(
                    reverse("excerpt_create", args=[self.transcript.pk]) + "?coder=mine",
                    {"start": self.start, "end": self.start + 14, "codes": f"{self.other.pk},{self.code.pk}"},
                    headers={**HTMX, "X-Code-Panel": shown},
                )
                excerpt = Excerpt.objects.get()
            elif write == "update":
                response = self.client.post(
                    reverse("excerpt_update", args=[excerpt.pk]),
                    {"version": 1, "codes": str(self.code.pk)},
                    headers={**HTMX, "X-Code-Panel": shown},
                )
            else:
                response = self.client.post(
                    reverse("excerpt_delete", args=[excerpt.pk]), {"version": 2}, headers={**HTMX, "X-Code-Panel": shown}
                )
            self.assertIn("coding-saved", triggers(response))
            self.assertContains(response, 'id="excerpt-panel"')
            self.assertContains(response, '<section id="code-panel"', count=1)
            self.assertContains(response, 'hx-swap-oob="true"', count=1)
            fetched = self.client.get(page + "?" + shown, headers=HTMX)
            self.assertEqual(self.code_panel(response.content), self.code_panel(fetched.content))
        # What the panel counts moved with each write: both codes, then one, then none.
        self.assertIn('<span class="count">0</span>', self.code_panel(response.content))
        self.assertIn('id="focus-code" data-code-id="%d"' % self.other.pk, self.code_panel(response.content))

    def test_the_code_panel_counts_the_new_excerpt(self):
        response = self.create()
        panel = self.code_panel(response.content)
        page = reverse("transcript_detail", args=[self.transcript.pk])
        self.assertEqual(panel, self.code_panel(self.client.get(page, {"partial": "code-panel"}, headers=HTMX).content))
        for code in (self.code, self.other):
            self.assertRegex(panel, rf'data-code-id="{code.pk}".*?<span class="count">1</span>')

    def test_each_write_moves_the_state_token_by_exactly_its_delta(self):
        before = self.state()
        patch = triggers(self.create())["coding-saved"]
        self.assertEqual(shifted(before, patch["delta"]), self.state())
        excerpt = Excerpt.objects.get()
        url = reverse("excerpt_update", args=[excerpt.pk])
        for version, data in enumerate(
            [{"memo": "Why it matters"}, {"move": "end-right"}, {"codes": str(self.code.pk)}], start=1
        ):
            before = self.state()
            response = self.client.post(url, {"version": version, **data}, headers=HTMX)
            patch = triggers(response)["coding-saved"]
            self.assertEqual(shifted(before, patch["delta"]), self.state())
        excerpt.refresh_from_db()
        self.assertEqual(patch["excerpt"]["end"], excerpt.end)
        self.assertEqual(patch["excerpt"]["codes"], [self.code.pk])
        before = self.state()
        response = self.client.post(reverse("excerpt_delete", args=[excerpt.pk]), {"version": 4}, headers=HTMX)
        patch = triggers(response)["coding-saved"]
        self.assertEqual((patch["excerpt"], patch["removed"]), (None, excerpt.pk))
        self.assertEqual(shifted(before, patch["delta"]), self.state())

    def test_the_page_holds_the_token_the_poll_returns_even_under_blind_coding(self):
        make_excerpt(self.transcript, [self.code], start=0, end=5, by=self.alice)
        self.create()
        self.project.blind_coding = True
        self.project.save(update_fields=["blind_coding"])
        for user in (self.bob, self.alice, self.rita):
            self.client.force_login(user)
            page = self.client.get(reverse("transcript_detail", args=[self.transcript.pk]))
            held = re.search(r'data-state="([^"]*)"', page.content.decode()).group(1)
            self.assertEqual(held, self.state())
        self.assertNotEqual(held, self.state_for(self.bob))  # rita sees nothing, bob his own

    def state_for(self, user) -> str:
        self.client.force_login(user)
        return self.state()

    def test_someone_elses_change_meanwhile_shows_in_the_token(self):
        before = self.state()
        make_excerpt(self.transcript, [self.code], start=0, end=5, by=self.alice)
        patch = triggers(self.create())["coding-saved"]
        self.assertNotEqual(shifted(before, patch["delta"]), self.state())

    def test_undo_a_new_code_and_a_stale_edit_refresh_the_page_instead(self):
        events = triggers(self.create(codes="", new_code="Naming peers"))
        self.assertIn("coding-changed", events)
        self.assertNotIn("coding-saved", events)
        events = triggers(self.client.post(reverse("coding_undo", args=[self.transcript.pk]), headers=HTMX))
        self.assertIn("coding-changed", events)
        excerpt = make_excerpt(self.transcript, [self.code], by=self.bob)
        actions.change_excerpt(excerpt, by=self.alice, expected_version=1, memo="Lead's note")
        response = self.client.post(reverse("excerpt_update", args=[excerpt.pk]), {"version": 1, "memo": "x"}, headers=HTMX)
        self.assertEqual(response.status_code, 409)
        self.assertIn("coding-changed", triggers(response))

    def test_coding_writes_cost_a_fixed_number_of_queries(self):
        self.client.get(reverse("transcript_detail", args=[self.transcript.pk]))  # renews the session once

        def cost(transcript, n_excerpts: int) -> list[int]:
            rng = random.Random(n_excerpts)
            # Distinct starts: the same coder cannot code the same span with the same code twice.
            for start in rng.sample(range(0, len(transcript.text) - 10), n_excerpts):
                make_excerpt(transcript, [self.code, self.other], start=start, end=start + 8, by=self.bob)
            counts = []
            with CaptureQueriesContext(connection) as queries:
                response = self.client.post(
                    reverse("excerpt_create", args=[transcript.pk]),
                    {"start": 0, "end": 9, "codes": str(self.code.pk), "client_token": f"t-{transcript.pk}"},
                    headers=HTMX,
                )
            counts.append(len(queries))
            pk = triggers(response)["coding-saved"]["excerpt"]["id"]
            with CaptureQueriesContext(connection) as queries:
                self.client.post(reverse("excerpt_update", args=[pk]), {"version": 1, "memo": "m"}, headers=HTMX)
            counts.append(len(queries))
            with CaptureQueriesContext(connection) as queries:
                self.client.post(reverse("excerpt_delete", args=[pk]), {"version": 2}, headers=HTMX)
            counts.append(len(queries))
            return counts

        small = cost(self.transcript, 2)
        big = cost(make_transcript(self.project, title="Long", text=long_text(6_000)), 300)
        # Session and user, the transcript or excerpt and the membership (the blind-coding check for
        # an excerpt), the codebook, the write with its version check and audit row; transactions
        # and savepoints count as statements too. (The session is saved at most once a minute.)
        # The code panel comes back in the same response, instead of a request of its own
        # afterwards: the excerpts, turns and members it counts and covers, and for a deletion
        # (which reads no codebook to check codes against) the codes as well.
        # PostgreSQL adds the advisory lock that orders the audit trail's hash chain.
        chain_lock = 1 if connection.vendor == "postgresql" else 0
        # The review counts (actions/counts.py): a new excerpt costs the lock with the check that
        # the project's counts are kept, what the excerpt adds, the tallies and the totals; a
        # deletion reads the excerpt's share before as well; a memo changes no count.
        kept_counts = [4, 0, 5]
        panel = [3, 3, 4]
        self.assertEqual(
            small,
            [
                15 + panel[0] + chain_lock + kept_counts[0],
                13 + panel[1] + chain_lock,
                13 + panel[2] + chain_lock + kept_counts[2],
            ],
        )
        self.assertEqual(big, small)
