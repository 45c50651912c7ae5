"""The theme chart in Chromium: a bar labelled "6 of 20" is drawn at 30% of its track."""

from __future__ import annotations

from django.urls import reverse

from tests.base import make_code, make_excerpt, make_participant, make_project, make_transcript, make_user
from tests.browser.base import BrowserTestCase


class ThemeBarBrowserTests(BrowserTestCase):
    def test_a_bar_of_6_of_20_fills_30_percent_of_its_track(self):
        lead = make_user("alice")
        project = make_project(lead)
        boundaries = make_code(project, name="Boundaries")
        for n in range(20):
            transcript = make_transcript(project, title=f"Interview {n}", participant=make_participant(project, label=f"P{n:02d}"))
            if n < 6:
                make_excerpt(transcript, [boundaries])
        page = self.new_page(lead)
        page.goto(self.url(reverse("review_summary", args=[project.slug])))
        row = page.locator(".bar-row", has_text="Boundaries")
        row.wait_for()
        assert row.locator(".bar-value").inner_text() == "6 of 20"
        bar = row.locator(".bar").bounding_box()
        track = row.locator(".bar-track").bounding_box()
        self.assertAlmostEqual(bar["width"] / track["width"], 0.30, delta=0.01)
        self.screenshot(page, "review-summary-bars")
        self.assertNoConsoleErrors()
