"""The cast and builders shared by the tests.

alice leads the study, bob codes, rita reads, oscar is an outsider who leads another project.
"""

from __future__ import annotations

import io
from unittest import mock

from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpResponse
from django.test import TestCase
from django.urls import resolve, reverse

from transcripts import actions
from transcripts.models import Code, Excerpt, Job, Membership, Participant, Project, Transcript

PASSWORD = "correct horse battery staple"


def make_user(username: str, **fields) -> User:
    fields.setdefault("first_name", username.title())
    user = User(username=username, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


def make_project(lead: User, **fields) -> Project:
    fields.setdefault("name", "Peer workers study")
    fields.setdefault("slug", "peer-workers")
    return actions.create_project(fields.pop("name"), fields.pop("slug"), by=lead, **fields)


def make_participant(project: Project, **fields) -> Participant:
    fields.setdefault("label", "P07")
    return Participant.objects.create(project=project, **fields)


def make_transcript(project: Project, **fields) -> Transcript:
    fields.setdefault("title", "Interview 7")
    fields.setdefault("text", "Interviewer: What keeps you going?\nP07: The group chat, honestly.")
    fields.setdefault("by", project.created_by)
    return actions.create_transcript(project, **fields)


def make_code(project: Project, **fields) -> Code:
    fields.setdefault("name", "Sense of community")
    fields.setdefault("by", project.created_by)
    return actions.create_code(project, **fields)


def make_excerpt(transcript: Transcript, codes: list[Code], **fields) -> Excerpt:
    fields.setdefault("start", 0)
    fields.setdefault("end", 12)
    fields.setdefault("by", transcript.project.created_by)
    return actions.create_excerpt(transcript, codes=codes, **fields)


def run_worker() -> None:
    """Run every queued background task, of every queue, with `manage.py db_worker --batch`, as the
    real workers do (`make run` starts one for the default queue and one for the suggestions').

    Between tasks the worker closes connections that are not in autocommit, as Django does after a
    request; inside a TestCase that would be the test's own transaction, so that step is skipped
    here (tests/test_jobs.py runs the command untouched outside a test transaction).
    """
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", queue_name="*", batch=True, startup_delay=False, verbosity=0, stdout=io.StringIO())


def started_job(test: TestCase, url: str, data: dict | None = None) -> Job:
    """POST to a page that starts a background job (committing, so its task is queued) and return the job."""
    with test.captureOnCommitCallbacks(execute=True):
        response = test.client.post(url, data or {})
    test.assertEqual(response.status_code, 302, response.content[:500])
    match = resolve(response["Location"].split("?")[0])
    test.assertEqual(match.url_name, "job_detail")
    return Job.objects.get(pk=match.kwargs["job_id"])


def download_through_a_job(test: TestCase, url: str, data: dict | None = None) -> HttpResponse:
    """Start the job, let the worker run it, and download its file as the person who asked."""
    job = started_job(test, url, data)
    run_worker()
    job.refresh_from_db()
    test.assertEqual((job.status, job.message), (Job.Status.DONE, ""))
    response = test.client.get(reverse("job_download", args=[job.pk]))
    test.assertEqual(response.status_code, 200)
    return response


class BaseTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_user("alice", last_name="Lead")
        cls.bob = make_user("bob", last_name="Coder")
        cls.rita = make_user("rita", last_name="Reader")
        cls.oscar = make_user("oscar", last_name="Outsider")

        cls.project = make_project(cls.alice)
        actions.set_role(cls.project, cls.bob, Membership.Role.CODER, by=cls.alice)
        actions.set_role(cls.project, cls.rita, Membership.Role.READER, by=cls.alice)

        cls.other_project = make_project(cls.oscar, name="Another study", slug="another-study")

        cls.participant = make_participant(cls.project)
        cls.transcript = make_transcript(cls.project, participant=cls.participant)
        cls.code = make_code(cls.project)
