"""Import a codebook into a project from the command line, as the codebook page does."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from transcripts import actions
from transcripts.codebook_forms import without_control_characters
from transcripts.interop import refi
from transcripts.interop.codebook import TEXT_FIELDS, walk
from transcripts.interop.readers import ImportRefused
from transcripts.interop.readers.codebook_sheet import parse_codebook_sheet
from transcripts.models import Membership, Project

SHEETS = (".csv", ".xlsx")


class Command(BaseCommand):
    help = "Create and update PROJECT's codes from a .qdc, .qdpx, .qde, .csv or .xlsx codebook."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("file", help="A REFI-QDA codebook or project, or a codebook sheet.")
        parser.add_argument("--lead", metavar="USERNAME", help="The lead the import is recorded under (the first lead when not given).")
        parser.add_argument("--dry-run", action="store_true", help="Say what would change; change nothing.")

    def handle(self, project: str, file: str, lead: str | None, dry_run: bool, **options) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"There is no project with the slug {project!r}.")
        leads = Membership.objects.filter(project=found, role=Membership.Role.LEAD).select_related("user").order_by("pk")
        if lead:
            leads = leads.filter(user__username=lead)
        membership = leads.first()
        if membership is None:
            raise CommandError(f"{lead!r} is not a lead of {found.slug}." if lead else f"{found.slug} has no lead to record the import under.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file} does not exist.")
        if path.stat().st_size > settings.UPLOAD_MAX_BYTES:
            raise CommandError(f"{path.name} is larger than the upload limit.")
        try:
            themes, notes = self._read(path)
        except ImportRefused as refusal:
            raise CommandError(str(refusal)) from None
        for note in notes:
            self.stdout.write(f"note      {note}")
        plan = actions.plan_import(found, themes)
        for planned in plan:
            self.stdout.write(f"{planned.action:<9} {' / '.join(planned.path)}")
        counts = {action: sum(1 for p in plan if p.action == action) for action in ("create", "update", "same")}
        summary = f"{counts['create']} to create, {counts['update']} to update, {counts['same']} unchanged"
        if dry_run:
            self.stdout.write(f"Nothing changed (dry run): {summary}.")
            return
        try:
            created, updated = actions.apply_import(found, themes, by=membership.user, source=path.name)
        except ValidationError as error:
            raise CommandError("Nothing was imported: " + " ".join(error.messages)) from None
        self.stdout.write(f"Codebook imported: {created} codes created, {updated} updated.")

    def _read(self, path: Path):
        """Themes and notes from the file, with control characters cleaned as the codebook form cleans them."""
        data = path.read_bytes()
        if path.suffix.lower() in SHEETS:
            themes, notes = parse_codebook_sheet(path.name, data)
        elif path.suffix.lower() in refi.ACCEPTED:
            imported = refi.read_codebook(path.name, data)
            themes, notes = imported.themes, ([f"Written by {imported.origin}."] if imported.origin else []) + imported.notes
        else:
            raise ImportRefused("A codebook can be imported from .qdc, .qdpx, .qde, .csv or .xlsx files.")
        for theme, _, _ in walk(themes):
            theme.name = " ".join(without_control_characters(theme.name).split())
            for name in TEXT_FIELDS:
                setattr(theme, name, without_control_characters(getattr(theme, name)))
        return themes, notes
