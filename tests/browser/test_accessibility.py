"""axe-core finds no serious or critical accessibility violations on the coding pages."""

from django.urls import reverse

from tests.base import make_code, make_project, make_transcript, make_user
from tests.browser.base import BrowserTestCase
from transcripts import actions
from transcripts.interop.readers import parse_transcript
from transcripts.models import Job

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError as error:  # a missing test dependency must fail loudly, not skip
    raise ImportError("axe-playwright-python is a development dependency; run make test") from error


class AccessibilityTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = make_user("alice", first_name="Alice", last_name="Lead")
        self.project = make_project(self.alice)
        text = "Interviewer: What helps?\nP07: My group, and walking the dog.\nInterviewer: Thanks.\nP07: Sure.\n"
        parsed = parse_transcript("P07.txt", text.encode())
        self.transcript = make_transcript(self.project, title="P07", text=parsed.text, turns=parsed.turns)
        parent = make_code(self.project, name="Coping strategies", color="#2ca02c", definition="Ways of coping")
        code = make_code(self.project, name="Sense of community", parent=parent, color="#98df8a")
        start = parsed.text.index("My group")
        self.excerpt = actions.create_excerpt(self.transcript, start=start, end=start + 8, codes=[code], by=self.alice)

    def serious_violations(self, page) -> list[str]:
        results = Axe().run(page)
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    def test_the_transcript_page_has_no_serious_violations(self):
        page = self.new_page(self.alice)
        page.goto(self.url(reverse("transcript_detail", args=[self.transcript.pk])))
        self.assertEqual(self.serious_violations(page), [])
        page.locator("mark.hl").first.click()
        page.wait_for_selector("#excerpt-memo")
        self.assertEqual(self.serious_violations(page), [])
        page.evaluate(
            "() => { const box = document.getElementById('transcript-text'); box.focus();"
            " window.peercodingOffsets.selectCodePoints(box, 0, 11); }"
        )
        page.keyboard.press("c")
        page.wait_for_selector("#code-picker[open]")
        self.assertEqual(self.serious_violations(page), [])
        self.assertNoConsoleErrors()

    def test_the_project_and_import_pages_have_no_serious_violations(self):
        page = self.new_page(self.alice)
        running = actions.start_job(self.project, Job.Kind.REPORT_CSV, by=self.alice, download_name="report.csv")
        Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING, done=3, total=12)
        for name, args in [
            ("project_list", []),
            ("project_detail", [self.project.slug]),  # with the running job under "Your files"
            ("job_detail", [running.pk]),
            ("review_summary", [self.project.slug]),
            ("import_transcripts", [self.project.slug]),
            ("participant_list", [self.project.slug]),
            ("pseudonym_list", [self.project.slug]),
        ]:
            page.goto(self.url(reverse(name, args=args)))
            self.assertEqual(self.serious_violations(page), [], name)
        self.assertNoConsoleErrors()
