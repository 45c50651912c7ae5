"""Reorganising the codebook in Chromium: create, rename, move (menu and drag and drop), merge, archive."""

from __future__ import annotations

import time

from django.urls import reverse

from tests.base import make_excerpt, make_project, make_transcript, make_user
from tests.browser.base import BrowserTestCase
from transcripts import actions
from transcripts.models import AuditEvent, Code, CodeApplication, Excerpt


class CodebookFlowTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = make_user("alice", first_name="Alice", last_name="Lead")
        self.project = make_project(self.alice)
        self.transcript = make_transcript(self.project, title="P07")
        self.coping = actions.create_code(self.project, by=self.alice, name="Coping strategies", color="#66bb6a",
                                           definition="Ways peers keep going.")
        self.community = actions.create_code(self.project, by=self.alice, name="Sense of community", color="#a5d6a7",
                                              parent=self.coping, definition="Belonging to a group.",
                                              inclusion="Group rituals.", exclusion="One-to-one support.")
        self.barriers = actions.create_code(self.project, by=self.alice, name="Barriers", color="#ef5350")
        self.stigma = actions.create_code(self.project, by=self.alice, name="Stigma", color="#ffa726", parent=self.barriers)
        self.judged = actions.create_code(self.project, by=self.alice, name="Feeling judged", color="#ffcc80")
        make_excerpt(self.transcript, [self.community], start=0, end=12)
        make_excerpt(self.transcript, [self.stigma, self.judged], start=13, end=20)
        make_excerpt(self.transcript, [self.judged], start=21, end=30)
        self.url = self.url(reverse("codebook", args=[self.project.slug]))

    def screenshot(self, page, name: str):
        """As the base class does, but without Playwright's caret-hiding style tag, which the CSP refuses."""
        from tests.browser.base import SCREENSHOTS

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    def wait_for(self, check, message: str) -> None:
        for _ in range(100):
            if check():
                return
            time.sleep(0.05)
        self.fail(message)

    def row(self, page, code: Code):
        return page.locator(f"#code-{code.pk}")

    def test_a_lead_reorganises_the_codebook_without_reloading(self):
        page = self.new_page(self.alice)
        page.goto(self.url)
        page.wait_for_selector("#code-rows")
        page.evaluate("window.marker = 'still here'")  # gone if the page reloads
        self.screenshot(page, "codebook-1-start")

        # Create a subtheme of Coping strategies.
        page.click("#new-code summary")
        page.fill("#id_name", "Humour")
        page.select_option("#id_parent", str(self.coping.pk))
        page.fill("#id_definition", "Jokes that make the work bearable.")
        page.click("#new-code-form button[type=submit]")
        page.wait_for_selector(".code-row[data-code-name='Humour']")
        humour = Code.objects.get(name="Humour")
        self.assertEqual(humour.parent, self.coping)

        # Rename it from its row.
        row = self.row(page, humour)
        row.locator("summary").click()
        row.locator("input[name=name]").fill("Gallows humour")
        row.locator("button:has-text('Save')").click()
        page.wait_for_selector(".code-row[data-code-name='Gallows humour']")
        self.wait_for(lambda: Code.objects.filter(name="Gallows humour").exists(), "The rename was not saved.")

        # Move Stigma under Coping strategies with the menu (the keyboard way).
        page.select_option("#move-code", str(self.stigma.pk))
        page.select_option("#move-parent", str(self.coping.pk))
        page.focus("#move-button")
        page.keyboard.press("Enter")
        self.wait_for(lambda: Code.objects.get(pk=self.stigma.pk).parent_id == self.coping.pk, "The menu move failed.")
        page.wait_for_selector(f"#code-{self.stigma.pk}.depth-1")

        # Drag Feeling judged onto Barriers: it becomes a subtheme.
        page.drag_and_drop(f"#code-{self.judged.pk} .code-head", f"#code-{self.barriers.pk} .code-head")
        self.wait_for(lambda: Code.objects.get(pk=self.judged.pk).parent_id == self.barriers.pk, "The drag and drop did not move the code.")
        page.wait_for_selector(f"#code-{self.judged.pk}.depth-1")
        # And drag Stigma back to the top level strip.
        page.drag_and_drop(f"#code-{self.stigma.pk} .code-head", "#top-drop")
        self.wait_for(lambda: Code.objects.get(pk=self.stigma.pk).parent_id is None, "Dropping on the strip did not move it to the top.")
        page.wait_for_selector(f"#code-{self.stigma.pk}.depth-0")
        self.screenshot(page, "codebook-2-moved")

        # Merge Feeling judged into Stigma: the shared excerpt keeps one application.
        excerpts_before = set(CodeApplication.objects.filter(code__in=[self.judged, self.stigma]).values_list("excerpt_id", flat=True))
        page.once("dialog", lambda dialog: dialog.accept())
        page.select_option("#merge-source", str(self.judged.pk))
        page.select_option("#merge-target", str(self.stigma.pk))
        page.click("#merge-button")
        page.wait_for_selector(f"#code-{self.judged.pk}", state="detached")
        self.assertEqual(set(self.stigma.applications.values_list("excerpt_id", flat=True)), excerpts_before)
        self.assertEqual(self.stigma.applications.count(), 2)
        self.assertEqual(Excerpt.objects.count(), 3)

        # Archive Barriers.
        self.row(page, self.barriers).locator("button:has-text('Archive')").first.click()
        page.wait_for_selector(f"#code-{self.barriers.pk}.archived")
        self.assertTrue(Code.objects.get(pk=self.barriers.pk).archived)

        self.assertEqual(page.evaluate("window.marker"), "still here")
        page.locator(f"#code-{self.community.pk}").scroll_into_view_if_needed()
        self.screenshot(page, "codebook-3-after")
        verbs = set(AuditEvent.objects.filter(project=self.project).values_list("verb", flat=True))
        self.assertTrue({"code.created", "code.changed", "code.moved", "code.merged", "code.archived"} <= verbs)
        self.assertNoConsoleErrors()

    def test_a_new_codes_colour_arrives_without_a_reload(self):
        page = self.new_page(self.alice)
        page.goto(self.url)
        page.click("#new-code summary")
        page.fill("#id_name", "Purple")
        page.eval_on_selector("#id_color", "el => { el.value = '#7b1fa2'; }")
        page.click("#new-code-form button[type=submit]")
        page.wait_for_selector(".code-row[data-code-name='Purple']")
        code_id = Code.objects.get(name="Purple").pk
        page.wait_for_function(
            "id => getComputedStyle(document.querySelector('#code-' + id + ' .swatch')).backgroundColor === 'rgb(123, 31, 162)'",
            arg=code_id,
        )
        self.assertNoConsoleErrors()
