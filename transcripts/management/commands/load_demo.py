"""Load the fictional demo study through the real importers, and make one account per role."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from transcripts import actions
from transcripts.interop.readers import ACCEPTED_FORMATS
from transcripts.actions import import_participant_sheet, import_transcript_file, read_participant_sheet
from transcripts.models import Membership, Project

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
SLUG = "peer-workers-demo"
PASSWORD = "peercoding-demo"
ACCOUNTS = [
    ("pi", "Pat", "Investigator", Membership.Role.LEAD),
    ("dana", "Dana", "Coder", Membership.Role.CODER),
    ("sam", "Sam", "Coder", Membership.Role.CODER),
    ("reader", "Robin", "Reader", Membership.Role.READER),
]


class Command(BaseCommand):
    help = "Load the demo study (fictional transcripts, codebook and coding) and print the demo logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, quiet_logins: bool = False, **options) -> None:
        users = self._accounts()
        if Project.objects.filter(slug=SLUG).exists():
            self.stdout.write(f"The demo study ({SLUG}) is already loaded.")
        else:
            self._load(users)
        if not quiet_logins:
            self.stdout.write("\nDemo logins (password for each: %s):" % PASSWORD)
            for username, first, last, role in ACCOUNTS:
                self.stdout.write(f"  {username:<8} {Membership.Role(role).label}")

    def _accounts(self) -> dict:
        User = get_user_model()
        users = {}
        for username, first, last, _ in ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            users[username] = user
        return users

    def _load(self, users: dict) -> None:
        lead = users["pi"]
        with transaction.atomic():
            project = actions.create_project(
                "Peer workers study (demo)",
                SLUG,
                by=lead,
                description="Fictional demo: 20 interviews with peer workers in substance use disorder services "
                "about what helps them do the work. Written for demonstration; not real interview data.",
            )
            for username, _, _, role in ACCOUNTS[1:]:
                actions.set_role(project, users[username], role, by=lead)

        sheet_path = DEMO_DIR / "participants.csv"
        sheet = read_participant_sheet(sheet_path.name, sheet_path.read_bytes())
        import_participant_sheet(project, sheet, by=lead, kinds={"years_as_peer": "number"})

        files = sorted(p for p in DEMO_DIR.iterdir() if p.suffix.lower() in ACCEPTED_FORMATS)
        for path in files:
            result = import_transcript_file(project, path.name, path.read_bytes(), by=lead)
            if not result.ok:
                raise CommandError(f"The demo file {path.name} was refused: {result.error}")
        self.stdout.write(f"Imported {len(files)} demo transcripts.")

        codes = self._codebook(project, lead)
        n = self._coding(project, codes, users)
        self.stdout.write(f"Loaded the demo codebook ({len(codes)} codes) and {n} demo excerpts.")

    @transaction.atomic
    def _codebook(self, project: Project, lead) -> dict:
        codes = {}

        def add(items, parent=None) -> None:
            for order, item in enumerate(items):
                code = actions.create_code(
                    project,
                    by=lead,
                    parent=parent,
                    name=item["name"],
                    color=item.get("color", "#f4c542"),
                    definition=item.get("definition", ""),
                    inclusion=item.get("inclusion", ""),
                    exclusion=item.get("exclusion", ""),
                    typical_example=item.get("typical_example", ""),
                    atypical_example=item.get("atypical_example", ""),
                    order=order,
                )
                codes[code.name] = code
                add(item.get("children", []), code)

        add(json.loads((DEMO_DIR / "codebook.json").read_text(encoding="utf-8")))
        return codes

    @transaction.atomic
    def _coding(self, project: Project, codes: dict, users: dict) -> int:
        transcripts = {t.participant.label: t for t in project.transcripts.select_related("participant") if t.participant}
        n = 0
        for item in json.loads((DEMO_DIR / "coding.json").read_text(encoding="utf-8")):
            transcript = transcripts[item["transcript"]]
            start = transcript.text.find(item["quote"])
            if start == -1:
                raise CommandError(f"Demo quote not found in {item['transcript']}: {item['quote'][:60]!r}")
            actions.create_excerpt(
                transcript,
                start=start,
                end=start + len(item["quote"]),
                codes=[codes[name] for name in item["codes"]],
                by=users[item["coder"]],
                memo=item.get("memo", ""),
            )
            n += 1
        return n
