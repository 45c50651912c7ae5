"""A memo holding a NUL character is refused with a message, and the coder keeps their text."""

from __future__ import annotations

from tests.browser.test_coding import CodingPageTestCase
from transcripts import actions


class UnstorableMemoTests(CodingPageTestCase):
    def test_a_memo_with_a_nul_is_refused_with_a_message_and_kept_on_the_page(self):
        start = self.transcript.text.index("group chat")
        excerpt = actions.create_excerpt(self.transcript, start=start, end=start + 10, codes=[self.community], by=self.bob)
        page = self.open(self.bob)
        page.locator(f'mark[data-excerpts~="{excerpt.pk}"]').first.click()
        page.wait_for_selector("#excerpt-memo")
        page.fill("#excerpt-memo", "Pasted from a PDF\u0000 with a stray character")
        page.click("#excerpt-form button[type=submit]")
        page.wait_for_selector("#messages .message-error")
        self.assertIn("NUL character", page.inner_text("#messages"))
        self.assertEqual(page.input_value("#excerpt-memo"), "Pasted from a PDF\u0000 with a stray character")
        self.screenshot(page, "unstorable-memo")
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.memo, "")
        # The refused request itself is logged (status 400); nothing else may be.
        self.assertEqual([e for e in self.console_errors if "400" not in e], [])

    def test_a_search_for_a_nul_shows_a_page_that_says_why(self):
        page = self.new_page(self.rita)
        response = page.goto(self.live_server_url + f"/projects/{self.project.slug}/review/search/?q=%00")
        self.assertEqual(response.status, 400)
        self.assertIn("cannot be stored", page.inner_text("main"))
        self.screenshot(page, "unstorable-search")
