"""From logging in to a first coded excerpt in a project started from the web, in Chromium."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.base import PASSWORD, make_user
from tests.browser.base import BrowserTestCase
from transcripts.models import AuditEvent, Code, Excerpt, Membership, Project, Transcript

INTERVIEW = (
    "Interviewer: What keeps you going in this job?\n"
    "P01: Honestly, the other peer workers. We have a group chat and it carries me through the week.\n"
    "Interviewer: Anything else?\n"
    "P01: Saying no to extra shifts. I learned that the hard way.\n"
)
QUOTE = "We have a group chat and it carries me through the week."

# Drag the mouse across the phrase, as a reader would select it.
PHRASE_BOX = """phrase => {
  const box = document.getElementById('transcript-text');
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(phrase);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at); range.setEnd(node, at + phrase.length);
    const rects = range.getClientRects();
    const first = rects[0], last = rects[rects.length - 1];
    return {x1: first.left + 1, y1: first.top + first.height / 2, x2: last.right - 1, y2: last.top + last.height / 2};
  }
  return null;
}"""


class StartAProjectTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.pat = make_user("pat", first_name="Pat", last_name="Investigator")
        self.pat.user_permissions.add(Permission.objects.get(codename="start_project"))
        self.folder = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def wait_until(self, check, message: str) -> None:
        for _ in range(100):
            if check():
                return
            time.sleep(0.05)
        self.fail(message)

    def test_from_logging_in_to_a_first_coded_excerpt(self):
        page = self.new_page()
        page.goto(self.url("/"))
        page.fill("#id_username", "pat")
        page.fill("#id_password", PASSWORD)
        page.click("button:has-text('Log in')")

        # The project list offers "New project", and says who may start one here.
        page.wait_for_selector("h1:has-text('Your projects')")
        self.assertIn("only the people the administrator marks", page.inner_text("#who-may-start"))
        self.screenshot(page, "new-project-list")
        page.click("text=New project")
        page.fill("#id_name", "Housing first study")
        page.fill("#id_slug", "peer-workers study")
        page.fill("#id_description", "Twelve interviews with peer workers in housing services.")
        page.click("button:has-text('Start the project')")
        self.assertIn("Use only lower-case letters", page.inner_text("#id_slug-errors"))
        self.screenshot(page, "new-project-form-error")
        page.fill("#id_slug", "housing-first")
        page.click("button:has-text('Start the project')")

        # The empty project's page: the first steps, none done, importing first.
        page.wait_for_selector("#first-steps-heading")
        project = Project.objects.get(slug="housing-first")
        self.assertEqual(project.memberships.get().user, self.pat)
        self.assertEqual(project.memberships.get().role, Membership.Role.LEAD)
        self.assertTrue(AuditEvent.objects.filter(verb="project.created", project=project, actor=self.pat).exists())
        self.assertEqual(page.locator(".step.is-done").count(), 0)
        self.assertIn("Import transcripts", page.inner_text(".step.is-next"))
        self.screenshot(page, "new-project-first-steps")

        # 1. Import a small transcript.
        (self.folder / "P01.txt").write_text(INTERVIEW)
        page.click(".step.is-next a:text-is('Import transcripts')")
        page.set_input_files("#id_files", str(self.folder / "P01.txt"))
        page.click("#import-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('import-status').textContent.startsWith('Done')")
        transcript = Transcript.objects.get(project=project)

        # Back on the project's page the import is ticked, and so are participants: the file
        # named P01 made participant P01. The codebook comes next.
        self.assertEqual(list(project.participants.values_list("label", flat=True)), ["P01"])
        page.goto(self.url(reverse("project_detail", args=[project.slug])))
        self.assertEqual(page.locator(".step.is-done").count(), 2)
        self.assertIn("Done · 1 imported", page.inner_text(".step[data-step='1']"))
        self.assertIn("Done · 1 added", page.inner_text(".step[data-step='2']"))
        self.assertIn("Build or import a codebook", page.inner_text(".step.is-next"))

        # 2. Create a code from the codebook step.
        page.click(".step a:text-is('Codebook')")
        page.click("#new-code summary")
        page.fill("#id_name", "Sense of community")
        page.click("#new-code-form button[type=submit]")
        page.wait_for_selector(".code-row[data-code-name='Sense of community']")
        code = Code.objects.get(project=project)
        page.goto(self.url(reverse("project_detail", args=[project.slug])))
        self.assertEqual(page.locator(".step.is-done").count(), 3)
        self.assertIn("Add coders", page.inner_text(".step.is-next"))
        self.screenshot(page, "new-project-three-steps-done")

        # 3. Open the transcript, select a sentence with the mouse and code it.
        page.click(f"text={transcript.title}")
        page.wait_for_selector("#transcript-text")
        box = page.evaluate(PHRASE_BOX, QUOTE)
        self.assertIsNotNone(box)
        page.mouse.move(box["x1"], box["y1"])
        page.mouse.down()
        page.mouse.move(box["x2"], box["y2"], steps=8)
        page.mouse.up()
        self.assertEqual(page.evaluate("() => window.getSelection().toString()"), QUOTE)
        page.click(f".code-button[data-code-id='{code.pk}']")
        self.wait_until(lambda: Excerpt.objects.filter(transcript=transcript).exists(), "nothing was coded")
        page.wait_for_selector("#excerpt-panel blockquote")
        excerpt = Excerpt.objects.get(transcript=transcript)
        self.assertEqual(excerpt.quote, QUOTE)
        self.assertEqual(excerpt.coder, self.pat)
        self.assertEqual(list(excerpt.codes.all()), [code])
        self.assertEqual(transcript.text[excerpt.start : excerpt.end], QUOTE)
        self.screenshot(page, "new-project-first-excerpt")
        self.assertNoConsoleErrors()
