"""Importing a whole REFI-QDA project from the web, in Chromium: the preview worked out in the
background, then the import."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.models import Permission
from django.test import override_settings

from tests.base import make_user
from tests.browser.base import BrowserTestCase
from tests.browser.test_jobs import BackgroundWorker
from transcripts.models import Excerpt, Membership, Project

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "refi-qda" / "qc-1.3.2_demo.qdpx"


class ImportAProjectTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.pat = make_user("pat", first_name="Pat", last_name="Investigator")
        self.pat.user_permissions.add(Permission.objects.get(codename="start_project"))
        folder = self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-import-"))
        self.enterContext(override_settings(DATA_DIR=Path(folder)))

    def test_the_qc_sample_is_previewed_then_imported(self):
        page = self.new_page(self.pat)
        page.goto(self.url("/"))
        page.click("a:has-text('Import a project')")
        page.set_input_files("#id_file", str(SAMPLE))
        page.click("button:has-text('Preview')")
        page.wait_for_url("**/projects/new/import/*/")  # the worker reads the file while the page follows it
        page.locator("#project-import-previewing progress").wait_for()
        self.screenshot(page, "project-import-previewing")
        with BackgroundWorker():
            page.locator("#project-import-preview").wait_for(timeout=60_000)
        counts = page.locator("#import-counts").inner_text()
        self.assertIn("Selections (excerpts)\t158", counts)
        self.assertIn("Codings (codes applied)\t205", counts)
        self.assertIn("Selection positions were read as code points.", page.locator("#offset-reading").inner_text())
        self.assertFalse(Project.objects.filter(slug="qc-project").exists())
        self.screenshot(page, "project-import-preview")
        self.assertEqual(page.locator("#id_slug").input_value(), "qc-project")
        page.select_option("#user-0", label="you (pat)")
        page.click("button:has-text('Import as a new project')")
        page.wait_for_url("**/jobs/*/")  # the worker writes the project while the page follows it
        self.assertFalse(Project.objects.filter(slug="qc-project").exists())
        with BackgroundWorker():
            page.locator(".job-status a:has-text('Open QC project')").wait_for(timeout=60_000)
        self.assertIn("imported: 2 transcripts, 262 codes, 158 excerpts", page.locator(".job-status").inner_text())
        self.screenshot(page, "project-import-done")
        page.click(".job-status a:has-text('Open QC project')")
        page.wait_for_url("**/projects/qc-project/")
        project = Project.objects.get(slug="qc-project")
        self.assertEqual(set(Excerpt.objects.filter(transcript__project=project).values_list("coder__username", flat=True)), {"pat"})
        self.assertEqual(project.memberships.get().role, Membership.Role.LEAD)
        self.assertNoConsoleErrors()

    def test_a_file_that_cannot_be_imported_is_named_where_the_preview_would_be(self):
        broken = Path(self.enterContext(tempfile.TemporaryDirectory())) / "broken.qdpx"
        broken.write_bytes(b"not a zip")
        page = self.new_page(self.pat)
        page.goto(self.url("/projects/new/import/"))
        page.set_input_files("#id_file", str(broken))
        page.click("button:has-text('Preview')")
        page.locator("#project-import-previewing progress").wait_for()
        with BackgroundWorker():
            page.locator("#file-errors").wait_for(timeout=60_000)
        self.assertIn("Nothing was imported: “broken.qdpx” is not a zip archive", page.locator("#file-errors").inner_text())
        self.assertEqual(page.locator("#id_file").count(), 1)  # a new upload may follow at once
        self.screenshot(page, "project-import-refused")
        self.assertEqual(Project.objects.count(), 0)
        self.assertNoConsoleErrors()
