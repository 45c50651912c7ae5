"""Importing in Chromium: many files at once, progress, a result per file, participant sheets."""

import io
from pathlib import Path

import docx
from django.urls import reverse

from tests.base import make_project, make_user
from tests.browser.base import BrowserTestCase
from tests.browser.test_jobs import BackgroundWorker
from transcripts.models import Attribute, Participant, Transcript


def write_docx(path: Path, *paragraphs: str) -> None:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))


class ImportInBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = make_user("alice")
        self.project = make_project(self.alice)
        self.folder = Path(self.enterContext(__import__("tempfile").TemporaryDirectory()))

    def test_many_files_at_once_each_with_its_result(self):
        write_docx(self.folder / "P01.docx", "Interviewer: What helps?", "P01: The group, honestly.")
        (self.folder / "P02.txt").write_text("Interviewer: Hi\nP02: Hello <script>alert(1)</script>\n")
        (self.folder / "P03.vtt").write_text(
            "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\n<v Interviewer>What keeps you going?</v>\n\n"
            "2\n00:00:03.500 --> 00:00:06.000\n<v P03>My dog, and the peer group.</v>\n"
        )
        (self.folder / "P04.docx").write_bytes(b"not a zip at all")
        (self.folder / "notes.pdf").write_bytes(b"%PDF-1.4")
        page = self.new_page(self.alice)
        page.goto(self.url(reverse("import_transcripts", args=[self.project.slug])))
        page.set_input_files("#id_files", [str(p) for p in sorted(self.folder.iterdir())])
        page.click("#import-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('import-status').textContent.startsWith('Done')")
        rows = page.locator("#import-result-rows tr")
        self.assertEqual(rows.count(), 5)
        results = page.inner_text("#import-result-rows")
        self.assertEqual(results.count("Imported"), 3)
        self.assertEqual(results.count("Refused"), 2)
        self.assertIn("2 refused", page.inner_text("#import-status"))
        self.assertEqual(page.eval_on_selector("#import-progress", "el => el.value"), 1)
        self.assertEqual(
            sorted(Transcript.objects.values_list("title", flat=True)), ["P01", "P02", "P03"]
        )
        self.assertEqual(Transcript.objects.get(title="P03").turns.count(), 2)
        self.screenshot(page, "import-results")
        # The transcript with markup shows it as text, and no script ran.
        page.goto(self.url(reverse("transcript_detail", args=[Transcript.objects.get(title="P02").pk])))
        self.assertIn("<script>alert(1)</script>", page.inner_text("#transcript-text"))
        self.assertNoConsoleErrors()

    def test_a_big_file_is_imported_by_the_worker_while_its_row_follows_the_job(self):
        line = "Interviewer: What helps?\nP05: The group, honestly, and walking the dog every morning.\n"
        (self.folder / "P05.txt").write_text(line * (2 * 1024 * 1024 // len(line) + 1))
        (self.folder / "P06.txt").write_text(line.replace("P05", "P06"))
        page = self.new_page(self.alice)
        page.goto(self.url(reverse("import_transcripts", args=[self.project.slug])))
        page.set_input_files("#id_files", [str(p) for p in sorted(self.folder.iterdir())])
        page.click("#import-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('import-status').textContent.startsWith('Done')")
        self.assertEqual(page.locator("#import-result-rows tr.import-job").count(), 1)
        self.assertIn("Imported", page.inner_text("#import-result-rows tr.import-ok"))  # the small one, at once
        self.assertFalse(Transcript.objects.filter(title="P05").exists())
        with BackgroundWorker():
            page.locator("tr.import-job .job-status:has-text('1 of 1 file imported.')").wait_for(timeout=60_000)
        self.assertIn("P05.txt: imported as “P05” (participant P05).", page.inner_text("tr.import-job"))
        self.screenshot(page, "import-big-file-job")
        self.assertEqual(sorted(Transcript.objects.values_list("title", flat=True)), ["P05", "P06"])
        self.assertNoConsoleErrors()

    def test_a_participant_sheet_is_previewed_with_editable_types_then_imported(self):
        sheet = self.folder / "people.csv"
        sheet.write_text("label,years_as_peer,organization_type\nP01,7,Harm reduction\nP02,3,Harm reduction\nP03,12,Hospital\n")
        page = self.new_page(self.alice)
        page.goto(self.url(reverse("participant_list", args=[self.project.slug])))
        page.set_input_files("#id_sheet", str(sheet))
        page.click("text=Preview")
        page.wait_for_selector("text=Check the participant sheet")
        self.assertFalse(Participant.objects.exists())
        self.assertEqual(page.input_value("#kind_0"), "number")
        page.select_option("#kind_1", "text")
        self.screenshot(page, "participant-sheet-preview")
        page.click("text=Import 3 participants")
        page.wait_for_selector("#participant-table")
        self.assertEqual(Participant.objects.count(), 3)
        self.assertEqual(Attribute.objects.get(name="organization_type").kind, "text")
        self.assertIn("12", page.inner_text("#participant-table"))
        self.assertNoConsoleErrors()
