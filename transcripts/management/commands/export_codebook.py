"""Export a project's codebook to .docx or REFI-QDA .qdc, now or as it stood on a past date."""

import datetime
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transcripts import codebook
from transcripts.interop import refi
from transcripts.interop.docx_writer import write_docx
from transcripts.models import Project


class Command(BaseCommand):
    help = "Write PROJECT's codebook to OUT.docx or OUT.qdc."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("out", help="The file to write; its extension (.docx or .qdc) picks the format.")
        parser.add_argument("--no-quotes", action="store_true", help="Leave out exemplar quotes (.docx).")
        parser.add_argument("--no-counts", action="store_true", help="Leave out excerpt, transcript and participant counts (.docx).")
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="The codebook as it stood at the end of that day.")

    def handle(self, project: str, out: str, no_quotes: bool, no_counts: bool, as_of: str | None, **options) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"There is no project with the slug {project!r}.")
        path = Path(out)
        if path.suffix.lower() not in (".docx", ".qdc"):
            raise CommandError("Name the output file .docx or .qdc.")
        day = None
        if as_of:
            try:
                day = datetime.date.fromisoformat(as_of)
            except ValueError:
                raise CommandError(f"--as-of must be a date written as YYYY-MM-DD, not {as_of!r}.") from None
        started = time.perf_counter()
        document = codebook.codebook_document(found, quotes=not no_quotes, counts=not no_counts, as_of=day)
        if path.suffix.lower() == ".qdc":
            data = refi.write_qdc(document.themes)
        else:
            data = write_docx(document, quotes=not no_quotes, counts=not no_counts)
        path.write_bytes(data)
        n_codes = sum(1 for _ in codebook.walk(document.themes))
        self.stdout.write(
            f"Wrote {path} ({n_codes} codes, version {document.version}, {len(data):,} bytes) "
            f"in {time.perf_counter() - started:.2f} s."
        )
