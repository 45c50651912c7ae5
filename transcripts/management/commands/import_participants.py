from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from transcripts.interop.readers import ImportRefused
from transcripts.actions import import_participant_sheet, read_participant_sheet
from transcripts.models import Membership, Project


class Command(BaseCommand):
    help = "Create or update a project's participants and their attributes from a .csv or .xlsx sheet."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("sheet", help="A .csv or .xlsx file: one row a participant, one column an attribute.")
        parser.add_argument(
            "--type",
            action="append",
            default=[],
            metavar="COLUMN=KIND",
            help="Override an inferred column type (text, number, date, choice); repeatable.",
        )

    def handle(self, project: str, sheet: str, type: list[str], **options) -> None:
        try:
            project_obj = Project.objects.get(slug=project)
        except Project.DoesNotExist:
            raise CommandError(f"There is no project with the slug {project!r}.") from None
        lead = Membership.objects.filter(project=project_obj, role=Membership.Role.LEAD).order_by("pk").first()
        if lead is None:
            raise CommandError(f"{project_obj.slug} has no lead to record the import under.")
        path = Path(sheet)
        if not path.is_file():
            raise CommandError(f"{sheet} does not exist.")
        if path.stat().st_size > settings.UPLOAD_MAX_BYTES:
            raise CommandError(f"{path.name} is larger than the upload limit.")
        kinds = {}
        for item in type:
            column, _, kind = item.partition("=")
            kinds[column] = kind
        try:
            parsed = read_participant_sheet(path.name, path.read_bytes())
            for column in parsed.columns:
                self.stdout.write(f"column    {column.name}: {kinds.get(column.name, column.kind)}")
            result = import_participant_sheet(project_obj, parsed, by=lead.user, kinds=kinds)
        except ImportRefused as refusal:
            raise CommandError(str(refusal)) from None
        except ValidationError as error:
            raise CommandError("Nothing was imported: " + " ".join(error.messages)) from None
        self.stdout.write(
            f"{result.created} participants added, {result.updated} updated, "
            f"{result.linked_transcripts} transcripts matched"
        )
