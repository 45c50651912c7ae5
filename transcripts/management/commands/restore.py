from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transcripts.audit import verify_chain
from transcripts.backup import RestoreRefused, restore
from transcripts.management.commands.verify_audit import describe


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database (after `migrate`)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("archive")

    def handle(self, archive: str, **options) -> None:
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"{archive} does not exist.")
        try:
            manifest = restore(path.read_bytes())
        except RestoreRefused as refusal:
            raise CommandError(str(refusal)) from None
        total = sum(manifest.counts.values())
        self.stdout.write(f"restored {total} objects ({manifest.scope})")
        # Restored whatever the trail says: a restore is how data comes back after a loss.
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"The restored audit trail is intact: {report.checked} events in {report.chains} chains.")
        else:
            self.stderr.write(f"Warning: the restored audit trail does not verify: {describe(report)}")
