"""The review pages in Chromium with the demo study: summary, quotes, matrices, co-occurrence, search."""

from __future__ import annotations

import io
from unittest import mock

from django.core.management import call_command
from django.urls import reverse

from tests.browser.base import BrowserTestCase
from django.contrib.auth.models import User

from transcripts.models import AuditEvent, Code, CodeApplication, Excerpt, Project


class ReviewFlowTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        call_command("load_demo", quiet_logins=True, stdout=io.StringIO())
        self.project = Project.objects.get(slug="peer-workers-demo")
        self.pi = User.objects.get(username="pi")
        self.dana = User.objects.get(username="dana")
        self.theme = Code.objects.get(project=self.project, name="Coping strategies")

    def go(self, page, name: str, *args, query: str = "") -> None:
        page.goto(self.url(reverse(name, args=[self.project.slug, *args]) + query))

    def test_the_pi_reads_themes_quotes_and_matrices(self):
        page = self.new_page(self.pi)
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.live_server_url)
        self.go(page, "review_summary")
        page.wait_for_selector("#summary-table")
        self.screenshot(page, "review-summary")
        bars = page.eval_on_selector_all(".bar", "bars => bars.map(b => b.getBoundingClientRect().width)")
        assert max(bars) > 100, bars  # the width classes reach the browser
        # Sorting swaps the body in place.
        page.click("#summary-table thead th:nth-child(4) a")
        page.wait_for_selector("th:nth-child(4) a:has-text('▼'), th:nth-child(4) a:has-text('▲')")
        assert "sort=" in page.url
        # A filter applied with htmx narrows the figures and keeps them in the address.
        page.click("summary:has-text('Organization type')")
        page.check("input[name^='a'][value='Harm reduction program']")
        page.check("input[name='no_interviewer']")
        page.click("#review-filters button[type=submit]")
        page.wait_for_selector(".filter-note")
        assert "no_interviewer=1" in page.url
        self.screenshot(page, "review-summary-filtered")

        self.go(page, "review_quotes", self.theme.pk, query="?subthemes=1")
        page.wait_for_selector(".quote-card")
        first = page.locator(".quote-card").first
        first.locator("a:has-text('Show context')").click()
        first.locator(".context-text").wait_for()
        first.locator("button.exemplar-button").first.click()
        page.wait_for_selector(".exemplar-button.on")
        assert AuditEvent.objects.filter(verb="exemplar.marked").exists()
        first.locator("button.copy-quote").click()
        page.wait_for_selector(".message-success")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert ", line " in copied and copied.startswith("“"), copied
        self.screenshot(page, "review-quotes")

        # "Open in transcript" lands on the excerpt, scrolled into view and selected.
        excerpt_id = int(first.get_attribute("id").split("-")[1])
        first.locator("a:has-text('Open in transcript')").click()
        page.wait_for_selector(f'mark.selected[data-excerpts~="{excerpt_id}"]')
        page.wait_for_timeout(300)
        inside = page.eval_on_selector(
            f'mark[data-excerpts~="{excerpt_id}"]', "m => { const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
        )
        assert inside
        self.screenshot(page, "review-open-transcript")

        self.go(page, "review_matrix")
        page.wait_for_selector(".heat-table")
        self.screenshot(page, "review-matrix-participants")
        page.click(".matrix-switch a:has-text('Organization type')")
        page.wait_for_selector(".heat-table .people")
        self.screenshot(page, "review-matrix-attribute")
        page.locator(".heat-table td.heat a").first.click()
        page.wait_for_selector(".quote-card")

        self.go(page, "review_cooccurrence")
        page.wait_for_selector(".heat-table.cooccurrence")
        self.screenshot(page, "review-cooccurrence")
        if page.locator(".cooccurrence td.heat a").count():
            page.locator(".cooccurrence td.heat a").first.click()
            page.wait_for_selector(".quote-card mark.shared")
            self.screenshot(page, "review-cooccurrence-detail")

        a = Code.objects.get(project=self.project, name="Coping strategies")
        b = Code.objects.get(project=self.project, name="Barriers")
        self.go(page, "review_query", query=f"?a={a.pk}&b={b.pk}&op=not&subthemes=1")
        page.wait_for_selector("h2:has-text('but not')")
        self.screenshot(page, "review-query")
        self.assertNoConsoleErrors()

    def test_a_large_study_pages_the_matrix_and_lists_participants_in_one_box(self):
        page = self.new_page(self.pi)
        with mock.patch("transcripts.views.review.MATRIX_COLUMNS_PER_PAGE", 3), mock.patch(
            "transcripts.views.review.MAX_CHECKBOXES", 3
        ):
            self.go(page, "review_matrix")
            page.wait_for_selector(".matrix-pages")
            assert page.locator(".heat-table thead .col-head").count() == 3
            assert "Participants 1–3 of" in page.inner_text(".matrix-pages")
            page.click("summary:has-text('Participants')")
            chosen = page.locator("#filter-participant option").nth(1)
            page.select_option("#filter-participant", [chosen.get_attribute("value")])
            self.screenshot(page, "review-matrix-paged")
            page.click("#review-filters button[type=submit]")
            page.wait_for_function("() => location.search.includes('participant=')")
            page.wait_for_selector(".heat-table")
            assert page.locator(".heat-table thead .col-head").count() == 1
            assert page.locator(".matrix-pages").count() == 0
            self.go(page, "review_matrix")
            page.click(".matrix-pages a[rel=next]")
            page.wait_for_selector(".matrix-pages a[rel=prev]")
            assert "page=2" in page.url and "Participants 4–" in page.inner_text(".matrix-pages")
        self.assertNoConsoleErrors()

    def test_a_coder_searches_and_codes_every_hit(self):
        page = self.new_page(self.dana)
        code = Code.objects.get(project=self.project, name="Burnout")
        self.go(page, "review_search")
        page.fill("#search-q", "group chat")
        page.select_option("#search-code", str(code.pk))
        page.click(".search-form button[type=submit]")
        page.wait_for_selector("#code-every-hit")
        n = page.locator(".hit").count()
        assert n > 0
        self.screenshot(page, "review-search-preview")
        # A screenshot leaves Playwright's caret-hiding style on the page, which htmx's settle step
        # would then copy under our CSP; the preview's address (pushed by htmx) reloads it clean.
        assert "q=group" in page.url
        page.reload()
        before = Excerpt.objects.filter(coder=self.dana).count()
        page.click("#code-every-hit")
        page.wait_for_selector(".hit .done")
        self.assertEqual(Excerpt.objects.filter(coder=self.dana).count(), before + n)
        self.assertEqual(CodeApplication.objects.filter(code=code, excerpt__coder=self.dana, excerpt__quote__iregex=r"group\s+chat").count(), n)
        self.screenshot(page, "review-search-applied")
        self.assertNoConsoleErrors()
