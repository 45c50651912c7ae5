from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transcripts.backup import RestoreRefused, restore


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
