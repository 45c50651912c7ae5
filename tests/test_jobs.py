"""Background jobs: they really run in the worker, show progress, give their file to the person who
asked and nobody else, expire, and fail cleanly."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.core.management import call_command
from django.test import TransactionTestCase
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.base import (
    BaseTestCase,
    make_code,
    make_excerpt,
    make_project,
    make_transcript,
    make_user,
    run_worker,
    started_job,
)
from transcripts import backup, jobs
from transcripts.models import AuditEvent, Job, Membership
from transcripts.review import reports


def job_files() -> list[str]:
    folder = Path(settings.JOBS_DIR)
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def csv_rows(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


class WorkerTests(TransactionTestCase):
    """Outside a test transaction, as in production: the page commits, `db_worker` picks the task up."""

    def test_the_worker_command_runs_a_report_started_from_the_page(self):
        alice = make_user("alice")
        project = make_project(alice)
        transcript = make_transcript(project)
        make_excerpt(transcript, [make_code(project, name="Community")], start=40, end=54, by=alice)
        self.client.force_login(alice)
        response = self.client.post(reverse("review_report", args=[project.slug, "csv"]))
        job = Job.objects.get()
        self.assertRedirects(response, reverse("job_detail", args=[job.pk]))
        self.assertEqual(DBTaskResult.objects.get().status, "READY")
        page = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertContains(page, 'hx-trigger="every 1s"')
        self.assertContains(page, "<progress")

        call_command("db_worker", batch=True, startup_delay=False, verbosity=0, stdout=io.StringIO())

        job.refresh_from_db()
        self.assertEqual((job.status, job.done, job.total, job.message), (Job.Status.DONE, 1, 1, ""))
        self.assertEqual(DBTaskResult.objects.get().status, "SUCCESSFUL")
        page = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertNotContains(page, "hx-trigger")  # finished: the page stops polling
        self.assertContains(page, reverse("job_download", args=[job.pk]))
        download = self.client.get(reverse("job_download", args=[job.pk]))
        self.assertEqual(download["Content-Disposition"], 'attachment; filename="peer-workers-review.csv"')
        rows = csv_rows(download.getvalue())
        self.assertEqual([(row["code"], row["text"]) for row in rows], [("Community", "The group chat")])


class JobTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for start, end in ((0, 11), (13, 17), (28, 33), (40, 54), (56, 64)):
            make_excerpt(cls.transcript, [cls.code], start=start, end=end, by=cls.alice)
        cls.url = reverse("review_report", args=[cls.project.slug, "csv"])

    def bobs_finished_job(self) -> Job:
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, Job.Status.DONE)
        return job

    def test_starting_a_report_records_who_asked_and_queues_the_task(self):
        self.client.force_login(self.rita)
        job = started_job(self, self.url + "?exemplars=1")
        self.assertEqual((job.requested_by, job.project, job.kind, job.status), (self.rita, self.project, "report.csv", "queued"))
        self.assertEqual(job.params["exemplars"], True)
        self.assertEqual(DBTaskResult.objects.get().args_kwargs, {"args": [job.pk], "kwargs": {}})
        event = AuditEvent.objects.filter(verb="export.started").get()
        self.assertEqual((event.actor, event.project_id), (self.rita, self.project.pk))
        self.assertAlmostEqual(job.expires_at - job.created_at, timedelta(hours=settings.JOB_KEEP_HOURS), delta=timedelta(seconds=5))

    def test_with_htmx_the_page_gets_the_status_fragment_and_without_a_redirect(self):
        self.client.force_login(self.rita)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url, headers={"HX-Request": "true"})
        job = Job.objects.get()
        self.assertNotContains(response, "<html")
        self.assertContains(response, f'id="job-{job.pk}"')
        self.assertContains(response, f'hx-get="{reverse("job_detail", args=[job.pk])}"')
        poll = self.client.get(reverse("job_detail", args=[job.pk]), headers={"HX-Request": "true", "HX-Target": f"job-{job.pk}"})
        self.assertNotContains(poll, "<html")
        self.assertContains(poll, "Waiting to start")
        self.assertContains(self.client.get(reverse("job_detail", args=[job.pk])), "<html")

    def test_progress_is_noted_as_the_rows_are_written(self):
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        noted = []
        original = Job.report_progress

        def spy(job, done, total=None):
            original(job, done, total)
            noted.append(tuple(Job.objects.filter(pk=job.pk).values_list("done", "total").get()))

        with mock.patch.object(reports, "CHUNK", 2), mock.patch.object(jobs, "PROGRESS_EVERY_SECONDS", 0), \
                mock.patch.object(Job, "report_progress", spy):
            run_worker()
        self.assertEqual(noted, [(0, 5), (2, 5), (4, 5), (5, 5)])

    def test_the_status_shows_a_bar_for_the_share_done(self):
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, done=3, total=12)
        response = self.client.get(reverse("job_detail", args=[job.pk]), headers={"HX-Request": "true", "HX-Target": f"job-{job.pk}"})
        self.assertContains(response, '<progress max="100" value="25"')
        self.assertContains(response, "Running: 3 of 12")
        self.assertNotContains(response, reverse("job_download", args=[job.pk]))
        self.assertEqual(self.client.get(reverse("job_download", args=[job.pk])).status_code, 404)

    def test_only_the_member_who_asked_sees_or_downloads_the_job(self):
        job = self.bobs_finished_job()
        urls = [reverse("job_detail", args=[job.pk]), reverse("job_download", args=[job.pk])]
        for user in (self.alice, self.rita, self.oscar):  # a lead of the project, another member, an outsider
            self.client.force_login(user)
            for url in urls:
                with self.subTest(user=user.username, url=url):
                    self.assertEqual(self.client.get(url).status_code, 404)
        self.client.logout()
        for url in urls:
            self.assertRedirects(self.client.get(url), f"{reverse('login')}?next={url}", fetch_redirect_response=False)
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(urls[1]).status_code, 200)
        Membership.objects.filter(project=self.project, user=self.bob).delete()
        for url in urls:  # no longer a member: the file is no longer theirs either
            self.assertEqual(self.client.get(url).status_code, 404)

    def test_the_job_reads_what_the_member_may_see_when_it_runs(self):
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        Membership.objects.filter(project=self.project, user=self.bob).delete()
        run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.message), (Job.Status.FAILED, "You are no longer a member of this project."))
        self.assertEqual(job_files(), [])

    def test_expired_jobs_and_their_files_are_removed(self):
        job = self.bobs_finished_job()
        self.assertEqual(job_files(), [job.file_name])
        stray = Path(settings.JOBS_DIR) / "left-by-a-killed-worker.part"
        stray.write_bytes(b"half")
        self.client.force_login(self.bob)
        Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        self.assertEqual(self.client.get(reverse("job_download", args=[job.pk])).status_code, 404)
        out = io.StringIO()
        with mock.patch("time.time", return_value=stray.stat().st_mtime + settings.JOB_KEEP_HOURS * 3600 + 1):
            call_command("remove_expired_jobs", stdout=out)
        self.assertEqual(out.getvalue(), "1 expired job removed\n")
        self.assertFalse(Job.objects.filter(pk=job.pk).exists())
        self.assertEqual(job_files(), [])

    def test_the_worker_removes_expired_jobs_before_each_run(self):
        old = self.bobs_finished_job()
        Job.objects.filter(pk=old.pk).update(expires_at=timezone.now())
        new = self.bobs_finished_job()
        self.assertFalse(Job.objects.filter(pk=old.pk).exists())
        self.assertEqual(job_files(), [new.file_name])

    def test_a_failure_says_so_and_leaves_no_half_made_file(self):
        self.client.force_login(self.bob)
        job = started_job(self, self.url)

        def half_then_fail(rows, out):
            out.write(b"project,transcript\n")
            raise OSError("disk full")

        with mock.patch.object(reports, "write_csv", half_then_fail), self.assertLogs("transcripts.jobs", "ERROR"):
            run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.file_name), (Job.Status.FAILED, ""))
        self.assertIn("Something went wrong while writing this file, and nothing was kept.", job.message)
        self.assertEqual(job_files(), [])
        response = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertContains(response, 'role="alert"')
        self.assertContains(response, "nothing was kept")
        self.assertNotContains(response, "disk full")
        self.assertEqual(self.client.get(reverse("job_download", args=[job.pk])).status_code, 404)

    def test_a_job_runs_once_even_when_its_task_comes_twice(self):
        job = self.bobs_finished_job()
        jobs.run_job.call(job.pk)
        self.assertEqual(job_files(), [job.file_name])

    def test_the_codebook_docx_is_a_job_and_the_qdc_comes_at_once(self):
        self.client.force_login(self.rita)
        url = reverse("codebook_export", args=[self.project.slug])
        qdc = self.client.post(url, {"format": "qdc"})
        self.assertEqual(qdc["Content-Type"], "application/xml")
        self.assertFalse(Job.objects.exists())
        job = started_job(self, url, {"format": "docx", "quotes": "on", "as_of": timezone.localdate().isoformat()})
        self.assertEqual(job.params, {"quotes": True, "counts": False, "as_of": timezone.localdate().isoformat()})
        self.assertEqual(job.download_name, f"peer-workers-codebook-{timezone.localdate().isoformat()}.docx")
        run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.done, job.total), (Job.Status.DONE, 2, 2))
        self.assertEqual(self.client.get(reverse("job_download", args=[job.pk])).getvalue()[:2], b"PK")

    def test_the_project_page_lists_the_members_own_files(self):
        job = self.bobs_finished_job()
        page = reverse("project_detail", args=[self.project.slug])
        response = self.client.get(page)
        self.assertContains(response, "Your files")
        self.assertContains(response, reverse("job_download", args=[job.pk]))
        self.client.force_login(self.alice)
        response = self.client.get(page)
        self.assertNotContains(response, "Your files")
        self.assertNotContains(response, f'id="job-{job.pk}"')

    def test_backups_leave_jobs_out(self):
        self.bobs_finished_job()
        for archive in (backup.dump(), backup.dump(self.project)):
            with zipfile.ZipFile(io.BytesIO(archive)) as package:
                models = {row["model"] for row in json.loads(package.read("data.json"))}
            self.assertIn("transcripts.excerpt", models)
            self.assertNotIn("transcripts.job", models)

    def test_a_get_starts_nothing(self):
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(self.url).status_code, 405)
        self.assertEqual(self.client.get(reverse("codebook_export", args=[self.project.slug])).status_code, 405)
        self.assertFalse(Job.objects.exists())


class StoppedJobTests(BaseTestCase):
    """A worker killed mid-job (or a machine restarted) leaves the job "running" with no more progress."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        make_excerpt(cls.transcript, [cls.code], start=40, end=54, by=cls.alice)
        cls.url = reverse("review_report", args=[cls.project.slug, "csv"])

    def running_job(self, silent_for: timedelta) -> Job:
        """Bob's report, claimed by a worker that last showed progress `silent_for` ago."""
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.RUNNING, done=3, total=12, heartbeat_at=timezone.now() - silent_for
        )
        job.refresh_from_db()
        return job

    def status(self, job: Job):
        return self.client.get(reverse("job_detail", args=[job.pk]), headers={"HX-Request": "true", "HX-Target": f"job-{job.pk}"})

    def test_progress_and_the_claim_are_signs_of_life(self):
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        self.assertIsNone(job.heartbeat_at)
        before = timezone.now()
        run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, Job.Status.DONE)
        self.assertGreaterEqual(job.heartbeat_at, before)

    def test_a_job_with_recent_progress_is_still_running(self):
        job = self.running_job(timedelta(minutes=settings.JOB_STALLED_MINUTES - 1))
        self.assertFalse(job.stalled)
        response = self.status(job)
        self.assertContains(response, "Running: 3 of 12")
        self.assertContains(response, 'hx-trigger="every 1s"')
        self.assertNotContains(response, "Start it again")

    def test_a_job_silent_too_long_is_shown_as_failed_and_may_be_started_again(self):
        job = self.running_job(timedelta(minutes=settings.JOB_STALLED_MINUTES, seconds=1))
        self.assertTrue(job.stalled)
        response = self.status(job)
        self.assertContains(response, 'role="alert"')
        self.assertContains(response, "The work stopped before it was finished")
        self.assertContains(response, "Start it again")
        self.assertNotContains(response, "Running")
        self.assertNotContains(response, "hx-trigger")  # stopped: the page stops polling
        self.assertContains(self.client.get(reverse("project_detail", args=[self.project.slug])), "The work stopped")

        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("job_restart", args=[job.pk]))
        again = Job.objects.exclude(pk=job.pk).get()
        self.assertRedirects(response, reverse("job_detail", args=[again.pk]), fetch_redirect_response=False)
        self.assertEqual(
            (again.requested_by, again.kind, again.params, again.download_name, again.status),
            (self.bob, job.kind, job.params, job.download_name, Job.Status.QUEUED),
        )
        run_worker()
        again.refresh_from_db()
        self.assertEqual(again.status, Job.Status.DONE)
        download = self.client.get(reverse("job_download", args=[again.pk]))
        self.assertEqual([row["text"] for row in csv_rows(download.getvalue())], ["The group chat"])

    def test_a_failed_job_may_be_started_again_and_a_finished_one_is_left_alone(self):
        self.client.force_login(self.bob)
        job = started_job(self, self.url)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, message="Something went wrong.")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("job_restart", args=[job.pk]), headers={"HX-Request": "true"})
        again = Job.objects.exclude(pk=job.pk).get()
        self.assertContains(response, f'id="job-{again.pk}"')
        Job.objects.filter(pk=again.pk).update(status=Job.Status.DONE)
        response = self.client.post(reverse("job_restart", args=[again.pk]))
        self.assertRedirects(response, reverse("job_detail", args=[again.pk]), fetch_redirect_response=False)
        self.assertEqual(Job.objects.count(), 2)

    def test_only_the_member_who_asked_may_start_it_again(self):
        job = self.running_job(timedelta(hours=1))
        for user in (self.alice, self.rita, self.oscar):
            self.client.force_login(user)
            self.assertEqual(self.client.post(reverse("job_restart", args=[job.pk])).status_code, 404)
        self.assertEqual(Job.objects.count(), 1)
