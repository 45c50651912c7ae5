from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from transcripts import actions
from transcripts.models import Project


class Command(BaseCommand):
    help = (
        "Count the review pages' figures from scratch into the counts that coding keeps up to date, "
        "for projects whose coding was changed past the app (the admin site, SQL). Coding waits meanwhile."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", help="Only this project (its slug).")

    def handle(self, project: str | None = None, **options) -> None:
        projects = Project.objects.order_by("pk")
        if project:
            projects = projects.filter(slug=project)
            if not projects.exists():
                raise CommandError(f"There is no project with the slug {project!r}.")
        for each in projects:
            with transaction.atomic():
                actions.recount_review_counts(each)
            self.stdout.write(f"{each.slug}: counted")
