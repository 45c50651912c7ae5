"""A job at work is never reported stalled, however long one transaction of it takes; a job whose
worker is gone still is, after JOB_STALLED_MINUTES. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.test import TransactionTestCase
from django.utils import timezone

from tests.base import BaseTestCase, make_user
from transcripts.jobs import signs_of_life
from transcripts.models import Job, Project

LONG_AGO = timedelta(minutes=settings.JOB_STALLED_MINUTES, seconds=30)


def running_import(user, *, heartbeat_at) -> Job:  # noqa: ANN001
    return Job.objects.create(
        requested_by=user, kind=Job.Kind.PROJECT_IMPORT, status=Job.Status.RUNNING, heartbeat_at=heartbeat_at,
        created_at=heartbeat_at, expires_at=timezone.now() + timedelta(hours=1),
    )


class PulseTests(BaseTestCase):
    def test_a_job_whose_worker_keeps_its_pulse_is_not_stalled_however_old_its_heartbeat(self):
        job = running_import(self.alice, heartbeat_at=timezone.now() - LONG_AGO)
        assert job.stalled
        with signs_of_life(job):
            assert not Job.objects.get(pk=job.pk).stalled
            assert job.pulse_path.exists()
        assert not job.pulse_path.exists()  # the job's end takes its pulse file away
        assert Job.objects.get(pk=job.pk).stalled

    def test_a_job_whose_worker_is_gone_is_reported_stalled(self):
        job = running_import(self.alice, heartbeat_at=timezone.now() - LONG_AGO)
        job.pulse_path.parent.mkdir(parents=True, exist_ok=True)
        job.pulse_path.touch()  # a killed worker leaves its pulse file behind, untouched from then on
        assert not job.stalled
        gone = time.time() - LONG_AGO.total_seconds()
        os.utime(job.pulse_path, (gone, gone))
        assert job.stalled
        self.client.force_login(self.alice)
        page = self.client.get(f"/jobs/{job.pk}/")
        self.assertContains(page, "The import stopped before it was finished")

    def test_a_finished_job_is_never_stalled(self):
        job = running_import(self.alice, heartbeat_at=timezone.now() - LONG_AGO)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE)
        job.refresh_from_db()
        assert not job.stalled


class LongTransactionTests(TransactionTestCase):
    """The worker holds a transaction open (as a project import does) while another connection,
    an app server's, asks whether the job is stalled."""

    def test_a_job_inside_a_long_transaction_is_not_reported_stalled(self):
        alice = make_user("alice")
        job = running_import(alice, heartbeat_at=timezone.now() - LONG_AGO)
        Job.objects.filter(pk=job.pk).update(total=10)
        job.refresh_from_db()
        inside, checked = threading.Event(), threading.Event()
        errors = []

        def worker() -> None:
            try:
                with signs_of_life(job, every=0.05), transaction.atomic():
                    Project.objects.create(name="Being imported", slug="being-imported", created_by=alice)
                    job.done = 7  # progress noted inside the transaction
                    inside.set()
                    checked.wait(30)
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            except Exception as error:  # pragma: no cover - shown by the assertion below
                errors.append(error)
                inside.set()
            finally:
                connections.close_all()

        thread = threading.Thread(target=worker)
        thread.start()
        try:
            assert inside.wait(30)
            # Wait for a beat that carries the progress (every 0.05 s, later on a busy machine).
            deadline = time.monotonic() + 30
            seen = Job.objects.get(pk=job.pk)
            while connection.vendor == "postgresql" and seen.done != 7 and time.monotonic() < deadline:
                time.sleep(0.05)
                seen = Job.objects.get(pk=job.pk)
            assert not Project.objects.filter(slug="being-imported").exists()  # the transaction is still open
            assert not seen.stalled
            if connection.vendor == "postgresql":
                # Written through the pulse's own connection: seen before the import commits.
                assert seen.heartbeat_at > timezone.now() - timedelta(seconds=30)
                assert (seen.done, seen.total) == (7, 10)
        finally:
            checked.set()
            thread.join(30)
        assert errors == []
        assert not thread.is_alive()
