from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from transcripts import actions
from transcripts.interop.readers import ImportRefused
from transcripts.models import Project
from transcripts.project_forms import RESERVED_SLUGS, SLUG_RE


class Command(BaseCommand):
    help = (
        "Import a REFI-QDA project (.qdpx or .qde from NVivo, ATLAS.ti, MAXQDA, QualCoder...) as a new project; "
        "prints what comes in and what is left out, then the result."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The .qdpx or .qde file.")
        parser.add_argument("--slug", required=True, help="Short name of the new project (lower-case letters, digits, hyphens).")
        parser.add_argument("--lead", required=True, help="Username of the account that becomes the project's lead.")
        parser.add_argument("--name", help="The new project's name (default: the name in the file).")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FILE_USER=USERNAME",
            help="Make the file's user of that name (or e-mail) this existing account; repeatable. "
            "Users not mapped get an inactive account that cannot log in.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Print the preview and write nothing.")

    def handle(self, file: str, slug: str, lead: str, name: str | None, map: list[str], dry_run: bool, **options) -> None:
        User = get_user_model()
        by = User.objects.filter(username=lead, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active account named {lead!r} to lead the project.")
        if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS or len(slug) > Project._meta.get_field("slug").max_length:
            raise CommandError(f"{slug!r} cannot be a project's short name: use lower-case letters, digits and single hyphens.")
        if Project.objects.filter(slug=slug).exists():
            raise CommandError(f"Another project already uses the short name {slug!r}.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            with path.open("rb") as stream:
                project = actions.read_project_file(path.name, stream)
        except ImportRefused as refusal:
            raise CommandError(f"Refused, nothing imported: {refusal}") from None
        prepared = actions.prepare_project_import(project, path.name)
        for line in prepared.preview_lines():
            self.stdout.write(line)
        mapping = self._mapping(prepared, map)
        for file_user in prepared.users:
            target = mapping.get(file_user.guid)
            becomes = f"the account {target.username}" if target else f"a new inactive account “{file_user.imported_name}”"
            self.stdout.write(f"User {file_user.name or file_user.guid} becomes {becomes}.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        try:
            result = actions.import_project(prepared, name=(name or project.name or slug)[:200], slug=slug, by=by, mapping=mapping)
        except IntegrityError:
            raise CommandError(f"Another project already uses the short name {slug!r}; nothing was imported.") from None
        except ValidationError as error:
            raise CommandError(f"Nothing was imported: {' '.join(error.messages)}") from None
        self.stdout.write(
            f"Imported into {result.project.slug}: {result.transcripts} transcripts, {result.codes} codes, "
            f"{result.excerpts} excerpts with {result.applications} codes applied, {result.memos} memos, "
            f"{result.participants} participants, {result.attributes} attributes; "
            f"{result.accounts_created} inactive accounts created, {result.accounts_mapped} users mapped to accounts."
        )
        for note in result.notes:
            self.stdout.write(f"Note: {note}")

    def _mapping(self, prepared: actions.PreparedImport, pairs: list[str]) -> dict:
        User = get_user_model()
        mapping = {}
        for pair in pairs:
            who, sep, username = pair.rpartition("=")
            if not sep:
                raise CommandError(f"--map takes FILE_USER=USERNAME, not {pair!r}.")
            matches = [u for u in prepared.users if who.strip().lower() in (u.name.lower(), u.email.lower(), u.guid)]
            if not matches:
                raise CommandError(f"The file has no user named {who!r}.")
            account = User.objects.filter(username=username.strip()).first()
            if account is None:
                raise CommandError(f"There is no account named {username.strip()!r}.")
            for file_user in matches:
                mapping[file_user.guid] = account
        return mapping
