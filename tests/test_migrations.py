from io import StringIO

from django.core.management import call_command
from django.test import TestCase


class MigrationTests(TestCase):
    def test_models_and_migrations_agree(self):
        out = StringIO()
        try:
            call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
        except SystemExit as exit_:
            self.fail(f"Models changed without a migration (exit {exit_.code}):\n{out.getvalue()}")
