"""Backup and restore: dump → restore → dump compares equal, and across databases."""

import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import TransactionTestCase

from tests.base import make_code, make_excerpt, make_project, make_transcript, make_user
from transcripts import actions, backup
from transcripts.models import (
    Attribute,
    AttributeValue,
    AuditEvent,
    Excerpt,
    Membership,
    Memo,
    Participant,
    Pseudonym,
)


def archive_made_on_sqlite(then: str = "") -> bytes:
    """BackupTests.build on a fresh SQLite database in a subprocess, then `then`, dumped."""
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, DATA_DIR=folder)
        env.pop("DATABASE_URL")
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        script = (
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'peercoding.settings'); django.setup();"
            "from django.core.management import call_command; call_command('migrate', verbosity=0);"
            f"from tests.test_backup import BackupTests; BackupTests.build(BackupTests()); {then}"
            f"from transcripts import backup; open({folder!r} + '/a.zip', 'wb').write(backup.dump())"
        )
        subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, check=True)
        return Path(folder, "a.zip").read_bytes()


def data_of(archive: bytes) -> list:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return json.loads(zipped.read("data.json"))


class BackupTests(TransactionTestCase):
    def build(self) -> None:
        self.lead = make_user("lead")
        self.coder = make_user("coder")
        self.project = make_project(self.lead)
        actions.set_role(self.project, self.coder, Membership.Role.CODER, by=self.lead)
        participant = Participant.objects.create(project=self.project, label="P07")
        attribute = Attribute.objects.create(project=self.project, name="Years", kind="number")
        AttributeValue.objects.create(participant=participant, attribute=attribute, value="7", number=7)
        transcript = make_transcript(self.project, participant=participant, text="I: Hi 💪\nP07: José, café.")
        parent = make_code(self.project, name="Coping")
        child = make_code(self.project, name="Community", parent=parent)
        make_excerpt(transcript, [child, parent], start=0, end=5, by=self.coder, memo="memo")
        Memo.objects.create(project=self.project, author=self.lead, body="journal")
        Pseudonym.objects.create(project=self.project, original="Maria", replacement="[Peer A]")
        other_lead = make_user("other")
        other = make_project(other_lead, name="Other", slug="other")
        make_transcript(other, title="Other interview")

    def test_every_model_of_the_app_says_how_it_reaches_its_project(self):
        names = {model._meta.model_name for model in apps.get_app_config("transcripts").get_models()}
        self.assertEqual(names - set(backup.PROJECT_PATHS), set())

    def test_dump_restore_dump_compares_equal(self):
        self.build()
        first = backup.dump()
        self.wipe()
        backup.restore(first)
        second = backup.dump()
        self.assertEqual(data_of(first), data_of(second))
        self.assertTrue(__import__("transcripts.audit", fromlist=["verify_chain"]).verify_chain().ok)
        # New objects get fresh ids after a restore.
        make_transcript(self.project_again(), title="After restore")

    def test_times_keep_every_microsecond_through_a_dump_and_restore(self):
        # Django's JSON keeps milliseconds only: a time of 12:00:00.000500 came back as 12:00:00,
        # so the second dump differed from the first, and an audit event so timed would no
        # longer match its recorded hash.
        self.build()
        precise = datetime.datetime(2026, 3, 4, 12, 0, 0, 500, tzinfo=datetime.timezone.utc)
        Memo.objects.filter(body="journal").update(created_at=precise)
        first = backup.dump()
        self.wipe()
        backup.restore(first)
        self.assertEqual(Memo.objects.get(body="journal").created_at, precise)
        self.assertEqual(data_of(first), data_of(backup.dump()))

    def test_a_project_archive_holds_only_that_project(self):
        self.build()
        archive = backup.dump(self.project)
        data = data_of(archive)
        models = {item["model"] for item in data}
        self.assertIn("transcripts.pseudonym", models)
        self.assertFalse(any("Other interview" in json.dumps(item) for item in data))
        self.assertEqual({item["fields"]["username"] for item in data if item["model"] == "auth.user"}, {"lead", "coder"})

    def test_restore_refuses_a_non_empty_database_or_a_damaged_archive(self):
        self.build()
        archive = backup.dump()
        with self.assertRaises(backup.RestoreRefused):
            backup.restore(archive)
        damaged = bytearray(archive)
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            manifest = zipped.read("manifest.json")
            payload = zipped.read("data.json")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            zipped.writestr("manifest.json", manifest)
            zipped.writestr("data.json", payload.replace(b"journal", b"JOURNAL"))
        self.wipe()
        with self.assertRaises(backup.RestoreRefused):
            backup.restore(buffer.getvalue())
        with self.assertRaises(backup.RestoreRefused):
            backup.restore(bytes(damaged[:100]))
        self.assertFalse(AuditEvent.objects.exists())

    def test_the_commands_write_and_restore_an_archive(self):
        self.build()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "site.zip"
            call_command("backup", str(path), stdout=io.StringIO())
            self.assertEqual(oct(path.stat().st_mode & 0o777), "0o600")
            with self.assertRaises(CommandError):
                call_command("backup", str(path), stdout=io.StringIO())  # never overwrites
            self.wipe()
            out = io.StringIO()
            call_command("restore", str(path), stdout=out)
            self.assertIn("restored", out.getvalue())
        self.assertEqual(self.project_again().transcripts.count(), 1)

    def test_a_sqlite_archive_restores_into_postgresql(self):
        """Made on SQLite here, restored by a subprocess into this suite's PostgreSQL (second pass)."""
        from django.db import connection

        self.build()
        archive = backup.dump()
        if connection.vendor != "postgresql":
            # First pass: keep the archive for the PostgreSQL pass, and check it restores here.
            self.wipe()
            backup.restore(archive)
            self.assertEqual(data_of(backup.dump()), data_of(archive))
            return
        # Second pass: make the same archive on a fresh SQLite database, then restore it here.
        sqlite_archive = archive_made_on_sqlite()
        self.wipe()
        backup.restore(sqlite_archive)
        self.assertEqual(data_of(backup.dump()), data_of(sqlite_archive))

    def test_a_nul_stored_on_sqlite_stops_a_restore_into_postgresql_naming_the_rows(self):
        """SQLite stored NUL before the site refused it; PostgreSQL cannot (second pass)."""
        from django.db import connection

        if connection.vendor != "postgresql":
            self.build()
            Excerpt.objects.update(memo="before\x00after")  # as a memo saved before the refusal
            archive = backup.dump()
            self.assertEqual(backup.unstorable_text(data_of(archive)), [f"transcripts.excerpt #{Excerpt.objects.get().pk} memo"])
            self.wipe()
            backup.restore(archive)  # SQLite to SQLite keeps the memo as it was
            self.assertEqual(Excerpt.objects.get().memo, "before\x00after")
            return
        archive = archive_made_on_sqlite("from transcripts.models import Excerpt; Excerpt.objects.update(memo='a\\x00b');")
        self.wipe()
        with self.assertRaises(backup.RestoreRefused) as refused:
            backup.restore(archive)
        excerpt = next(item for item in data_of(archive) if item["model"] == "transcripts.excerpt")
        self.assertIn(f"transcripts.excerpt #{excerpt['pk']} memo", str(refused.exception))
        self.assertIn("NUL", str(refused.exception))
        self.assertFalse(Excerpt.objects.exists() or AuditEvent.objects.exists())

    def test_it_finds_nul_in_text_and_json_fields(self):
        objects = [
            {"model": "transcripts.memo", "pk": 1, "fields": {"body": "fine", "author": 3}},
            {"model": "transcripts.auditevent", "pk": 2, "fields": {"detail": {"after": {"memo": ["a\x00"]}}}},
            {"model": "transcripts.code", "pk": 3, "fields": {"name": "x\x00", "parent": None}},
        ]
        self.assertEqual(
            backup.unstorable_text(objects), ["transcripts.auditevent #2 detail", "transcripts.code #3 name"]
        )

    def wipe(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db import connection

        with connection.cursor() as cursor:
            tables = [m._meta.db_table for m in reversed(backup.app_models())] + [get_user_model()._meta.db_table]
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")

    def project_again(self):
        from transcripts.models import Project

        return Project.objects.get(slug="peer-workers")
