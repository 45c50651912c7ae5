"""Check the audit trail's hash chain; exit non-zero, naming the first broken event, if altered."""

from django.core.management.base import BaseCommand, CommandError

from transcripts.audit import verify_chain
from transcripts.models import AuditEvent


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and report the first event that was changed or removed."

    def handle(self, **options) -> None:
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"The audit trail is intact: {report.checked} events checked.")
            return
        event = AuditEvent.objects.filter(pk=report.broken_at).first()
        what = f"{event.created_at:%Y-%m-%d %H:%M:%S} {event.actor_name} {event.verb} {event.object_repr}" if event else ""
        raise CommandError(
            f"The audit trail was altered: event {report.broken_at} ({what}) does not match its hash "
            f"or its predecessor's; {report.checked} events before it are intact."
        )
