"""Teamwork pages in Chromium, on the demo study's double coding: members, queue, agreement with
its disagreements, reconciliation into the consensus, the audit trail, and the one-time link."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests.browser.base import BrowserTestCase
from transcripts import actions
from transcripts.models import Excerpt, Project, TranscriptAssignment

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError as error:  # a missing test dependency must fail loudly, not skip
    raise ImportError("axe-playwright-python is a development dependency; run make test") from error


class TeamworkFlowTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        call_command("load_demo", quiet_logins=True, stdout=_Quiet())
        User = get_user_model()
        self.pi, self.dana, self.sam = (User.objects.get(username=name) for name in ("pi", "dana", "sam"))
        self.project = Project.objects.get(slug="peer-workers-demo")
        self.p01 = self.project.transcripts.get(participant__label="P01")

    def serious_violations(self, page) -> list[str]:
        results = Axe().run(page)
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    def test_members_queue_agreement_reconciliation_and_audit(self):
        transcripts = list(self.project.transcripts.order_by("title")[:6])
        actions.assign_with_overlap(self.project, transcripts, [self.dana, self.sam], share=0.5, seed=11, by=self.pi)

        page = self.new_page(self.pi)
        page.goto(self.url(reverse("member_list", args=[self.project.slug])))
        self.assertEqual(page.locator("#member-table tbody tr").count(), 4)
        self.screenshot(page, "teamwork-members")
        self.assertEqual(self.serious_violations(page), [])

        coder = self.new_page(self.dana)
        coder.goto(self.url(reverse("queue", args=[self.project.slug])))
        n_dana = TranscriptAssignment.objects.filter(coder=self.dana).count()
        self.assertEqual(coder.locator("#queue-table tbody tr").count(), n_dana)
        coder.locator("#queue-table button", has_text="Coding done").first.click()
        coder.wait_for_selector(".status-done")
        self.assertEqual(TranscriptAssignment.objects.filter(coder=self.dana, done_at__isnull=False).count(), 1)
        self.screenshot(coder, "teamwork-queue")
        self.assertEqual(self.serious_violations(coder), [])

        page.goto(self.url(reverse("agreement", args=[self.project.slug])))
        table = page.locator("#agreement-table")
        self.assertIn("All codes pooled", table.inner_text())
        self.assertGreater(page.locator("#agreement-table tbody tr").count(), 5)
        self.assertIn("Cohen's κ", page.locator("#agreement-table thead").inner_text())
        self.screenshot(page, "teamwork-agreement")
        self.assertEqual(self.serious_violations(page), [])

        page.locator("#agreement-table tbody tr").nth(1).locator("td a").first.click()
        page.wait_for_selector("#disagreements .disagreement")
        self.assertIn("Disagreements", page.inner_text("#disagreements h2"))
        page.locator("#disagreements").scroll_into_view_if_needed()
        self.screenshot(page, "teamwork-disagreements")
        link = page.locator("#disagreements .disagreement a").first
        href = link.get_attribute("href")
        link.click()
        page.wait_for_selector("#excerpt-panel blockquote")
        excerpt_id = int(re.search(r"excerpt=(\d+)", href).group(1))
        self.assertEqual(page.get_attribute("#excerpt-panel", "data-excerpt-id"), str(excerpt_id))

        page.goto(self.url(reverse("reconcile", args=[self.p01.pk])))
        first = page.locator(".cluster").first
        self.assertIn("status-codes", first.get_attribute("class"))
        self.screenshot(page, "teamwork-reconcile")
        self.assertEqual(self.serious_violations(page), [])
        originals = list(Excerpt.objects.filter(is_consensus=False).order_by("pk").values_list("pk", "start", "end", "version"))
        first.locator("input[value=merge]").check()
        first.locator("textarea[name=note]").fill("Both readings hold; merged after discussion.")
        first.locator("button", has_text="Write into the consensus").click()
        page.wait_for_selector(".message-success")
        self.assertEqual(Excerpt.objects.filter(is_consensus=True).count(), 1)
        self.assertEqual(
            list(Excerpt.objects.filter(is_consensus=False).order_by("pk").values_list("pk", "start", "end", "version")),
            originals,
        )
        self.screenshot(page, "teamwork-reconciled")

        page.goto(self.url(reverse("transcript_detail", args=[self.p01.pk]) + "?coder=consensus"))
        page.wait_for_selector("#transcript-text mark.consensus")
        self.assertEqual(page.locator("#transcript-text mark.hl").count(), page.locator("#transcript-text mark.consensus").count())

        page.goto(self.url(reverse("audit_list", args=[self.project.slug])))
        self.assertIn("consensus.settled", page.inner_text("#audit-table"))
        self.screenshot(page, "teamwork-audit")
        self.assertEqual(self.serious_violations(page), [])
        self.assertNoConsoleErrors()

    def test_a_new_account_sets_its_password_through_the_one_time_link(self):
        page = self.new_page(self.pi)
        page.goto(self.url(reverse("member_list", args=[self.project.slug])))
        form = page.locator("#new-account-form")
        form.locator("input[name=username]").fill("jo")
        form.locator("input[name=first_name]").fill("Jo")
        form.locator("select[name=role]").select_option("coder")
        form.locator("button").click()
        path = page.inner_text("#set-password-path")
        self.assertTrue(path.startswith("/accounts/set-password/"))
        self.screenshot(page, "teamwork-one-time-link")

        newcomer = self.new_page()
        newcomer.goto(self.url(path))
        newcomer.fill("#id_new_password1", "quiet-harbour-lantern-9")
        newcomer.fill("#id_new_password2", "quiet-harbour-lantern-9")
        newcomer.locator("button", has_text="Set password").click()
        newcomer.wait_for_selector("#id_username")
        newcomer.fill("#id_username", "jo")
        newcomer.fill("#id_password", "quiet-harbour-lantern-9")
        newcomer.locator("button", has_text="Log in").click()
        newcomer.wait_for_selector(".project-list, main h1")
        self.assertIn("Peer workers study", newcomer.inner_text("main"))
        again = self.new_page()
        again.goto(self.url(path))
        self.assertIn("already been used", again.inner_text("main"))
        self.assertNoConsoleErrors()


class _Quiet:
    def write(self, *args, **kwargs) -> None:
        pass

    def flush(self) -> None:
        pass
