"""A report started from the review page runs in the worker while the page shows its progress, then
offers the file."""

from __future__ import annotations

import csv
import io
import threading
import time
from unittest import mock

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connections
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker

from tests.browser.base import BrowserTestCase
from transcripts import jobs
from transcripts.models import Job, Project
from transcripts.review import reports


class BackgroundWorker:
    """`manage.py db_worker`'s loop in a thread of the test process, so it sees the test database."""

    def __init__(self) -> None:
        self.worker = Worker(
            queue_names=["default"], interval=0.1, batch=False, backend_name="default", startup_delay=False,
            max_tasks=None, worker_id="browser-test", excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        try:
            self.worker.run()
        finally:
            connections.close_all()

    def __enter__(self) -> "BackgroundWorker":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.worker.running = False
        self.thread.join(timeout=30)


class ReportJobFlowTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        call_command("load_demo", quiet_logins=True, stdout=io.StringIO())
        self.project = Project.objects.get(slug="peer-workers-demo")
        self.pi = User.objects.get(username="pi")

    def test_the_pi_starts_a_report_watches_it_progress_and_downloads_it(self):
        page = self.new_page(self.pi)
        page.goto(self.url(reverse("review_summary", args=[self.project.slug])))
        page.click("button:has-text('.csv')")
        status = page.locator(".job-status")
        status.wait_for()
        assert "Waiting to start" in status.inner_text()
        assert page.url.endswith(reverse("review_summary", args=[self.project.slug]))  # the page stays

        original = Job.report_progress

        def slowly(job, done, total=None):  # a big study's pace, so the bar is seen between 0 and 100
            original(job, done, total)
            time.sleep(0.4)

        with mock.patch.object(reports, "CHUNK", 60), mock.patch.object(jobs, "PROGRESS_EVERY_SECONDS", 0), \
                mock.patch.object(Job, "report_progress", slowly), BackgroundWorker():
            page.wait_for_function(
                "() => { const bar = document.querySelector('.job-status progress[value]');"
                " return bar && bar.value > 0 && bar.value < 100; }"
            )
            self.screenshot(page, "job-progress")
            link = page.locator(".job-status a:has-text('Download')")
            link.wait_for(timeout=30_000)
        assert page.locator(".job-status progress").get_attribute("value") == "100"
        self.screenshot(page, "job-ready")
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == "peer-workers-demo-review.csv"
        with open(download.path(), encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        job = Job.objects.get()
        assert (job.status, job.requested_by, len(rows)) == (Job.Status.DONE, self.pi, job.total)
        assert len(rows) > 60
        # The status region stopped polling once the job was done.
        assert page.locator(".job-status[hx-trigger]").count() == 0
        self.assertNoConsoleErrors()
