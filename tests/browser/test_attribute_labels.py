"""A lead renames an attribute on the participant list, in Chromium."""

from __future__ import annotations

from django.urls import reverse

from tests.base import make_project, make_user
from tests.browser.base import BrowserTestCase
from transcripts import actions


class AttributeLabelBrowserTests(BrowserTestCase):
    def test_a_lead_renames_an_attribute_and_the_list_shows_the_new_name(self):
        lead = make_user("alice")
        project = make_project(lead)
        sheet = actions.read_participant_sheet("people.csv", b"label,years_as_peer,organization_type\nP01,7,Hospital\n")
        actions.import_participant_sheet(project, sheet, by=lead)
        years = project.attributes.get(name="years_as_peer")
        page = self.new_page(lead)
        page.goto(self.url(reverse("participant_list", args=[project.slug])))
        assert page.inner_text("#participant-table thead").startswith("Label\tYears as peer")
        page.fill(f"#label-{years.pk}", "Years of peer work")
        page.locator(f"#label-{years.pk} + button").click()
        page.wait_for_selector(".message-success")
        assert "Years of peer work" in page.inner_text("#participant-table thead")
        self.screenshot(page, "participant-attribute-names")
        self.assertNoConsoleErrors()
