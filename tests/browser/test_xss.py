"""Script injection, checked where it would happen: in Chromium, on every page that shows user input.

Every user-controlled string is filled with payloads (tags, event handlers, attribute and URL
breakouts, htmx attributes, JSON breakouts). Each page must render the payload as text, run
no script, open no dialog, and send no request anywhere but this site.
"""

from __future__ import annotations

from urllib.parse import quote, urlparse

from django.urls import reverse

from tests.base import make_project, make_user
from tests.browser.base import BrowserTestCase
from transcripts import actions
from transcripts.interop.readers import parse_transcript
from transcripts.models import Attribute, AttributeValue, Membership, Participant, Pseudonym

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=2>",
    "\"><svg onload=window.__pwned=3>",
    "'><a href=javascript:window.__pwned=4>x</a>",
    "<div hx-get=\"/logout/\" hx-trigger=\"load\">h</div>",
    "</script><script>window.__pwned=5</script>",
    "{\"x\": \"</div><img src=x onerror=window.__pwned=6>\"}",
    "x\" hx-vals='{\"evil\":1}' hx-post=\"/logout/\" hx-trigger=\"load",
    "<iframe src=\"http://evil.example/\"></iframe>",
    "<style>body{background:url(http://evil.example/x)}</style>",
]


class ScriptInjectionTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.evil = make_user("evil", first_name=PAYLOADS[1][:30], last_name=PAYLOADS[2][:30])
        self.alice = make_user("alice")
        self.project = make_project(self.alice, name=f"Study {PAYLOADS[0]}", description=PAYLOADS[3])
        actions.set_role(self.project, self.evil, Membership.Role.CODER, by=self.alice)
        lines = ["Interviewer: What helps?"] + [f"P01: {payload}" for payload in PAYLOADS]
        parsed = parse_transcript("P01.txt", "\n".join(lines).encode())
        participant = Participant.objects.create(project=self.project, label=PAYLOADS[4][:50])
        attribute = Attribute.objects.create(project=self.project, name=PAYLOADS[5][:100], kind="text")
        AttributeValue.objects.create(participant=participant, attribute=attribute, value=PAYLOADS[6])
        self.transcript = actions.create_transcript(
            self.project, title=f"T {PAYLOADS[7]}"[:200], text=parsed.text, by=self.alice, turns=parsed.turns,
            participant=participant, source_name=PAYLOADS[8][:255],
        )
        parent = actions.create_code(self.project, name=PAYLOADS[0][:120], by=self.alice, definition=PAYLOADS[1])
        self.code = actions.create_code(
            self.project, name=PAYLOADS[7][:120], parent=parent, by=self.alice,
            inclusion=PAYLOADS[2], exclusion=PAYLOADS[3], typical_example=PAYLOADS[5],
        )
        start = parsed.text.index("<img")
        self.excerpt = actions.create_excerpt(
            self.transcript, start=start, end=start + 20, codes=[self.code, parent], by=self.evil, memo=PAYLOADS[6]
        )
        Pseudonym.objects.create(project=self.project, original=PAYLOADS[9][:200], replacement=PAYLOADS[4][:200])

    def pages(self) -> list[str]:
        slug = self.project.slug
        t = self.transcript.pk
        return [
            reverse("project_list"),
            reverse("project_detail", args=[slug]),
            reverse("participant_list", args=[slug]),
            reverse("pseudonym_list", args=[slug]),
            reverse("transcript_detail", args=[t]),
            reverse("transcript_detail", args=[t]) + f"?excerpt={self.excerpt.pk}&focus={self.code.pk}",
            reverse("transcript_detail", args=[t]) + f"?coder={self.evil.pk}&code={self.code.pk}",
            reverse("transcript_speakers", args=[t]),
            reverse("transcript_deidentify", args=[t]),
            reverse("project_settings", args=[slug]),
            reverse("codebook", args=[slug]),
            reverse("codebook_history", args=[slug]),
            reverse("code_detail", args=[self.code.pk]),
            reverse("review_summary", args=[slug]),
            reverse("review_quotes", args=[slug, self.code.pk]),
            reverse("review_matrix", args=[slug]),
            reverse("review_cooccurrence", args=[slug]),
            reverse("review_query", args=[slug]) + f"?a={self.code.pk}&b={self.code.parent_id}",
            reverse("review_search", args=[slug]) + "?q=" + quote(PAYLOADS[1]),
            reverse("member_list", args=[slug]),
            reverse("assignment_list", args=[slug]),
            reverse("agreement", args=[slug]),
            reverse("reconcile", args=[t]),
            reverse("audit_list", args=[slug]),
        ]

    def test_no_payload_runs_anywhere(self):
        page = self.new_page(self.alice)
        foreign: list[str] = []
        dialogs: list[str] = []
        host = urlparse(self.live_server_url).netloc
        page.on("request", lambda request: urlparse(request.url).netloc not in (host, "") and foreign.append(request.url))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for path in self.pages():
            with self.subTest(path=path):
                response = page.goto(self.url(path))
                self.assertEqual(response.status, 200)
                page.wait_for_timeout(150)  # let htmx process the page
                self.assertIsNone(page.evaluate("() => window.__pwned"), path)
                # The payload shows as text somewhere on the page (or the page has none).
                body = page.inner_text("body")
                self.assertTrue(any(p[:12] in body for p in PAYLOADS) or "codes.css" in path)
        # Open the excerpt and the picker too: their content arrives through htmx.
        page.goto(self.url(reverse("transcript_detail", args=[self.transcript.pk])))
        page.locator("mark.hl").first.click()
        page.wait_for_selector("#excerpt-panel blockquote")
        page.wait_for_timeout(150)
        self.assertIsNone(page.evaluate("() => window.__pwned"))
        self.assertEqual(page.input_value("#excerpt-memo"), PAYLOADS[6])
        self.assertEqual(foreign, [])
        self.assertEqual(dialogs, [])
        self.assertEqual(self.excerpt.__class__.objects.count(), 1)  # no injected hx-post fired
        self.screenshot(page, "xss-transcript")

    def test_the_transcript_text_is_exactly_the_payloads_as_text(self):
        page = self.new_page(self.alice)
        page.goto(self.url(reverse("transcript_detail", args=[self.transcript.pk])))
        self.assertEqual(page.eval_on_selector("#transcript-text", "el => el.textContent"), self.transcript.text)
        self.assertEqual(page.locator("#transcript-text script, #transcript-text img, #transcript-text svg").count(), 0)
