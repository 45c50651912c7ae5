"""Concurrent coders over real HTTP against gunicorn, at a small scale (bench/load.py at full size).

Runs on whichever database the suite runs on: SQLite in the first pass of `make test`,
PostgreSQL in the second.
"""

import os
import subprocess
import time

from django.conf import settings
from django.db import connection
from django.test import TransactionTestCase

from bench import load
from bench.server import gunicorn
from tests.base import PASSWORD, make_code, make_project, make_transcript, make_user
from transcripts import actions
from transcripts.models import AuditEvent, Excerpt, Membership


def database_url() -> str:
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    host = config.get("HOST") or "127.0.0.1"
    return f"postgres://{config['USER']}:{config.get('PASSWORD') or ''}@{host}:{config.get('PORT') or 5432}/{config['NAME']}"


# Each round a coder codes one new selection (sent twice, as a double click would), may change
# one of their memos, and tries to overwrite the shared memo. The run ends when every coder has
# done their rounds; the deadline only stops a hung server from hanging the suite.
CODERS = 6
ROUNDS = 3
DEADLINE_SECONDS = 300


class ConcurrentCodersTests(TransactionTestCase):
    def test_every_coding_is_stored_once_and_no_memo_edit_is_lost(self):
        lead = make_user("lead")
        project = make_project(lead)
        coders = [make_user(f"coder{n}") for n in range(CODERS)]
        for coder in coders:
            actions.set_role(project, coder, Membership.Role.CODER, by=lead)
        text = "\n".join(f"P01: line {n} " + "peer support boundaries self care " * 8 for n in range(60))
        transcripts = [make_transcript(project, title=f"T{n}", text=text) for n in range(3)]
        code = make_code(project)
        shared = actions.create_excerpt(transcripts[0], start=0, end=10, codes=[code], by=lead)

        env = dict(os.environ, DATABASE_URL=database_url(), DATA_DIR=str(settings.DATA_DIR), LOG_LEVEL="ERROR")
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        # Leads may change the shared excerpt; make every coder a lead of it for the memo race.
        Membership.objects.filter(project=project).update(role=Membership.Role.LEAD)
        with gunicorn(env, threads=4, stderr=subprocess.PIPE) as server:
            started = time.monotonic()
            tally = load.run(
                server.base,
                [(coder.username, PASSWORD) for coder in coders],
                [t.pk for t in transcripts],
                code.pk,
                shared.pk,
                seconds=DEADLINE_SECONDS,
                # bench/load.py's coder_loop counts six requests a round.
                max_requests=ROUNDS * 6,
                pause=0.2,
            )
            self.assertLess(time.monotonic() - started, DEADLINE_SECONDS, "the coders ran out of time")
        stderr = server.process.stderr.read()
        self.assertEqual(tally.errors, [], stderr.decode()[-2000:])
        # Every coder did every round, and each round's coding got through.
        self.assertEqual(len(tally.tokens), CODERS * ROUNDS)
        self.assertEqual(len(set(tally.tokens)), len(tally.tokens))
        self.assertEqual(tally.shared_saves + tally.shared_conflicts, CODERS * ROUNDS)
        self.assertGreaterEqual(tally.shared_saves, 1)
        # Each token was sent twice; each made exactly one excerpt and one audit record.
        stored = Excerpt.objects.filter(client_token__in=tally.tokens)
        self.assertEqual(stored.count(), len(tally.tokens))
        self.assertEqual(
            sorted(stored.values_list("client_token", flat=True)), sorted(tally.tokens)
        )
        self.assertEqual(Excerpt.objects.count(), 1 + len(tally.tokens))
        self.assertEqual(AuditEvent.objects.filter(verb="excerpt.created").count(), Excerpt.objects.count())
        # Every saved memo edit raised the version by one; the final memo is the last one saved.
        shared.refresh_from_db()
        self.assertEqual(shared.version, 1 + tally.shared_saves)
        self.assertEqual(shared.memo, tally.last_shared_memo[shared.version])
        self.assertEqual(
            AuditEvent.objects.filter(verb="excerpt.changed", object_id=str(shared.pk)).count(), tally.shared_saves
        )
