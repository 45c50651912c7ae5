from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from transcripts.interop.readers import ACCEPTED_FORMATS
from transcripts.actions import FileResult, import_transcript_file
from transcripts.models import Membership, Project


class Command(BaseCommand):
    help = "Import transcript files (.docx, .txt, .vtt, .srt) into a project; one line per file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("paths", nargs="+", help="Files, or folders whose transcript files are imported.")
        parser.add_argument("--as", dest="username", help="The lead the import is recorded under (default: the first lead).")

    def handle(self, project: str, paths: list[str], username: str | None, **options) -> None:
        try:
            project_obj = Project.objects.get(slug=project)
        except Project.DoesNotExist:
            raise CommandError(f"There is no project with the slug {project!r}.") from None
        by = self._importer(project_obj, username)
        files = self._collect(paths)
        refused = 0
        for path in files:
            result = self._import_one(project_obj, path, by)
            if result.ok:
                label = f" (participant {result.transcript.participant.label})" if result.transcript.participant else ""
                notes = "".join(f"; {note}" for note in result.notes)
                self.stdout.write(f"imported  {path}: {result.transcript.title}{label}{notes}")
            else:
                refused += 1
                self.stdout.write(f"refused   {path}: {result.error}")
        self.stdout.write(f"{len(files) - refused} imported, {refused} refused")
        if refused:
            raise CommandError(f"{refused} file{'s' if refused != 1 else ''} refused", returncode=1)

    def _importer(self, project: Project, username: str | None):
        leads = Membership.objects.filter(project=project, role=Membership.Role.LEAD).select_related("user")
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None or not leads.filter(user=user).exists():
                raise CommandError(f"{username!r} is not a lead of {project.slug}.")
            return user
        first = leads.order_by("pk").first()
        if first is None:
            raise CommandError(f"{project.slug} has no lead to record the import under.")
        return first.user

    def _collect(self, paths: list[str]) -> list[Path]:
        files: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in ACCEPTED_FORMATS))
            elif path.exists():
                files.append(path)
            else:
                raise CommandError(f"{raw} does not exist.")
        return files

    def _import_one(self, project: Project, path: Path, by) -> FileResult:
        size = path.stat().st_size
        if size > settings.UPLOAD_MAX_BYTES:
            limit = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
            return FileResult(name=path.name, error=f"{path.name} is larger than the {limit} MB upload limit.")
        return import_transcript_file(project, path.name, path.read_bytes(), by=by)
