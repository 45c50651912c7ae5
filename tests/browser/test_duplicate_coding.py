"""Coding the same passage with the same code twice, in Chromium: refused, with a link to the first."""

from __future__ import annotations

from tests.browser.test_coding import CodingPageTestCase
from transcripts.models import Excerpt


class DuplicateCodingBrowserTests(CodingPageTestCase):
    def test_the_second_identical_coding_is_refused_with_a_link_to_the_first(self):
        text = self.transcript.text
        start = text.index("José said the café")
        end = start + len("José said the café meetings help")
        page = self.open(self.bob)
        self.select(page, start, end)
        self.pick(page, "community")
        self.wait_for_excerpts(1, page)
        first = Excerpt.objects.get()
        # The same selection and code again, as from a second tab or a repeated shortcut.
        self.select(page, start, end)
        self.pick(page, "community")
        link = page.locator("#excerpt-panel .form-errors a.existing-excerpt")
        link.wait_for()
        assert "You already coded exactly this passage with Sense of community" in page.inner_text("#excerpt-panel .form-errors")
        assert link.get_attribute("href").endswith(f"?excerpt={first.pk}")
        self.screenshot(page, "coding-duplicate-refused")
        self.assertEqual(Excerpt.objects.count(), 1)
        link.click()
        page.wait_for_selector(f'mark.selected[data-excerpts~="{first.pk}"]')
        self.assertNoConsoleErrors()
