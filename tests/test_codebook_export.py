"""Codebook exports (.docx, .qdc), imports (.qdc/.qdpx/.qde, .csv/.xlsx) and the command."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from django.core.management import call_command
from django.urls import reverse
from docx import Document
from docx.oxml.ns import qn
from lxml import etree

from tests.base import BaseTestCase, download_through_a_job, make_code, make_excerpt, make_participant, make_project, make_transcript
from transcripts import actions, codebook
from transcripts.interop import refi
from transcripts.interop.codebook import Theme, walk
from transcripts.interop.docx_writer import TOC_INSTRUCTION, write_docx
from transcripts.interop.readers import ImportRefused
from transcripts.interop.readers.codebook_sheet import parse_codebook_sheet, split_path
from transcripts.models import AuditEvent, Code

REFI = Path("/work/shared/refi-qda")
if not REFI.exists():  # the reference files sit beside the checkout
    REFI = Path(__file__).resolve().parents[2] / "shared" / "refi-qda"
SAMPLES = REFI / "samples"
SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"


def qdc_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(REFI / "Codebook.xsd")))


class ExportTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.coping = make_code(
            cls.project, name="Coping strategies", color="#66bb6a", definition="Ways peers keep going.",
            inclusion="Any strategy.", exclusion="Organisational supports.", order=0,
        )
        cls.community = cls.code
        actions.move_code(cls.community, cls.coping, by=cls.alice)
        actions.change_code(
            cls.community, by=cls.alice, definition="Belonging to a group.", inclusion="Group rituals.",
            exclusion="One-to-one support.", typical_example="We eat lunch together.", atypical_example="Not like other offices.",
            color="#a5d6a7",
        )
        cls.chat = make_code(cls.project, name="Group chat", parent=cls.community, definition="Texting peers.")
        cls.deep = make_code(cls.project, name="Memes", parent=cls.chat, definition="Jokes in the chat.")
        cls.barriers = make_code(cls.project, name="Barriers", color="#ef5350", order=1)
        cls.p08 = make_participant(cls.project, label="P08")
        cls.second = make_transcript(cls.project, title="Interview 8", participant=cls.p08,
                                     text="Interviewer: And then?\nP08: The chat keeps us sane, really.")
        cls.quote_excerpt = make_excerpt(cls.transcript, [cls.community], start=35, end=63)
        make_excerpt(cls.second, [cls.community, cls.chat], start=28, end=46, by=cls.bob)
        application = cls.community.applications.get(excerpt=cls.quote_excerpt)
        actions.set_exemplar(application, True, by=cls.alice)

    def docx(self, **options) -> Document:
        document = codebook.codebook_document(self.project)
        return Document(io.BytesIO(write_docx(document, **options)))


class DocxExportTests(ExportTestCase):
    def test_every_code_is_a_heading_of_its_depth(self):
        doc = self.docx()
        headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith("Heading")]
        assert headings == [
            ("Heading 1", "Coping strategies"),
            ("Heading 2", "Sense of community"),
            ("Heading 3", "Group chat"),
            ("Heading 3", "Memes"),  # deeper subthemes stay at Heading 3
            ("Heading 1", "Barriers"),
            ("Heading 1", "Summary of codes"),
        ]

    def test_fields_counts_and_exemplar_quotes_are_all_there(self):
        text = "\n".join(p.text for p in self.docx().paragraphs)
        for line in (
            "Definition: Belonging to a group.",
            "Inclusion criteria: Group rituals.",
            "Exclusion criteria: One-to-one support.",
            "Typical example: We eat lunch together.",
            "Atypical example: Not like other offices.",
            "Definition: Ways peers keep going.",
            "Exclusion criteria: Organisational supports.",
            "Definition: Jokes in the chat.",
            "Counts: 2 excerpts · 2 transcripts · 2 participants",  # Sense of community
            "Counts: 1 excerpts · 1 transcripts · 1 participants",  # Group chat
            "Counts: 0 excerpts · 0 transcripts · 0 participants",  # Barriers
            f"“{self.quote_excerpt.quote}” — P07 (coded by Alice Lead)",
            "Subtheme of Coping strategies › Sense of community › Group chat",
            "#A5D6A7",
        ):
            assert line in text, line

    def test_the_title_block_names_project_date_and_version(self):
        doc = self.docx()
        assert doc.paragraphs[0].text == "Peer workers study" and doc.paragraphs[0].style.name == "Title"
        facts = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
        n_changes = AuditEvent.objects.filter(codebook.HISTORY_FILTER, project=self.project).count()
        assert facts["Codebook version"].startswith(f"{n_changes} (the number of recorded codebook changes")
        assert facts["Codes"] == "5" and facts["Project"] == "Peer workers study"

    def test_it_has_a_real_toc_field_over_the_headings(self):
        doc = self.docx()
        instructions = [node.text for node in doc.element.body.iter(qn("w:instrText"))]
        assert instructions == [f" {TOC_INSTRUCTION} "]
        kinds = [node.get(qn("w:fldCharType")) for node in doc.element.body.iter(qn("w:fldChar"))]
        assert kinds == ["begin", "separate", "end"]
        assert doc.settings.element.find(qn("w:updateFields")) is not None

    def test_the_summary_tables_header_row_repeats_on_every_page(self):
        table = self.docx().tables[-1]
        assert [cell.text for cell in table.rows[0].cells] == ["Code", "Excerpts", "Transcripts", "Participants"]
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")).get(qn("w:val")) == "true"
        assert all(row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None for row in table.rows[1:])
        rows = {row.cells[0].text: [cell.text for cell in row.cells[1:]] for row in table.rows[1:]}
        assert rows == {
            "Coping strategies": ["0", "0", "0"],
            "Sense of community": ["2", "2", "2"],
            "Group chat": ["1", "1", "1"],
            "Memes": ["0", "0", "0"],
            "Barriers": ["0", "0", "0"],
        }

    def test_quotes_and_counts_can_be_left_out(self):
        doc = self.docx(quotes=False, counts=False)
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "Counts:" not in text and "Exemplar quotes" not in text and self.quote_excerpt.quote not in text
        assert [cell.text for cell in doc.tables[-1].rows[0].cells] == ["Code", "Definition"]

    def test_the_download_is_a_docx_for_every_member(self):
        self.client.force_login(self.rita)
        response = download_through_a_job(self, reverse("codebook_export", args=[self.project.slug]), {"format": "docx", "counts": "on"})
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert 'filename="peer-workers-codebook.docx"' in response["Content-Disposition"]
        text = "\n".join(p.text for p in Document(io.BytesIO(response.getvalue())).paragraphs)
        assert "Counts: 2 excerpts" in text and "Exemplar quotes" not in text

    def test_it_converts_to_pdf_with_libreoffice(self):
        if not Path(SOFFICE).exists():
            raise RuntimeError("LibreOffice is needed for this test: make test installs libreoffice-writer-nogui.")
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "codebook.docx"
            source.write_bytes(write_docx(codebook.codebook_document(self.project)))
            profile = Path(folder) / "profile"  # its own profile, so parallel runs do not collide
            subprocess.run(
                [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", folder, str(source)],
                check=True, capture_output=True, timeout=120,
            )
            pdf = Path(folder) / "codebook.pdf"
            data = pdf.read_bytes()
            assert data.startswith(b"%PDF-") and len(data) > 10_000
            if shutil.which("pdfinfo"):
                info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
                pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
                assert pages >= 3  # title and contents, the themes, the summary table
            if shutil.which("pdftotext"):
                text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
                assert "Sense of community" in text and "Summary of codes" in text


class QdcTests(ExportTestCase):
    def test_the_qdc_validates_against_the_refi_schema(self):
        data = refi.write_qdc(codebook.current_themes(self.project))
        schema = qdc_schema()
        assert schema.validate(etree.fromstring(data)), schema.error_log
        root = etree.fromstring(data)
        ns = {"q": refi.CODEBOOK_NS}
        community = root.find(".//q:Code[@name='Sense of community']", ns)
        assert community.get("guid") == str(self.community.guid).upper()
        assert community.get("color") == "#A5D6A7" and community.get("isCodable") == "true"
        assert community.find("q:Description", ns).text.startswith("Belonging to a group.\n\nInclusion criteria: Group rituals.")
        assert [c.get("name") for c in community.findall("q:Code", ns)] == ["Group chat"]

    def test_guids_are_stable_across_exports_and_archived_codes_are_not_codable(self):
        first = refi.write_qdc(codebook.current_themes(self.project))
        actions.change_code(self.barriers, by=self.alice, name="Obstacles")
        actions.archive_code(self.barriers, True, by=self.alice)
        second = refi.write_qdc(codebook.current_themes(self.project))
        guid = str(self.barriers.guid).upper()
        assert f'guid="{guid}" name="Barriers"' in first.decode()
        assert f'guid="{guid}" name="Obstacles" isCodable="false"' in second.decode()
        assert qdc_schema().validate(etree.fromstring(second))

    def test_an_empty_codebook_validates_and_reads_back_empty(self):
        data = refi.write_qdc([])
        schema = qdc_schema()
        assert schema.validate(etree.fromstring(data)), schema.error_log
        assert refi.EMPTY_PLACEHOLDER_GUID.upper().encode() in data  # the schema needs one code: ours stands in
        assert refi.read_codebook("empty.qdc", data).themes == []

    def test_control_characters_are_never_written(self):
        theme = Theme(name="Line\x0bbreak\x01", guid=str(self.community.guid), definition="One\x0btwo\x00.")
        data = refi.write_qdc([theme])
        schema = qdc_schema()
        assert schema.validate(etree.fromstring(data)), schema.error_log
        back = refi.read_codebook("clean.qdc", data).themes[0]
        assert (back.name, back.definition) == ("Line break", "One\ntwo.")

    def test_export_import_export_round_trips_without_loss(self):
        themes = codebook.current_themes(self.project, quotes=False, counts=False)
        first = refi.write_qdc(themes)
        imported = refi.read_codebook("codebook.qdc", first)
        assert imported.notes == [] and imported.n_codes == 5
        assert refi.write_qdc(imported.themes) == first  # the pure round trip keeps every field and guid
        # Into the same project: everything matches, nothing changes.
        plan = actions.plan_import(self.project, imported.themes)
        assert [p.action for p in plan] == ["same"] * 5
        # Into a new project: the same tree and fields (GUIDs are unique per site, so new ones are made).
        fresh = make_project(self.alice, name="Replication", slug="replication")
        created, updated = actions.apply_import(fresh, imported.themes, by=self.alice, source="codebook.qdc")
        assert (created, updated) == (5, 0)
        again = refi.read_codebook("again.qdc", refi.write_qdc(codebook.current_themes(fresh, quotes=False, counts=False)))

        def content(items):
            return [(depth, t.name, t.color, t.fields(), t.archived) for t, depth, _ in walk(items)]

        assert content(again.themes) == content(imported.themes)

    def test_the_qdc_download(self):
        self.client.force_login(self.rita)
        response = self.client.post(reverse("codebook_export", args=[self.project.slug]), {"format": "qdc"})
        assert response["Content-Type"] == "application/xml"
        assert qdc_schema().validate(etree.fromstring(response.content))


class SampleImportTests(ExportTestCase):
    def test_the_four_sample_files_are_read(self):
        expected = {
            "taguette-1.4.1_codebook.qdc": (3, 0),
            "atlasti-8.4_standard-project.qde": (14, 0),
            "qc-1.3.2_demo.qdpx": (262, 6),
            "nvivo-mac-15.0_codes-only.qdpx": (262, 6),
        }
        for name, (n_codes, depth) in expected.items():
            with self.subTest(name=name):
                imported = refi.read_codebook(name, (SAMPLES / name).read_bytes())
                assert imported.n_codes == n_codes
                assert max(d for _, d, _ in walk(imported.themes)) == depth

    def test_the_taguette_sample_breaks_the_schema_and_the_preview_says_so(self):
        self.client.force_login(self.alice)
        with open(SAMPLES / "taguette-1.4.1_codebook.qdc", "rb") as upload:
            response = self.client.post(reverse("codebook_import", args=[self.project.slug]), {"file": upload})
        self.assertContains(response, "3 codes to create, 0 to update")
        self.assertContains(response, "empty &lt;Sets/&gt; element, which the REFI-QDA schema does not allow")
        self.assertContains(response, "Written by Taguette 1.4.1.")

    def test_atlas_ti_colours_and_descriptions_arrive(self):
        imported = refi.read_codebook("p.qde", (SAMPLES / "atlasti-8.4_standard-project.qde").read_bytes())
        feelings = next(t for t, _, _ in walk(imported.themes) if t.name == "Feelings")
        assert (feelings.color, feelings.definition) == ("#f00082", "thoughts about breakfast foods")

    def test_importing_the_qc_project_creates_the_whole_tree_in_one_go(self):
        fresh = make_project(self.alice, name="qc", slug="qc")
        self.client.force_login(self.alice)
        with open(SAMPLES / "qc-1.3.2_demo.qdpx", "rb") as upload:
            response = self.client.post(reverse("codebook_import", args=[fresh.slug]), {"file": upload})
        self.assertContains(response, "262 codes to create, 0 to update")
        assert fresh.codes.count() == 0  # the preview saves nothing
        response = self.client.post(reverse("codebook_import_confirm", args=[fresh.slug]), {"payload": response.context["payload"]})
        self.assertRedirects(response, reverse("codebook", args=[fresh.slug]))
        assert fresh.codes.count() == 262
        assert max(code.depth for code in fresh.codes.in_tree_order()) == 6
        assert AuditEvent.objects.filter(project=fresh, verb="code.created").count() == 262
        assert AuditEvent.objects.get(project=fresh, verb="codebook.imported").after == {
            "source": "qc-1.3.2_demo.qdpx", "created": 262, "updated": 0,
        }


class HostileImportTests(BaseTestCase):
    def refused(self, name: str, data: bytes) -> str:
        try:
            refi.read_codebook(name, data)
        except ImportRefused as refusal:
            return refusal.message
        raise AssertionError(f"{name} was not refused")

    def test_it_refuses_what_is_not_xml(self):
        assert "is not a readable XML file" in self.refused("notes.qdc", b"Just some notes, not XML at all.")
        assert "not a REFI-QDA codebook (its root element is <html>)" in self.refused("page.qdc", b"<html><body/></html>")

    def test_it_refuses_dtds_and_entities(self):
        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="x" name="&lol2;" isCodable="true"/></Codes></CodeBook>'
        )
        assert "declares a DTD or XML entities" in self.refused("laughs.qdc", laughs)
        external = b'<?xml version="1.0"?><!DOCTYPE c SYSTEM "file:///etc/passwd"><CodeBook/>'
        assert "declares a DTD" in self.refused("external.qdc", external)

    def test_it_refuses_huge_files_and_zip_bombs(self):
        assert "larger than the" in self.refused("big.qdc", b"<CodeBook>" + b" " * (refi.MAX_XML_BYTES + 1))
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("project.qde", b"<" + b"a" * (30 * 1024 * 1024))
        assert "compressed more than" in self.refused("bomb.qdpx", bomb.getvalue())
        empty = io.BytesIO()
        with zipfile.ZipFile(empty, "w") as archive:
            archive.writestr("readme.txt", b"hello")
        assert "has no project.qde inside" in self.refused("empty.qdpx", empty.getvalue())
        assert "are .qdc, .qde or .qdpx files" in self.refused("codebook.exe", b"MZ")

    def test_the_upload_page_shows_the_refusal(self):
        self.client.force_login(self.alice)
        upload = io.BytesIO(b"not xml")
        upload.name = "broken.qdc"
        response = self.client.post(reverse("codebook_import", args=[self.project.slug]), {"file": upload})
        self.assertContains(response, "is not a readable XML file")
        assert Code.objects.filter(project=self.project).count() == 1


class SheetImportTests(BaseTestCase):
    CSV = (
        "path,definition,inclusion,exclusion,color\n"
        "Coping strategies,Ways to keep going,,,#66BB6A\n"
        "coping strategies > sense of community,Belonging,Group rituals,One-to-one support,\n"
        "Coping strategies/Humour,Jokes that help,,,not-a-colour\n"
        "Barriers/Stigma,Being judged,,,\n"
    )

    def test_paths_split_on_either_separator(self):
        assert split_path("Coping strategies/Sense of community") == ("Coping strategies", "Sense of community")
        assert split_path(" Coping  strategies >  Sense/of community ") == ("Coping strategies", "Sense/of community")

    def test_the_preview_shows_what_is_created_and_what_is_merged_and_confirm_applies_it(self):
        make_code(self.project, name="Coping strategies")  # matched by path, any case
        actions.move_code(self.code, Code.objects.get(name="Coping strategies"), by=self.alice)
        self.client.force_login(self.alice)
        upload = io.BytesIO(self.CSV.encode())
        upload.name = "codebook.csv"
        response = self.client.post(reverse("codebook_import", args=[self.project.slug]), {"file": upload})
        self.assertContains(response, "3 codes to create, 2 to update, 0 already the same")
        self.assertContains(response, "not-a-colour")
        self.assertContains(response, "Coping strategies › Sense of community")
        assert Code.objects.filter(project=self.project).count() == 2
        response = self.client.post(reverse("codebook_import_confirm", args=[self.project.slug]), {"payload": response.context["payload"]})
        self.assertRedirects(response, reverse("codebook", args=[self.project.slug]))
        tree = [(code.depth, code.name, code.definition) for code in self.project.codes.in_tree_order()]
        assert tree == [
            (0, "Coping strategies", "Ways to keep going"),
            (1, "Sense of community", "Belonging"),
            (1, "Humour", "Jokes that help"),
            (0, "Barriers", ""),
            (1, "Stigma", "Being judged"),
        ]
        self.code.refresh_from_db()
        assert (self.code.inclusion, self.code.exclusion) == ("Group rituals", "One-to-one support")
        assert Code.objects.get(name="Coping strategies").color == "#66bb6a"

    def test_an_xlsx_sheet_is_read_too(self):
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Path", "Definition", "Inclusion criteria", "Exclusion criteria", "Typical example"])
        sheet.append(["Workplace supports > Supervision", "Regular supervision", "Weekly check-ins", "", "My supervisor asks"])
        data = io.BytesIO()
        book.save(data)
        themes, notes = parse_codebook_sheet("codebook.xlsx", data.getvalue())
        assert [(d, t.name) for t, d, _ in walk(themes)] == [(0, "Workplace supports"), (1, "Supervision")]
        assert themes[0].children[0].typical_example == "My supervisor asks"

    def test_a_sheet_without_a_path_column_is_refused_clearly(self):
        with self.assertRaisesMessage(ImportRefused, "has no “path” column"):
            parse_codebook_sheet("codebook.csv", b"name,definition\nA,B\n")

    def test_an_altered_payload_is_refused(self):
        self.client.force_login(self.alice)
        response = self.client.post(reverse("codebook_import_confirm", args=[self.project.slug]), {"payload": "forged"})
        self.assertRedirects(response, reverse("codebook_import", args=[self.project.slug]))
        assert Code.objects.filter(project=self.project).count() == 1


class CommandTests(ExportTestCase):
    def test_it_writes_docx_and_qdc(self):
        with tempfile.TemporaryDirectory() as folder:
            out = io.StringIO()
            call_command("export_codebook", self.project.slug, os.path.join(folder, "cb.docx"), "--no-quotes", stdout=out)
            assert "5 codes" in out.getvalue()
            text = "\n".join(p.text for p in Document(os.path.join(folder, "cb.docx")).paragraphs)
            assert "Counts: 2 excerpts" in text and "Exemplar quotes" not in text
            call_command("export_codebook", self.project.slug, os.path.join(folder, "cb.qdc"), stdout=io.StringIO())
            assert qdc_schema().validate(etree.parse(os.path.join(folder, "cb.qdc")))

    def test_as_of_a_day_before_the_project_gives_an_empty_codebook(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "old.docx")
            call_command("export_codebook", self.project.slug, path, "--as-of", "2000-01-01", stdout=io.StringIO())
            doc = Document(path)
            assert "Codebook as it stood on 2000-01-01" in [p.text for p in doc.paragraphs]
            assert "The codebook has no codes." in [p.text for p in doc.paragraphs]

    def test_it_says_what_is_wrong(self):
        from django.core.management.base import CommandError

        with self.assertRaisesMessage(CommandError, "no project with the slug"):
            call_command("export_codebook", "nope", "x.docx")
        with self.assertRaisesMessage(CommandError, ".docx or .qdc"):
            call_command("export_codebook", self.project.slug, "x.pdf")
        with self.assertRaisesMessage(CommandError, "YYYY-MM-DD"):
            call_command("export_codebook", self.project.slug, "x.docx", "--as-of", "yesterday")
