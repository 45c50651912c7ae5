from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transcripts.backup import dump
from transcripts.models import Project


class Command(BaseCommand):
    help = "Write a complete, versioned archive of the site, or of one project, to a .zip file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("out", help="The archive to write, e.g. peercoding-2026-11-25.zip")
        parser.add_argument("--project", help="Only this project (its slug) and the people in it.")

    def handle(self, out: str, project: str | None = None, **options) -> None:
        scope = None
        if project:
            try:
                scope = Project.objects.get(slug=project)
            except Project.DoesNotExist:
                raise CommandError(f"There is no project with the slug {project!r}.") from None
        path = Path(out)
        if path.exists():
            raise CommandError(f"{out} exists already; choose a new name.")
        data = dump(scope)
        path.write_bytes(data)
        path.chmod(0o600)
        self.stdout.write(f"wrote {out} ({len(data) // 1024} KB)")
