"""Fitting and measuring the suggestions run on a queue of their own, so reports never wait behind a fit."""

from __future__ import annotations

import io
from unittest import mock

from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests.base import BaseTestCase, started_job
from tests.suggestion_study import build
from transcripts.models import Job, SuggestionModel


def run_worker_of(queue: str) -> None:
    """`manage.py db_worker --queue-name QUEUE --batch`, as `make run` starts it."""
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", queue_name=queue, batch=True, startup_delay=False, verbosity=0, stdout=io.StringIO())


class SuggestionsQueueTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.transcript = study["transcripts"][0]

    def test_a_fit_waits_for_the_suggestions_worker_while_the_default_worker_writes_a_report(self):
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(reverse("suggestions_train", args=[self.transcript.pk]), headers={"HX-Request": "true"})
        report = started_job(self, reverse("review_report", args=[self.project.slug, "csv"]))
        measuring = started_job(self, reverse("measure_suggestions", args=[self.project.slug]))
        assert sorted(DBTaskResult.objects.values_list("queue_name", flat=True)) == ["default", "suggestions", "suggestions"]
        run_worker_of("default")
        row = SuggestionModel.objects.get(project=self.project, learner=None)
        report.refresh_from_db()
        measuring.refresh_from_db()
        assert (report.status, measuring.status, row.state, row.version) == (
            Job.Status.DONE, Job.Status.QUEUED, SuggestionModel.State.QUEUED, 0
        )
        run_worker_of("suggestions")
        row.refresh_from_db()
        measuring.refresh_from_db()
        assert (measuring.status, row.state, row.version) == (Job.Status.DONE, SuggestionModel.State.IDLE, 1)
