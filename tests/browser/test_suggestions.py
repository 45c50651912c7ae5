"""Code suggestions in Chromium: switch them on, accept one with the keyboard, see it coded."""

from __future__ import annotations

from django.urls import reverse

from tests.base import make_project, make_user
from tests.browser.base import BrowserTestCase
from tests.suggestion_study import CHAT, build
from transcripts import actions
from transcripts.models import AuditEvent, Excerpt, Membership


class SuggestionsInTheBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.lead = make_user("alice")
        self.coder = make_user("bob")
        self.project = make_project(self.lead)
        actions.set_role(self.project, self.coder, Membership.Role.CODER, by=self.lead)
        study = build(self.project, [self.lead])
        self.code, self.uncoded = study["code"], study["transcripts"][2]
        self.row = actions.train_suggestions(self.project, None)

    def test_a_coder_accepts_a_suggestion_with_the_keyboard(self):
        page = self.new_page(self.coder)
        page.goto(self.url(reverse("transcript_detail", args=[self.uncoded.pk])))
        page.check("#suggestions-switch")
        first = page.locator("#suggestion-panel .suggestion").first
        first.wait_for()
        assert page.locator(".suggestion-mark").count() == page.locator("#suggestion-panel .suggestion").count() > 0
        self.screenshot(page, "suggestions-panel")
        suggested = first.get_attribute("data-start")
        first.focus()
        page.keyboard.press("a")
        page.wait_for_function(
            "start => ![...document.querySelectorAll('#suggestion-panel .suggestion')].some(s => s.dataset.start === start)",
            arg=suggested,
        )
        excerpt = Excerpt.objects.get(transcript=self.uncoded)
        assert (excerpt.coder, excerpt.start, excerpt.quote) == (self.coder, int(suggested), excerpt.transcript.text[int(suggested) : excerpt.end])
        assert excerpt.quote in CHAT and list(excerpt.codes.all()) == [self.code]
        assert AuditEvent.objects.get(verb="suggestion.accepted").after["model_version"] == self.row.version
        # The accepted passage is coded on the page now: an ordinary stripe in the margin.
        page.wait_for_selector(f'.stripe[data-excerpt-id="{excerpt.pk}"]')
        # The next suggestion has the focus, so "x" rejects it without the mouse.
        assert page.evaluate("document.activeElement.classList.contains('suggestion')")
        self.screenshot(page, "suggestions-accepted")
        self.assertNoConsoleErrors()
