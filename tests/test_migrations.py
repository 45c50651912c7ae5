from io import StringIO

from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.test import TestCase, TransactionTestCase


class MigrationTests(TestCase):
    def test_models_and_migrations_agree(self):
        out = StringIO()
        try:
            call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
        except SystemExit as exit_:
            self.fail(f"Models changed without a migration (exit {exit_.code}):\n{out.getvalue()}")


class TriggerAcrossMigrationsTests(TransactionTestCase):
    """SQLite rebuilds tables to alter them; the text trigger must survive, and so must the data."""

    def test_migrating_back_and_forth_keeps_data_and_the_trigger(self):
        from tests.base import make_code, make_excerpt, make_project, make_transcript, make_user

        lead = make_user("lead")
        project = make_project(lead)
        transcript = make_transcript(project)
        make_excerpt(transcript, [make_code(project)])
        call_command("migrate", "transcripts", "0003", verbosity=0)
        call_command("migrate", verbosity=0)
        from transcripts.models import Excerpt, Transcript

        self.assertEqual(Excerpt.objects.count(), 1)
        with self.assertRaises(DatabaseError), transaction.atomic():
            Transcript.objects.filter(pk=transcript.pk).update(text="Rewritten")
        self.assertIn("group chat", Transcript.objects.get(pk=transcript.pk).text)
