"""Write a whole project to a REFI-QDA project file (.qdpx) that other QDA tools open."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transcripts.models import Project
from transcripts.project_export import ExportOptions, export_project


class Command(BaseCommand):
    help = "Write PROJECT (its slug) to OUT.qdpx: transcripts, codebook, coding, memos, participants."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("out", help="The .qdpx file to write.")
        parser.add_argument(
            "--consensus-only", action="store_true", help="Only the consensus coding, not each coder's own."
        )
        parser.add_argument(
            "--transcript", action="append", default=[], metavar="TITLE",
            help="Only this transcript (repeatable); every transcript when not given.",
        )

    def handle(self, project: str, out: str, consensus_only: bool, transcript: list[str], **options) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"There is no project with the slug {project!r}.")
        path = Path(out)
        if path.suffix.lower() != ".qdpx":
            raise CommandError("Name the output file .qdpx.")
        ids = []
        for title in transcript:
            pk = found.transcripts.filter(title=title).values_list("pk", flat=True).first()
            if pk is None:
                raise CommandError(f"{found.slug} has no transcript titled {title!r}.")
            ids.append(pk)
        started = time.perf_counter()
        # Written beside the target and renamed, so a failed export leaves no half-written file.
        partial = path.with_name(path.name + ".part")
        try:
            with partial.open("wb") as stream:
                summary = export_project(
                    found, stream, options=ExportOptions(consensus_only=consensus_only, transcript_ids=tuple(ids))
                )
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(
            f"Wrote {path}: {summary.sources} sources, {summary.codes} codes, {summary.selections} selections, "
            f"{summary.codings} codings, {summary.notes} notes, {summary.cases} cases, {summary.users} users "
            f"({'consensus only' if consensus_only else 'every coder and the consensus'}) "
            f"in {time.perf_counter() - started:.2f} s."
        )
