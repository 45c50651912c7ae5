"""Two app servers, one database: gunicorn on two ports, a worker beside them, and people whose
requests land on either. Nothing one server needs may live only in another's memory: sessions,
coding, uploads, background jobs and login lockouts all go through the database (and the shared
JOBS_DIR).

Runs on whichever database the suite runs on: SQLite in the first pass of `make test`,
PostgreSQL in the second, which is how several machines would share one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.test import TransactionTestCase

from bench import two_servers
from bench.client import Client
from bench.server import ROOT, gunicorn
from tests.base import PASSWORD, make_code, make_project, make_transcript, make_user
from tests.test_concurrency import database_url
from transcripts import actions
from transcripts.models import Excerpt, Job, Membership, Transcript


def status_of(client: Client, path: str) -> int:
    """The status as htmx sees it: a visitor who is not logged in gets 401, not a redirect to follow."""
    try:
        return client.get(path, htmx=True)[0]
    except urllib.error.HTTPError as error:
        return error.code


def upload(client: Client, path: str, name: str, data: bytes) -> int:
    """POST one file as the import page's script does."""
    boundary = "peercoding-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
        f"Content-Type: text/plain\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    headers = dict(client.headers, **{
        "HX-Request": "true", "X-CSRFToken": client.csrf(), "Referer": client.base.replace("http://", "https://") + "/",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    })
    request = urllib.request.Request(client.base + path, data=body, headers=headers, method="POST")
    try:
        with client.opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        raise AssertionError(error.read().decode()[-1500:]) from None


def on(client: Client, server) -> Client:  # noqa: ANN001
    """The same browser (the same cookies) talking to another server."""
    client.base = server.base
    return client


class TwoAppServersTests(TransactionTestCase):
    def test_whichever_server_answers_people_see_the_same_app(self):
        alice, bob = make_user("alice"), make_user("bob")
        project = make_project(alice)
        actions.set_role(project, bob, Membership.Role.CODER, by=alice)
        transcript = make_transcript(project)
        code = make_code(project, name="Community")
        jobs_dir = Path(tempfile.mkdtemp(prefix="peercoding-jobs-"))
        self.addCleanup(shutil.rmtree, jobs_dir, ignore_errors=True)
        env = dict(
            os.environ, DATABASE_URL=database_url(), DATA_DIR=str(settings.DATA_DIR), JOBS_DIR=str(jobs_dir),
            SECRET_KEY="two-servers-" + "k" * 50, LOGIN_FAILURE_LIMIT="3", LOG_LEVEL="ERROR",
        )
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        with gunicorn(env, workers=1, stderr=subprocess.PIPE) as one, gunicorn(env, workers=1, stderr=subprocess.PIPE) as two:
            # Sessions: logged in on one, known on the other.
            bob_browser = Client(one.base)
            bob_browser.login("bob", PASSWORD)
            state = f"/transcripts/{transcript.pk}/state/"
            self.assertEqual(status_of(on(bob_browser, two), f"/projects/{project.slug}/"), 200)
            alice_browser = Client(two.base)
            alice_browser.login("alice", PASSWORD)
            before = json.loads(alice_browser.get(state)[1])["state"]

            # Coding made through one is what the other's live update and page show.
            start = transcript.text.index("The group chat")
            status, _ = on(bob_browser, one).post(
                f"/transcripts/{transcript.pk}/excerpts/",
                {"start": start, "end": start + len("The group chat"), "codes": str(code.pk), "client_token": "t-1"},
            )
            self.assertEqual(status, 200)
            excerpt = Excerpt.objects.get(client_token="t-1")
            self.assertNotEqual(json.loads(alice_browser.get(state)[1])["state"], before)
            page = alice_browser.get(f"/transcripts/{transcript.pk}/")[1].decode()
            self.assertIn(f'data-excerpts="{excerpt.pk}"', page)
            # The benchmark's scenario (bench/two_servers.py): code through one, wait (up to 30 s,
            # else it stops) until two reports it.
            two_servers.seen_after(on(bob_browser, one), on(alice_browser, two), transcript.pk, code.pk, 0, 1)
            self.assertEqual(transcript.excerpts.count(), 2)

            # An upload through one server is a transcript on the other.
            self.assertEqual(upload(on(alice_browser, one), f"/projects/{project.slug}/import/", "P09.txt",
                                    b"Interviewer: How do you rest?\nP09: A long walk on Sundays."), 200)
            uploaded = Transcript.objects.get(project=project, title="P09")
            self.assertIn(f"/transcripts/{uploaded.pk}/", on(bob_browser, two).get(f"/projects/{project.slug}/")[1].decode())

            # A report started on two runs in the worker and downloads from one.
            status, fragment = on(alice_browser, two).post(f"/projects/{project.slug}/review/report.csv", {})
            self.assertEqual(status, 200)
            job = Job.objects.get()
            self.assertIn(f'id="job-{job.pk}"', fragment.decode())
            worker = subprocess.run(
                [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--verbosity", "0"],
                cwd=ROOT, env=env, capture_output=True, timeout=120,
            )
            self.assertEqual(worker.returncode, 0, worker.stderr.decode()[-2000:])
            self.assertIn("Ready", on(alice_browser, one).get(f"/jobs/{job.pk}/", htmx=True)[1].decode())
            status, body = alice_browser.get(f"/jobs/{job.pk}/download/")
            self.assertEqual(status, 200)
            self.assertIn("The group chat", body.decode("utf-8-sig"))
            self.assertEqual(status_of(on(bob_browser, one), f"/jobs/{job.pk}/download/"), 404)

            # Logging out on one ends the session on both.
            status, body = on(bob_browser, one).post("/logout/", {})
            self.assertEqual(status, 200, body.decode()[-500:])
            self.assertEqual(status_of(on(bob_browser, two), state), 401)

            # Wrong passwords on one lock the account on two (the last step: it locks this address too).
            intruder = Client(one.base)
            intruder.get("/login/")
            for _ in range(3):
                intruder.post("/login/", {"username": "alice", "password": "wrong"})
            on(intruder, two).get("/login/")
            status, body = intruder.post("/login/", {"username": "alice", "password": PASSWORD})
            self.assertEqual(status, 429, body.decode()[-500:])

        for server in (one, two):
            errors = server.process.stderr.read().decode()
            self.assertNotIn("Traceback", errors, errors[-2000:])
