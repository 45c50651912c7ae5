from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max

from transcripts.audit import chain_name, read_checkpoints, verify_chain
from transcripts.backup import RestoreRefused, restore
from transcripts.management.commands.verify_audit import describe
from transcripts.models import AuditEvent


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database (after `migrate`)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("archive")

    def handle(self, archive: str, **options) -> None:
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"{archive} does not exist.")
        noted = read_checkpoints()  # what this server knew of the database replaced, if any
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
        heads = dict(AuditEvent.objects.order_by().values_list("project_id").annotate(top=Max("seq")))
        for chain, (seq, _) in sorted(noted.items(), key=lambda item: (item[0] is None, item[0] or 0)):
            if seq > heads.get(chain, 0):
                self.stdout.write(
                    f"Note: {chain_name(chain)} had {seq - heads.get(chain, 0)} more records in the database this "
                    "server last wrote to; they were made after this archive, or belong to a project it does not hold."
                )
