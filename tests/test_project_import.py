"""Whole REFI-QDA projects brought in as new projects: the samples, awkward text, refusals, users, the pages.

Expected counts are written as literals and checked against the files with lxml XPath, so
neither depends on the reader or the importer under test.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError
from django.test import override_settings
from django.urls import resolve, reverse
from django.utils import timezone
from lxml import etree

from tests.base import BaseTestCase, make_project, make_user, run_worker, started_job
from tests.test_qdpx_format import CODE_GUID, NS, USER_GUID, qdpx, sample, xpath_count
from transcripts import actions, integrity, spans
from transcripts.actions import project_import
from transcripts.interop.qdpx.offsets import UTF16, PositionMap
from transcripts.interop.readers import ImportRefused
from transcripts.models import AuditEvent, Code, CodeApplication, Excerpt, Job, Membership, Memo, Project, Transcript

ROOT = Path(__file__).resolve().parent.parent
SOURCE_GUID = "5b1e2c3d-0000-4000-8000-0000000000f1"
SOURCE_MEMBER = "sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt"


def prepared_from(name: str, data: bytes | None = None) -> actions.PreparedImport:
    data = sample(name) if data is None else data
    return actions.prepare_project_import(actions.read_project_file(name, data), name)


def uploads_kept() -> list[str]:
    """Files waiting in JOBS_DIR: uploads waiting for their preview, confirm or import."""
    folders = [Path(settings.JOBS_DIR)]
    return sorted(path.name for folder in folders if folder.is_dir() for path in folder.iterdir())


def every_row() -> dict[str, int]:
    """How many rows every model of the app (and the accounts) holds."""
    counts = {model.__name__: model.objects.count() for model in apps.get_app_config("transcripts").get_models()}
    counts["User"] = User.objects.count()
    return counts


def qde_root(name: str) -> etree._Element:
    data = sample(name)
    if name.endswith(".qdpx"):
        data = zipfile.ZipFile(io.BytesIO(data)).read("project.qde")
    return etree.fromstring(data)


# The samples ----------------------------------------------------------------------------------------------

# What each sample's import writes, counted by hand from the files (see the XPath cross-check below).
IMPORTED = {
    "qc-1.3.2_demo.qdpx": {"transcripts": 2, "codes": 262, "excerpts": 158, "applications": 205, "memos": 0, "accounts": 1},
    "nvivo-mac-15.0_codes-only.qdpx": {"transcripts": 0, "codes": 262, "excerpts": 0, "applications": 0, "memos": 0, "accounts": 2},
    "atlasti-8.4_standard-project.qde": {"transcripts": 0, "codes": 14, "excerpts": 0, "applications": 0, "memos": 2, "accounts": 3},
}
# The same numbers from the XML: text sources with their text in the file, every code, plain-text
# selections and their codings in those sources, notes, users.
XPATHS = {
    "codes": "/q:Project/q:CodeBook//q:Code",
    "excerpts": "/q:Project/q:Sources/q:TextSource/q:PlainTextSelection",
    "applications": "/q:Project/q:Sources/q:TextSource/q:PlainTextSelection/q:Coding",
    "memos": "/q:Project/q:Notes/q:Note",
    "accounts": "/q:Project/q:Users/q:User",
}


class SampleImportTests(BaseTestCase):
    def imported(self, name: str, slug: str) -> actions.ImportResult:
        return actions.import_project(prepared_from(name), name=name, slug=slug, by=self.alice)

    def test_the_literal_counts_are_what_the_files_hold(self):
        for name, expected in IMPORTED.items():
            root = qde_root(name)
            with self.subTest(name=name):
                from_xml = {key: xpath_count(root, path) for key, path in XPATHS.items()}
                # The ATLAS.ti .qde and the NVivo .qdpx carry no source text (a bare .qde; 1-byte .txt
                # members), so their selections and codings cannot come in.
                if name != "qc-1.3.2_demo.qdpx":
                    from_xml["excerpts"] = from_xml["applications"] = 0
                assert from_xml == {key: expected[key] for key in XPATHS}

    def test_each_sample_imports_with_the_counts_its_file_holds(self):
        for number, (name, expected) in enumerate(IMPORTED.items()):
            with self.subTest(name=name):
                result = self.imported(name, f"sample-{number}")
                project = result.project
                assert {
                    "transcripts": project.transcripts.count(),
                    "codes": project.codes.count(),
                    "excerpts": Excerpt.objects.filter(transcript__project=project).count(),
                    "applications": CodeApplication.objects.filter(excerpt__transcript__project=project).count(),
                    "memos": project.memos.count(),
                    "accounts": project.memberships.filter(role=Membership.Role.CODER).count(),
                } == expected
                assert project.memberships.get(user=self.alice).role == Membership.Role.LEAD

    def test_every_qc_excerpt_quotes_the_file_text_at_the_file_positions(self):
        result = self.imported("qc-1.3.2_demo.qdpx", "qc-demo")
        archive = zipfile.ZipFile(io.BytesIO(sample("qc-1.3.2_demo.qdpx")))
        root = qde_root("qc-1.3.2_demo.qdpx")
        expected = set()
        for source in root.xpath("/q:Project/q:Sources/q:TextSource", namespaces=NS):
            text = archive.read("sources/" + source.get("plainTextPath")).decode("utf-8")
            for selection in source.xpath("q:PlainTextSelection", namespaces=NS):
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                code_guids = frozenset(ref.get("targetGUID").lower() for ref in selection.xpath("q:Coding/q:CodeRef", namespaces=NS))
                expected.add((source.get("plainTextPath").removesuffix(".txt"), start, end, text[start:end], code_guids))
        stored = set()
        for excerpt in Excerpt.objects.filter(transcript__project=result.project).select_related("transcript").prefetch_related("codes"):
            assert excerpt.quote == excerpt.transcript.text[excerpt.start : excerpt.end]
            guids = frozenset(str(code.guid) for code in excerpt.codes.all())
            stored.add((excerpt.transcript.title, excerpt.start, excerpt.end, excerpt.quote, guids))
        assert len(expected) == 158 and stored == expected
        assert integrity.check_against_trail(result.project) == []  # each excerpt is on the audit trail as imported

    def test_the_code_tree_and_its_guids_come_in_whole(self):
        result = self.imported("qc-1.3.2_demo.qdpx", "qc-demo")
        root = qde_root("qc-1.3.2_demo.qdpx")
        in_file = {
            (code.get("guid").lower(), code.get("name"), (code.getparent().get("guid") or "").lower())
            for code in root.xpath("//q:CodeBook//q:Code", namespaces=NS)
        }
        stored = {(str(c.guid), c.name, str(c.parent.guid) if c.parent else "") for c in result.project.codes.select_related("parent")}
        assert stored == in_file

    def test_a_second_project_keeps_the_same_guids(self):
        first = self.imported("qc-1.3.2_demo.qdpx", "qc-one").project
        second = self.imported("nvivo-mac-15.0_codes-only.qdpx", "qc-two").project
        guids = set(first.codes.values_list("guid", flat=True))
        assert len(guids) == 262 and set(second.codes.values_list("guid", flat=True)) == guids
        # A codebook import into a third project keeps them too.
        third = make_project(self.alice, name="Third", slug="third")
        from transcripts.interop import refi

        themes = refi.read_codebook("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx")).themes
        actions.apply_import(third, themes, by=self.alice, source="qc")
        assert set(third.codes.values_list("guid", flat=True)) == guids

    def test_atlas_ti_notes_become_project_memos_and_sets_are_said_to_be_left_out(self):
        prepared = prepared_from("atlasti-8.4_standard-project.qde")
        assert prepared.left_out_sentence() == (
            "2 PDF sources, 1 picture source, 1 audio source, 2 video sources, 6 text sources whose text is not in the file, "
            "6 selections in text sources whose text is not in the file, 4 PDF selections, 1 picture selection, "
            "2 video selections, 3 transcripts of audio or video sources, 16 sets, 1 graph and 1 link are not imported."
        )
        assert any("named like attributes (“gender: male”)" in note for note in prepared.notes)
        result = actions.import_project(prepared, name="ATLAS", slug="atlas", by=self.alice)
        titles = set(result.project.memos.values_list("title", "transcript", "code"))
        assert titles == {("Research Plan", None, None), ("My favorite Coke ad", None, None)}
        event = AuditEvent.objects.get(project=result.project, verb="project.imported")
        assert event.after["codes"] == 14 and "16 sets" in event.after["left_out"]


# Awkward text and positions --------------------------------------------------------------------------------

RAW = "Q: How was it?\r\nAna:\u00a0I felt 💪 after the\u2009group.\r\ne\u0301te\u0301 🙌 then\x07 work.\r\n"
WORDS = ("I felt 💪 after", "group.\r\ne\u0301te\u0301", "🙌 then\x07 work", "it?\r\n")


def project_file(positions: list[tuple[int, int]], origin: str, *, text: str = RAW, notes: str = "") -> bytes:
    selections = "".join(
        f'<PlainTextSelection guid="5b1e2c3d-0000-4000-8000-0000000001{i:02d}" startPosition="{s}" endPosition="{e}" '
        f'creatingUser="{USER_GUID}">'
        f'<Coding guid="5b1e2c3d-0000-4000-8000-0000000002{i:02d}" creatingUser="{USER_GUID}"><CodeRef targetGUID="{CODE_GUID}"/></Coding>'
        "</PlainTextSelection>"
        for i, (s, e) in enumerate(positions)
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="Awkward study" origin="{origin}">'
        f'<Users><User guid="{USER_GUID}" name="Ana R." id="ana@example.org"/></Users>'
        f'<CodeBook><Codes><Code guid="{CODE_GUID}" name="Energy" isCodable="true"/></Codes></CodeBook>'
        f'<Sources><TextSource guid="{SOURCE_GUID}" name="Ana" plainTextPath="internal://{SOURCE_MEMBER[8:]}">{selections}</TextSource></Sources>'
        f"{notes}</Project>"
    )
    return qdpx(xml, {SOURCE_MEMBER: b"\xef\xbb\xbf" + text.encode()})


def spans_of(words=WORDS, text: str = RAW) -> list[tuple[int, int]]:
    return [(text.index(word), text.index(word) + len(word)) for word in words]


class AwkwardTextTests(BaseTestCase):
    def excerpt_quotes(self, data: bytes, slug: str) -> list[str]:
        result = actions.import_project(prepared_from("awkward.qdpx", data), name="Awkward", slug=slug, by=self.alice)
        transcript = result.project.transcripts.get()
        assert transcript.text == spans.normalize_text(RAW)
        return [e.quote for e in Excerpt.objects.filter(transcript=transcript).order_by("start")]

    def test_code_point_positions_through_crlf_nbsp_accents_and_emoji(self):
        quotes = self.excerpt_quotes(project_file(spans_of(), "MAXQDA 2024"), "cp")
        assert quotes == [
            "it?\n",
            "I felt 💪 after",
            "group.\n\u00e9t\u00e9",  # CRLF one line feed; e + combining acute composed, as every transcript is
            "🙌 then work",  # the bell character is removed from every imported text
        ]
        assert quotes == sorted((spans.normalize_text(RAW[s:e]) for s, e in spans_of()), key=spans.normalize_text(RAW).index)

    def test_utf16_positions_from_nvivo_for_windows_quote_what_was_highlighted(self):
        positions = PositionMap(RAW)
        units = [(positions.from_code_points(s, UTF16), positions.from_code_points(e, UTF16)) for s, e in spans_of()]
        assert units != spans_of()  # the emoji make the two countings differ
        prepared = prepared_from("windows.qdpx", project_file(units, "NVivo 14 for Windows"))
        assert prepared.project.offset_reading == UTF16
        assert "Selection positions read as UTF-16 code units." in prepared.preview_lines()
        quotes = self.excerpt_quotes(project_file(units, "NVivo 14 for Windows"), "utf16")
        assert quotes == ["it?\n", "I felt 💪 after", "group.\n\u00e9t\u00e9", "🙌 then work"]

    def test_the_offset_map_rounds_outwards_inside_merged_characters(self):
        text, down, up = spans.normalize_with_map("a\r\nb\u00a0e\u0301\x01😀")
        assert text == "a\nb\u00a0\u00e9😀"
        assert (down[2], up[2]) == (1, 2)  # between CR and LF: the line feed is held whole
        assert (down[6], up[6]) == (4, 5)  # between e and its accent
        assert (down[7], up[7], down[8], up[8]) == (5, 5, 5, 5)  # the removed control character
        assert len(down) == len("a\r\nb\u00a0e\u0301\x01😀") + 1 and down[-1] == up[-1] == len(text)

    def test_a_selection_of_nothing_but_removed_characters_is_left_out_and_said(self):
        bell = RAW.index("\x07")
        prepared = prepared_from("bell.qdpx", project_file([(bell, bell + 1), *spans_of()[:1]], "MAXQDA 2024"))
        assert [len(s.spans) for s in prepared.sources] == [1]
        assert any("1 selection in “Ana” held only characters" in note for note in prepared.notes)


# Refusals leave nothing ------------------------------------------------------------------------------------


class RefusalTests(BaseTestCase):
    def assert_refused(self, name: str, data: bytes, wanted: str) -> None:
        before = every_row()
        with self.assertRaises(ImportRefused) as caught:
            prepared_from(name, data)
        assert wanted in caught.exception.message, caught.exception.message
        assert every_row() == before

    def test_files_that_cannot_be_imported_are_refused_by_name_with_nothing_saved(self):
        text = {SOURCE_MEMBER: RAW.encode()}
        xml = zipfile.ZipFile(io.BytesIO(project_file(spans_of(), "MAXQDA"))).read("project.qde").decode()
        self.assert_refused("study.qdpx", b"<Project/>", "is not a zip archive")
        self.assert_refused("study.qdpx", qdpx("<x/>", qde_name="readme.txt"), "no project.qde")
        self.assert_refused("study.qdpx", qdpx("<Project name='x'><Users>"), "does not parse")
        self.assert_refused(
            "bomb.qdpx", qdpx('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><Project name="&a;"/>'), "declares a DTD"
        )
        self.assert_refused("long.qdpx", qdpx(xml.replace('endPosition="', 'endPosition="9'), text), "not inside the source")
        ghost = xml.replace(f'<CodeRef targetGUID="{CODE_GUID}"/>', '<CodeRef targetGUID="5b1e2c3d-0000-4000-8000-00000000dead"/>')
        self.assert_refused("ghost.qdpx", qdpx(ghost, text), "not in the codebook")

    @override_settings(PROJECT_ARCHIVE_MAX_BYTES=100_000)
    def test_the_limit_counts_project_text_only_and_names_its_setting(self):
        video = os.urandom(1_000_000)  # does not compress, is never read
        xml = zipfile.ZipFile(io.BytesIO(project_file(spans_of(), "MAXQDA"))).read("project.qde").decode()
        xml = xml.replace("</Sources>", '<VideoSource guid="5b1e2c3d-0000-4000-8000-0000000000f2" path="internal://clip.mp4"/></Sources>')
        prepared = prepared_from("media.qdpx", qdpx(xml, {SOURCE_MEMBER: RAW.encode(), "sources/clip.mp4": video}))
        assert prepared.left_out_sentence() == "1 video source is not imported."
        long_text = (RAW * 10_000).encode()
        self.assert_refused(
            "big.qdpx", qdpx(xml, {SOURCE_MEMBER: long_text}), "limit for project archives (the setting PROJECT_ARCHIVE_MAX_MB)"
        )

    def test_a_failure_half_way_through_the_import_leaves_nothing(self):
        prepared = prepared_from("qc-1.3.2_demo.qdpx")
        before = every_row()
        with mock.patch.object(project_import, "_import_notes", side_effect=RuntimeError("disk full")):
            with self.assertRaises(RuntimeError):
                actions.import_project(prepared, name="QC", slug="qc", by=self.alice)
        assert every_row() == before
        with self.assertRaises(IntegrityError):
            actions.import_project(prepared, name="QC", slug=self.project.slug, by=self.alice)
        assert every_row() == before

    def test_the_limit_setting_is_checked_at_start_up(self):
        for value, message in (("lots", "PROJECT_ARCHIVE_MAX_MB must be a whole number"), ("0", "PROJECT_ARCHIVE_MAX_MB must be at least 1")):
            env = dict(os.environ, PROJECT_ARCHIVE_MAX_MB=value)
            env.pop("DATABASE_URL", None)
            result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert result.returncode != 0 and message in result.stderr


# Users ----------------------------------------------------------------------------------------------------


class UserTests(BaseTestCase):
    def test_unmapped_users_get_inactive_accounts_that_cannot_log_in(self):
        result = actions.import_project(prepared_from("nvivo-mac-15.0_codes-only.qdpx"), name="N", slug="n", by=self.alice)
        imported = User.objects.filter(memberships__project=result.project, memberships__role=Membership.Role.CODER).order_by("username")
        assert [(u.username, u.first_name, u.last_name) for u in imported] == [
            ("chrisp-imported", "chrisp", "(imported from NVivo for Mac)"),
            ("cp-imported", "cp", "(imported from NVivo for Mac)"),
        ]
        for account in imported:
            assert not account.is_active and not account.has_usable_password()
            for password in ("", "!", account.password):
                response = self.client.post(reverse("login"), {"username": account.username, "password": password})
                assert response.status_code == 200 and "_auth_user_id" not in self.client.session
        # A second import names the new accounts apart.
        again = actions.import_project(prepared_from("nvivo-mac-15.0_codes-only.qdpx"), name="N2", slug="n2", by=self.alice)
        assert set(again.project.memberships.exclude(user=self.alice).values_list("user__username", flat=True)) == {
            "chrisp-imported-2",
            "cp-imported-2",
        }

    def test_a_file_user_mapped_to_an_account_becomes_the_coder_of_their_excerpts(self):
        ana = make_user("ana", email="ANA@example.org")
        prepared = prepared_from("awkward.qdpx", project_file(spans_of(), "MAXQDA 2024"))
        (file_user,) = prepared.users
        assert file_user.candidates == [ana]  # matched by e-mail, in any case
        result = actions.import_project(prepared, name="A", slug="a", by=self.alice, mapping={file_user.guid: ana})
        excerpts = Excerpt.objects.filter(transcript__project=result.project)
        assert excerpts.count() == 4 and set(excerpts.values_list("coder", flat=True)) == {ana.pk}
        assert set(CodeApplication.objects.filter(excerpt__in=excerpts).values_list("applied_by", flat=True)) == {ana.pk}
        assert result.project.memberships.get(user=ana).role == Membership.Role.CODER
        assert result.accounts_created == 0 and User.objects.filter(username__endswith="-imported").count() == 0

    def test_notes_land_on_the_project_the_transcript_the_code_and_the_excerpt(self):
        def note(guid: str, name: str) -> str:
            return f'<Note guid="{guid}" name="{name}" creatingUser="{USER_GUID}"><PlainTextContent>{name} text</PlainTextContent></Note>'

        notes = "<Notes>" + "".join(note(f"5b1e2c3d-0000-4000-8000-00000000030{i}", n) for i, n in enumerate(["Journal", "On Ana", "On code", "On excerpt"])) + "</Notes>"
        xml = zipfile.ZipFile(io.BytesIO(project_file(spans_of(), "MAXQDA"))).read("project.qde").decode()
        xml = xml.replace("</Sources>", "</Sources>" + notes)
        xml = xml.replace('name="Energy" isCodable="true"/>', 'name="Energy" isCodable="true"><NoteRef targetGUID="5b1e2c3d-0000-4000-8000-000000000302"/></Code>')
        xml = xml.replace(f'name="Ana" plainTextPath="internal://{SOURCE_MEMBER[8:]}">', f'name="Ana" plainTextPath="internal://{SOURCE_MEMBER[8:]}"><NoteRef targetGUID="5b1e2c3d-0000-4000-8000-000000000301"/>')
        xml = xml.replace('creatingUser="' + USER_GUID + '"><Coding guid="5b1e2c3d-0000-4000-8000-000000000200"', 'creatingUser="' + USER_GUID + '"><NoteRef targetGUID="5b1e2c3d-0000-4000-8000-000000000303"/><Coding guid="5b1e2c3d-0000-4000-8000-000000000200"', 1)
        xml = xml.replace("</Project>", '<NoteRef targetGUID="5b1e2c3d-0000-4000-8000-000000000300"/></Project>')
        result = actions.import_project(prepared_from("notes.qdpx", qdpx(xml, {SOURCE_MEMBER: RAW.encode()})), name="N", slug="n", by=self.alice)
        memos = {m.title: (m.transcript_id, m.code_id) for m in Memo.objects.filter(project=result.project)}
        transcript = result.project.transcripts.get()
        code = result.project.codes.get()
        assert memos == {"Journal": (None, None), "On Ana": (transcript.pk, None), "On code": (None, code.pk)}
        first = Excerpt.objects.filter(transcript=transcript, start=transcript.text.index("I felt")).get()
        assert first.memo == "On excerpt: On excerpt text"
        assert integrity.check_against_trail(result.project) == []


# Code names that must change ---------------------------------------------------------------------------------


class CodeNameTests(BaseTestCase):
    def test_two_siblings_of_one_long_name_are_numbered_within_the_limit(self):
        long = "x" * 120
        codes = f'<Code guid="{CODE_GUID}" name="{long}" isCodable="true"/><Code guid="5b1e2c3d-0000-4000-8000-000000000009" name="{long.upper()}" isCodable="true"/>'
        xml = (
            f'<Project xmlns="urn:QDA-XML:project:1.0" name="Twins"><CodeBook><Codes>{codes}</Codes></CodeBook></Project>'
        )
        prepared = prepared_from("twins.qde", xml.encode())
        assert "1 code shared a name with a sibling and were numbered." in prepared.notes
        result = actions.import_project(prepared, name="Twins", slug="twins", by=self.alice)
        assert sorted(result.project.codes.values_list("name", flat=True)) == ["X" * 116 + " (2)", long]

    def test_the_codebook_import_numbers_long_twins_within_the_limit_in_the_preview(self):
        from transcripts.interop.codebook import Theme

        long = "y" * 120
        themes = [Theme(name=long, guid="5b1e2c3d-0000-4000-8000-000000000011"), Theme(name=long, guid="5b1e2c3d-0000-4000-8000-000000000012")]
        plan = actions.plan_import(self.project, themes)
        assert [p.path[-1] for p in plan] == [long, "y" * 116 + " (2)"]
        created, _ = actions.apply_import(self.project, themes, by=self.alice, source="twins.qdc")
        assert created == 2 and self.project.codes.filter(name="y" * 116 + " (2)").exists()


# The pages ----------------------------------------------------------------------------------------------------


class PageTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.alice.user_permissions.add(Permission.objects.get(codename="start_project"))

    def setUp(self) -> None:
        folder = self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-import-"))
        self.enterContext(override_settings(DATA_DIR=Path(folder)))
        self.client.force_login(self.alice)

    def upload(self, name: str, data: bytes) -> Job:
        """Upload the file (committing, so the preview's task is queued) and return the preview job, not yet run."""
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("project_import"), {"file": SimpleUploadedFile(name, data)})
        self.assertEqual(response.status_code, 302, response.content[:500])
        match = resolve(response["Location"])
        self.assertEqual(match.url_name, "project_import_preview")
        return Job.objects.get(pk=match.kwargs["job_id"])

    def previewed(self, name: str, data: bytes):
        """Upload the file, let the worker work out its preview, and return the preview page."""
        job = self.upload(name, data)
        run_worker()
        response = self.client.get(reverse("project_import_preview", args=[job.pk]))
        response.job = job
        return response

    def confirm_url(self, response) -> str:
        return reverse("project_import_confirm", args=[response.job.pk])

    def test_preview_then_import_then_a_second_confirm_imports_nothing(self):
        before = every_row()
        job = self.upload("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
        self.assertEqual((job.kind, job.requested_by, job.status), (Job.Kind.PROJECT_PREVIEW, self.alice, Job.Status.QUEUED))
        self.assertEqual(uploads_kept(), [job.file_name])  # the upload waits in JOBS_DIR for the worker
        waiting = self.client.get(reverse("project_import_preview", args=[job.pk]))
        self.assertContains(waiting, "Reading “qc-1.3.2_demo.qdpx”")
        self.assertContains(waiting, f'hx-get="{reverse("job_detail", args=[job.pk])}"')  # the progress bar polls
        self.assertNotContains(waiting, "project-import-confirm")
        run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.done, job.total), (Job.Status.DONE, 3, 3))  # the file read, then 2 sources
        response = self.client.get(reverse("project_import_preview", args=[job.pk]))
        self.assertContains(response, "Preview of “qc-1.3.2_demo.qdpx”")
        self.assertContains(response, "<th scope=\"row\">Selections (excerpts)</th><td class=\"num\">158</td>", html=False)
        self.assertContains(response, "Selection positions were read as code points.")
        self.assertContains(response, "Nothing is left out")
        assert {model: n for model, n in every_row().items() if model != "Job"} == {
            model: n for model, n in before.items() if model != "Job"
        }
        form = {"name": "QC demo", "slug": "qc-demo", "description": "", "user-0": "new"}
        confirm = reverse("project_import_confirm", args=[job.pk])
        with self.captureOnCommitCallbacks(execute=True):
            started = self.client.post(confirm, form)
        imported = Job.objects.get(pk=resolve(started["Location"]).kwargs["job_id"])
        self.assertEqual(
            (imported.kind, imported.requested_by, imported.project, imported.status),
            (Job.Kind.PROJECT_IMPORT, self.alice, None, "queued"),
        )
        self.assertEqual(uploads_kept(), [imported.file_name])  # handed over, not copied
        assert not Project.objects.filter(slug="qc-demo").exists()
        # A second confirm (a double click, a second tab) while the import waits imports nothing.
        rows = every_row()
        again = self.client.post(confirm, dict(form, slug="qc-demo-again"), follow=True)
        self.assertContains(again, "This preview was already imported; nothing more was imported.")
        assert every_row() == rows
        run_worker()
        imported.refresh_from_db()
        project = Project.objects.get(slug="qc-demo")
        self.assertEqual((imported.status, imported.project, imported.file_name), (Job.Status.DONE, project, ""))
        assert Excerpt.objects.filter(transcript__project=project).count() == 158
        assert project.memberships.get(user=self.alice).role == Membership.Role.LEAD
        self.assertEqual(uploads_kept(), [])
        page = self.client.get(reverse("job_detail", args=[imported.pk]))
        self.assertContains(page, "Project “QC demo” imported: ")
        self.assertContains(page, "158 excerpts")
        self.assertContains(page, reverse("project_detail", args=["qc-demo"]))
        rows = every_row()
        again = self.client.post(confirm, dict(form, slug="qc-demo-again"), follow=True)
        self.assertContains(again, "already imported")
        assert every_row() == rows and not Project.objects.filter(slug="qc-demo-again").exists()
        assert Project.objects.filter(name="QC demo").count() == 1

    def test_two_confirms_of_one_preview_start_one_import(self):
        response = self.previewed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
        preview = response.job
        preview.refresh_from_db()
        stale = Job.objects.get(pk=preview.pk)  # what a second request read before the first confirm wrote
        fields = {"name": "Q", "slug": "q", "description": "", "mapping": {}}
        with self.captureOnCommitCallbacks(execute=True):
            first = actions.confirm_project_preview(preview, by=self.alice, **fields)
            second = actions.confirm_project_preview(stale, by=self.alice, **dict(fields, slug="q2"))
        assert first is not None and second is None
        assert Job.objects.filter(kind=Job.Kind.PROJECT_IMPORT).count() == 1
        run_worker()
        assert Project.objects.filter(slug="q").exists() and not Project.objects.filter(slug="q2").exists()

    def test_the_preview_page_follows_the_job_then_moves_to_the_preview(self):
        job = self.upload("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
        poll = reverse("job_detail", args=[job.pk])
        waiting = self.client.get(poll, headers={"HX-Request": "true", "HX-Target": f"job-{job.pk}"})
        self.assertContains(waiting, "Waiting to start")
        self.assertNotContains(waiting, "<html")
        self.assertRedirects(self.client.get(poll), reverse("project_import_preview", args=[job.pk]))
        run_worker()
        done = self.client.get(poll, headers={"HX-Request": "true", "HX-Target": f"job-{job.pk}"})
        self.assertEqual(done["HX-Redirect"], reverse("project_import_preview", args=[job.pk]))

    def test_the_preview_says_what_is_left_out_and_how_much(self):
        response = self.previewed("atlasti-8.4_standard-project.qde", sample("atlasti-8.4_standard-project.qde"))
        self.assertContains(response, "16 sets, 1 graph and 1 link are not imported.")
        self.assertContains(response, "2 PDF sources, 1 picture source, 1 audio source, 2 video sources")
        self.assertContains(response, "Friedrich Markgraf")

    def test_a_refused_file_is_named_and_nothing_is_kept(self):
        before = every_row()
        response = self.previewed("broken.qdpx", b"not a zip")
        self.assertContains(response, "Nothing was imported: “broken.qdpx” is not a zip archive")
        self.assertContains(response, 'id="file-errors"')  # where the preview would be, above a new upload
        self.assertContains(response, 'id="project-import-form"')
        self.assertNotContains(response, "project-import-confirm")
        response.job.refresh_from_db()
        self.assertEqual((response.job.status, response.job.file_name), (Job.Status.FAILED, ""))
        assert {model: n for model, n in every_row().items() if model != "Job"} == {
            model: n for model, n in before.items() if model != "Job"
        }
        self.assertEqual(uploads_kept(), [])
        confirm = self.client.post(self.confirm_url(response), {"name": "Q", "slug": "q", "user-0": "new"})
        self.assertRedirects(confirm, reverse("project_import_preview", args=[response.job.pk]), fetch_redirect_response=False)
        assert not Project.objects.filter(slug="q").exists()

    def test_a_hostile_file_is_refused_by_name_in_the_preview(self):
        bomb = qdpx('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><Project name="&a;"/>')
        response = self.previewed("bomb.qdpx", bomb)
        self.assertContains(response, "declares a DTD")
        self.assertEqual(uploads_kept(), [])

    def test_a_preview_that_fails_in_the_worker_says_so_without_the_error(self):
        job = self.upload("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
        with mock.patch("transcripts.actions.background_imports.prepare_project_import", side_effect=RuntimeError("disk full")), \
                self.assertLogs("transcripts.jobs", "ERROR"):
            run_worker()
        page = self.client.get(reverse("project_import_preview", args=[job.pk]))
        self.assertContains(page, "Something went wrong while reading this project file, and nothing was imported.")
        self.assertNotContains(page, "disk full")
        self.assertEqual(uploads_kept(), [])

    def test_an_expired_preview_imports_nothing_and_its_upload_goes(self):
        response = self.previewed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
        Job.objects.filter(pk=response.job.pk).update(finished_at=timezone.now() - timedelta(hours=2))
        confirm = self.client.post(self.confirm_url(response), {"name": "Q", "slug": "q", "user-0": "new"}, follow=True)
        self.assertContains(confirm, "This preview expired; nothing was imported.")
        assert not Job.objects.filter(kind=Job.Kind.PROJECT_IMPORT).exists() and uploads_kept() == []

    def test_a_taken_slug_another_persons_preview_or_an_odd_account_imports_nothing(self):
        response = self.previewed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
        url = self.confirm_url(response)
        before = every_row()
        taken = self.client.post(url, {"name": "Q", "slug": self.project.slug, "user-0": "new"})
        self.assertContains(taken, "already uses the short name")
        # Another person's preview is not theirs to see or confirm, even if they may start projects.
        self.client.force_login(self.oscar)
        self.oscar.user_permissions.add(Permission.objects.get(codename="start_project"))
        self.assertEqual(self.client.post(url, {"name": "Q", "slug": "q", "user-0": "new"}).status_code, 404)
        self.assertEqual(self.client.get(reverse("project_import_preview", args=[response.job.pk])).status_code, 404)
        # Only the accounts offered may be chosen for a file's user.
        self.client.force_login(self.alice)
        odd = self.client.post(url, {"name": "Q", "slug": "q", "user-0": str(self.oscar.pk)})
        self.assertContains(odd, "Choose for each user in the file one of the accounts offered.")
        assert every_row() == before

    def test_another_kind_of_job_is_no_preview(self):
        job = self.confirmed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"), "q")
        self.assertEqual(self.client.get(reverse("project_import_preview", args=[job.pk])).status_code, 404)
        self.assertEqual(self.client.post(reverse("project_import_confirm", args=[job.pk]), {}).status_code, 404)

    def confirmed(self, name: str, data: bytes, slug: str) -> Job:
        response = self.previewed(name, data)
        form = {"name": "Q", "slug": slug, "description": "", "user-0": "new"}
        return started_job(self, self.confirm_url(response), form)

    def test_an_import_that_fails_in_the_worker_saves_nothing_and_says_why(self):
        before = every_row()
        job = self.confirmed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"), "q")
        with mock.patch.object(project_import, "_import_notes", side_effect=RuntimeError("disk full")), \
                self.assertLogs("transcripts.jobs", "ERROR"):
            run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.project, job.file_name), (Job.Status.FAILED, None, ""))
        page = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertContains(page, 'role="alert"')
        self.assertContains(page, "Something went wrong while importing this project, and nothing was imported.")
        self.assertContains(page, "Upload the project file again")
        self.assertNotContains(page, "disk full")
        self.assertNotContains(page, "Start it again")  # the upload is gone: a new one is asked for
        self.assertEqual(uploads_kept(), [])
        assert {model: n for model, n in every_row().items() if model not in ("Job", "AuditEvent")} == {
            model: n for model, n in before.items() if model not in ("Job", "AuditEvent")
        }
        assert not Project.objects.filter(slug="q").exists()
        assert not AuditEvent.objects.filter(verb="project.imported").exists()

    def test_a_short_name_taken_while_the_import_waited_is_said_and_nothing_is_saved(self):
        job = self.confirmed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"), "q")
        make_project(self.bob, name="Taken meanwhile", slug="q")
        before = every_row()
        run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, Job.Status.FAILED)
        self.assertContains(self.client.get(reverse("job_detail", args=[job.pk])), "Nothing was imported: another project already uses the short name “q”")
        assert every_row() == before

    def test_a_file_the_worker_refuses_is_named_in_the_error(self):
        job = self.confirmed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"), "q")
        job.path.write_bytes(b"not a zip")  # what the worker reads is what it checks
        run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, Job.Status.FAILED)
        self.assertIn("Nothing was imported: “qc-1.3.2_demo.qdpx” is not a zip archive", job.message)
        assert not Project.objects.filter(slug="q").exists() and uploads_kept() == []

    def test_only_the_person_who_imported_sees_how_it_went(self):
        job = self.confirmed("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"), "q")
        url = reverse("job_detail", args=[job.pk])
        for user in (self.bob, self.rita, self.oscar):  # while it waits
            self.client.force_login(user)
            self.assertEqual(self.client.get(url).status_code, 404)
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(url), "Waiting to start")
        run_worker()
        project = Project.objects.get(slug="q")
        actions.set_role(project, self.bob, Membership.Role.LEAD, by=self.alice)
        self.client.force_login(self.bob)  # once done, not even another lead of the new project
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertNotContains(self.client.get(reverse("project_detail", args=["q"])), url)
        self.client.force_login(self.oscar)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(url), "imported: ")
        self.assertContains(self.client.get(reverse("project_detail", args=["q"])), url)

    def test_only_those_who_may_start_projects_may_import_one(self):
        self.client.force_login(self.bob)
        assert self.client.get(reverse("project_import")).status_code == 403
        job = Job.objects.create(
            requested_by=self.bob, kind=Job.Kind.PROJECT_PREVIEW, expires_at=timezone.now() + timedelta(hours=1)
        )
        assert self.client.get(reverse("project_import_preview", args=[job.pk])).status_code == 403
        assert self.client.post(reverse("project_import_confirm", args=[job.pk]), {}).status_code == 403


class CommandTests(BaseTestCase):
    def test_the_command_prints_the_preview_then_the_result(self):
        out = io.StringIO()
        with tempfile.NamedTemporaryFile(suffix=".qde") as handle:
            handle.write(sample("atlasti-8.4_standard-project.qde"))
            handle.flush()
            call_command("import_project", handle.name, "--slug", "atlas", "--lead", "alice", "--map", "Friedrich Markgraf=bob", stdout=out)
        text = out.getvalue()
        assert "Comes in: 0 sources, 14 codes, 0 selections, 0 codings, 2 notes, 0 cases, 0 variables and 3 users." in text
        assert "16 sets, 1 graph and 1 link are not imported." in text
        assert "User Friedrich Markgraf becomes the account bob." in text
        assert "Imported into atlas: 0 transcripts, 14 codes" in text
        project = Project.objects.get(slug="atlas")
        assert project.memberships.get(user=self.bob).role == Membership.Role.CODER
        assert Transcript.objects.filter(project=project).count() == 0 and Code.objects.filter(project=project).count() == 14


class CodebookPreviewTests(BaseTestCase):
    def test_a_project_file_on_the_codebook_page_says_what_it_leaves_out_and_how_much(self):
        root = qde_root("atlasti-8.4_standard-project.qde")
        counted = [xpath_count(root, f"//q:{kind}") for kind in ("TextSource", "PlainTextSelection", "Coding", "Note", "Set")]
        assert counted == [6, 8, 16, 2, 16]
        self.client.force_login(self.alice)
        for name in ("atlasti-8.4_standard-project.qde", "qc-1.3.2_demo.qdpx"):
            response = self.client.post(reverse("codebook_import", args=[self.project.slug]), {"file": SimpleUploadedFile(name, sample(name))})
            with self.subTest(name=name):
                if name.endswith(".qde"):
                    self.assertContains(
                        response,
                        "Only the codebook is imported here: 6 text sources, 8 text selections, 16 codings, 2 notes, "
                        "2 PDF sources, 1 picture source, 1 audio source, 2 video sources, 4 PDF selections, "
                        "1 picture selection, 2 video selections, 3 transcripts of audio or video sources, 16 sets, "
                        "1 graph and 1 link in the file are not.",
                    )
                else:
                    self.assertContains(response, "Only the codebook is imported here: 2 text sources, 158 text selections and 205 codings in the file are not.")


class CaseTests(BaseTestCase):
    def test_cases_become_participants_with_typed_attributes_and_their_sources(self):
        g = "5b1e2c3d-0000-4000-8000-0000000004{:02d}".format
        variables = (
            f'<Variables><Variable guid="{g(1)}" name="Role" typeOfVariable="Text"/>'
            f'<Variable guid="{g(2)}" name="Years" typeOfVariable="Integer"/>'
            f'<Variable guid="{g(3)}" name="Paid" typeOfVariable="Boolean"/>'
            f'<Variable guid="{g(4)}" name="Interviewed" typeOfVariable="Date"/></Variables>'
        )

        def value(n: int, kind: str, written: str) -> str:
            return f'<VariableValue><VariableRef targetGUID="{g(n)}"/><{kind}Value>{written}</{kind}Value></VariableValue>'

        cases = (
            f'<Cases><Case guid="{g(10)}" name="P07">{value(1, "Text", "peer worker")}{value(2, "Integer", "4")}'
            f'{value(3, "Boolean", "1")}{value(4, "Date", "2024-05-01")}<SourceRef targetGUID="{SOURCE_GUID}"/></Case>'
            f'<Case guid="{g(11)}" name="P08">{value(2, "Integer", "many")}</Case></Cases>'
        )
        xml = zipfile.ZipFile(io.BytesIO(project_file(spans_of(), "QualCoder 3.5"))).read("project.qde").decode()
        xml = xml.replace("<Sources>", variables + cases + "<Sources>")
        prepared = prepared_from("cases.qdpx", qdpx(xml, {SOURCE_MEMBER: RAW.encode()}))
        assert prepared.counts["cases"] == 2 and prepared.counts["variables"] == 4
        assert "1 case value did not fit the variable's type and will be left empty." in prepared.notes
        result = actions.import_project(prepared, name="Cases", slug="cases", by=self.alice)
        project = result.project
        assert list(project.attributes.values_list("name", "kind", "choices")) == [
            ("Role", "text", []), ("Years", "number", []), ("Paid", "choice", ["true", "false"]), ("Interviewed", "date", []),
        ]
        p07 = project.participants.get(label="P07")
        assert {v.attribute.name: v.value for v in p07.values.select_related("attribute")} == {
            "Role": "peer worker", "Years": "4", "Paid": "true", "Interviewed": "2024-05-01",
        }
        assert not project.participants.get(label="P08").values.exists()
        assert project.transcripts.get().participant == p07


class UnattachedNoteTests(BaseTestCase):
    def test_a_note_on_something_not_imported_is_said_to_become_a_project_memo(self):
        note = '<Notes><Note guid="5b1e2c3d-0000-4000-8000-000000000500" name="On a clip"><PlainTextContent>Look at 0:42</PlainTextContent></Note></Notes>'
        clip = '<VideoSource guid="5b1e2c3d-0000-4000-8000-0000000000f2" path="internal://clip.mp4"><NoteRef targetGUID="5b1e2c3d-0000-4000-8000-000000000500"/></VideoSource>'
        xml = zipfile.ZipFile(io.BytesIO(project_file(spans_of(), "MAXQDA"))).read("project.qde").decode()
        xml = xml.replace("</Sources>", clip + "</Sources>" + note)
        prepared = prepared_from("clip.qdpx", qdpx(xml, {SOURCE_MEMBER: RAW.encode()}))
        assert "1 note attached to a video source became a project memo." in prepared.notes
        result = actions.import_project(prepared, name="Clip", slug="clip", by=self.alice)
        assert list(result.project.memos.values_list("title", "body", "transcript", "code")) == [("On a clip", "Look at 0:42", None, None)]
