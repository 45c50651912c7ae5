"""Check the audit trail's hash chains and checkpoints; exit non-zero, saying what broke, if altered."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transcripts.audit import verify_chain
from transcripts.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Recompute every project's keyed hash chain, compare each with the checkpoint file, and report "
        "the first record that was changed or removed."
    )

    def handle(self, **options) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(f"The audit trail was altered: {describe(report)}")
        self.stdout.write(
            f"The audit trail is intact: {report.checked} events in {report.chains} chain{'s' if report.chains != 1 else ''} checked against "
            f"their keyed hashes and the checkpoint file {settings.AUDIT_CHECKPOINT_FILE}."
        )
        if report.unconfirmed:
            self.stdout.write(
                f"{report.unconfirmed} newer event{'s' if report.unconfirmed != 1 else ''} "
                f"{'are' if report.unconfirmed != 1 else 'is'} not noted in this server's checkpoint file "
                "(written by another app server, before an upgrade or restore that noted none, or while the "
                "file could not be written): had they been removed, this check could not tell."
            )


def describe(report) -> str:  # noqa: ANN001
    if report.broken_at is None:
        return f"{report.problem}; the {report.checked} events that remain are intact."
    event = AuditEvent.objects.filter(pk=report.broken_at).first()
    what = f"{event.created_at:%Y-%m-%d %H:%M:%S} {event.actor_name} {event.verb} {event.object_repr}" if event else ""
    return f"event {report.broken_at} ({what}) {report.problem}; {report.checked} events before it are intact."
