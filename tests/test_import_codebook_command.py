"""manage.py import_codebook: the codebook page's import, from the command line."""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

from django.core.management import CommandError, call_command

from tests.base import BaseTestCase
from transcripts.interop import refi
from transcripts.interop.codebook import Theme
from transcripts.models import AuditEvent, Code

GUID = str(uuid.uuid4())


class ImportCodebookCommandTests(BaseTestCase):
    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def write(self, name: str, data: bytes) -> str:
        path = Path(self.folder.name) / name
        path.write_bytes(data)
        return str(path)

    def run_command(self, *args) -> str:
        out = io.StringIO()
        call_command("import_codebook", *args, stdout=out)
        return out.getvalue()

    def qdc(self) -> str:
        themes = [
            Theme("Coping", "#1f77b4", GUID, definition="Ways of getting by.", exclusion="Services.",
                  children=[Theme("Humour", "#2ca02c", str(uuid.uuid4()), definition="Jokes at work.")]),
        ]
        return self.write("codebook.qdc", refi.write_qdc(themes))

    def test_a_qdc_creates_its_tree_with_guids_and_fields_under_the_lead(self):
        output = self.run_command(self.project.slug, self.qdc())
        coping = Code.objects.get(project=self.project, name="Coping")
        self.assertEqual(str(coping.guid), GUID)
        self.assertEqual((coping.definition, coping.exclusion, coping.color), ("Ways of getting by.", "Services.", "#1f77b4"))
        self.assertEqual(Code.objects.get(name="Humour").parent, coping)
        self.assertIn("2 codes created, 0 updated", output)
        event = AuditEvent.objects.filter(project_id=self.project.pk).latest("seq")
        self.assertEqual((event.verb, event.actor), ("codebook.imported", self.alice))
        self.assertIn("unchanged", self.run_command(self.project.slug, self.qdc(), "--dry-run"))
        self.assertIn("0 codes created, 0 updated", self.run_command(self.project.slug, self.qdc()))

    def test_a_dry_run_changes_nothing(self):
        before = (Code.objects.count(), AuditEvent.objects.count())
        output = self.run_command(self.project.slug, self.qdc(), "--dry-run")
        self.assertIn("create    Coping / Humour", output)
        self.assertIn("2 to create", output)
        self.assertEqual((Code.objects.count(), AuditEvent.objects.count()), before)

    def test_a_sheet_is_read_and_no_control_character_is_stored(self):
        sheet = "path,definition\nCoping\x01/Peer chats\x0b,Talk\x0bwith peers\x07\n".encode()
        self.run_command(self.project.slug, self.write("codebook.csv", sheet))
        chats = Code.objects.get(project=self.project, name="Peer chats")
        self.assertEqual(chats.parent.name, "Coping")
        self.assertEqual(chats.definition, "Talkwith peers")  # the sheet reader drops them as it reads

    def test_it_refuses_what_it_cannot_use(self):
        for args, message in [
            (["nope", self.qdc()], "no project"),
            ([self.project.slug, self.qdc(), "--lead", "bob"], "not a lead"),
            ([self.project.slug, f"{self.folder.name}/missing.qdc"], "does not exist"),
            ([self.project.slug, self.write("codebook.txt", b"x")], ".qdc, .qdpx, .qde, .csv or .xlsx"),
            ([self.project.slug, self.write("broken.qdc", b"<not xml")], "broken.qdc"),
        ]:
            with self.subTest(args=args), self.assertRaisesMessage(CommandError, message):
                self.run_command(*args)
        self.assertEqual(Code.objects.filter(project=self.project).count(), 1)
