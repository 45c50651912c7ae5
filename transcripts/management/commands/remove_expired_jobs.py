from django.core.management.base import BaseCommand

from transcripts.jobs import remove_expired


class Command(BaseCommand):
    help = (
        "Delete background jobs past their keeping time (JOB_KEEP_HOURS) with their files, and files in "
        "JOBS_DIR that no job names. The worker does the same before each job; run this from cron when "
        "jobs are rare."
    )

    def handle(self, **options) -> None:
        removed = remove_expired()
        self.stdout.write(f"{removed} expired job{'s' if removed != 1 else ''} removed")
