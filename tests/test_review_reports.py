"""Reports read back with python-docx, openpyxl and csv, and say what the review pages say."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse

from tests.base import download_through_a_job, make_code, make_excerpt, make_project, make_transcript, make_user
from tests.review_study import Oracle, build_study
from transcripts import actions, review
from transcripts.models import Excerpt, Membership, Pseudonym
from transcripts.review import reports

SECRET = "Real Name Smith"


class ReportTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_user("alice")
        cls.bob = make_user("bob")
        cls.project = make_project(cls.alice)
        actions.set_role(cls.project, cls.bob, Membership.Role.CODER, by=cls.alice)
        cls.codes = build_study(cls.project, [cls.alice, cls.bob], n_transcripts=5, n_excerpts=40)
        Pseudonym.objects.create(project=cls.project, original=SECRET, replacement="[Peer A]")
        # A memo and a quote a spreadsheet would run as formulas.
        excerpt = Excerpt.objects.filter(transcript__project=cls.project).first()
        Excerpt.objects.filter(pk=excerpt.pk).update(memo='=HYPERLINK("http://example.invalid","click")')
        cls.formula_excerpt = excerpt
        make_code(cls.project, name="+danger", parent=None)

    def download(self, fmt: str, query: str = "") -> bytes:
        self.client.force_login(self.bob)
        response = download_through_a_job(self, reverse("review_report", args=[self.project.slug, fmt]) + query)
        assert response["Content-Disposition"].startswith("attachment;")
        return b"".join(response.streaming_content) if response.streaming else response.content

    def csv_rows(self, body: bytes) -> list[dict]:
        return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))

    def test_the_csv_has_one_row_per_excerpt_and_code_with_every_column(self):
        rows = self.csv_rows(self.download("csv"))
        oracle = Oracle(self.project)
        self.assertEqual(len(rows), len(oracle.rows))
        expected = ["project", "transcript", "participant", "organization", "years", "in recovery", "since", "speaker",
                    "coder", "code", "code path", "exemplar", "start", "end", "line", "text", "memo", "created"]
        self.assertEqual(list(rows[0]), expected)
        group_chat = [r for r in rows if r["code"] == "Group chat"]
        assert group_chat and all(r["code path"] == "Coping / Community / Group chat" for r in group_chat)
        texts = {t.pk: t.text for t in self.project.transcripts.all()}
        titles = {t.title: t.pk for t in self.project.transcripts.all()}
        for row in rows:
            text = texts[titles[row["transcript"]]]
            start, end = int(row["start"]), int(row["end"])
            assert row["text"].lstrip("'") == text[start:end] or row["text"] == text[start:end]
            self.assertEqual(int(row["line"]), text.count("\n", 0, start) + 1)

    def test_the_csv_follows_the_filters_like_the_pages(self):
        query = f"?coder={self.bob.pk}&no_interviewer=1"
        rows = self.csv_rows(self.download("csv", query))
        oracle = Oracle(self.project)
        kept = oracle.kept({"coders": {self.bob.pk}, "no_interviewer": True})
        self.assertEqual(len(rows), len(kept))
        assert {r["coder"] for r in rows} == {"bob"}

    def test_formulas_are_neutralized_in_csv_and_xlsx(self):
        for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
            self.assertEqual(reports.spreadsheet_safe(value), "'" + value)
        for value in ("plain", "1=1", 5, None, ""):
            self.assertEqual(reports.spreadsheet_safe(value), value)
        rows = self.csv_rows(self.download("csv"))
        memo = [r["memo"] for r in rows if r["memo"].startswith("'=")]
        assert memo and memo[0] == """'=HYPERLINK("http://example.invalid","click")"""
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(self.download("xlsx")))
        sheet = book.active
        header = [c.value for c in sheet[1]]
        cells = [row[header.index("memo")] for row in sheet.iter_rows(min_row=2)]
        formula = [c for c in cells if c.value and "HYPERLINK" in c.value]
        assert formula and all(c.data_type == "s" and c.value.startswith("'=") for c in formula)
        assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)

    def test_the_xlsx_matches_the_csv(self):
        from openpyxl import load_workbook

        rows = self.csv_rows(self.download("csv"))
        sheet = load_workbook(io.BytesIO(self.download("xlsx"))).active
        values = list(sheet.iter_rows(values_only=True))
        self.assertEqual(list(values[0]), list(rows[0]))
        self.assertEqual(len(values) - 1, len(rows))
        for got, want in zip(values[1:], rows):
            self.assertEqual([("" if v is None else str(v)) for v in got], list(want.values()))

    def test_the_docx_has_the_results_table_and_quotes_cited_as_on_the_page(self):
        from docx import Document

        document = Document(io.BytesIO(self.download("docx")))
        table = document.tables[0]
        summary = review.theme_summary(self.project, review.ReviewFilters(), review.Tree.load(self.project))
        n = review.scope_participants(self.project, review.ReviewFilters())
        self.assertEqual([c.text for c in table.rows[0].cells], ["Theme", "Excerpts", "Transcripts", "Participants", "Coders"])
        for row, cells in zip(summary, table.rows[1:]):
            texts = [c.text for c in cells.cells]
            self.assertEqual(texts[0].strip(), row.code.name)
            self.assertEqual(texts[1:], [str(row.total.excerpts), str(row.total.transcripts),
                                         f"{row.total.participants} of {n}", str(row.total.coders)])
        headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
        self.assertEqual(headings, ["Results"] + [row.code.name for row in summary])  # codebook order
        quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
        self.assertEqual(len(quotes), len(Oracle(self.project).rows))
        excerpt = Excerpt.objects.filter(transcript__project=self.project, transcript__participant__isnull=False).first()
        line = excerpt.transcript.text.count("\n", 0, excerpt.start) + 1
        assert f"“{excerpt.quote}” ({excerpt.transcript.participant.label}, line {line})" in quotes

    def test_the_docx_can_hold_only_exemplars(self):
        from docx import Document

        document = Document(io.BytesIO(self.download("docx", "?exemplars=1")))
        quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
        exemplars = Oracle(self.project)
        from transcripts.models import CodeApplication

        self.assertEqual(len(quotes), CodeApplication.objects.filter(code__project=self.project, is_exemplar=True).count())
        assert exemplars

    def test_no_report_contains_the_deidentification_list(self):
        for fmt in ("csv", "xlsx", "docx"):
            body = self.download(fmt)
            assert SECRET.encode() not in body
            if fmt != "csv":
                import zipfile

                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    for name in archive.namelist():
                        assert SECRET.encode() not in archive.read(name), (fmt, name)

    def test_the_command_writes_each_format_with_the_filters(self):
        organization = self.project.attributes.get(name="organization")
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "report.csv"
            call_command("export_report", self.project.slug, str(out), "--coder", "bob", "--attribute", "organization=Clinic",
                         "--attribute", "years=1..3", "--no-interviewer", stdout=io.StringIO())
            rows = self.csv_rows(out.read_bytes())
            oracle = Oracle(self.project)
            years = self.project.attributes.get(name="years")
            kept = oracle.kept({"coders": {self.bob.pk}, "no_interviewer": True, "attributes": {
                organization.pk: lambda v: v[0] == "Clinic", years.pk: lambda v: 1 <= v[1] <= 3}})
            self.assertEqual(len(rows), len(kept))
            for fmt in ("docx", "xlsx"):
                path = Path(folder) / f"report.{fmt}"
                call_command("export_report", self.project.slug, str(path), "--exemplars-only", stdout=io.StringIO())
                assert path.stat().st_size > 1000
            for bad in (["--coder", "nobody"], ["--attribute", "colour=red"]):
                with self.assertRaises(CommandError):
                    call_command("export_report", self.project.slug, str(out), *bad, stdout=io.StringIO())
            with self.assertRaises(CommandError):
                call_command("export_report", self.project.slug, str(Path(folder) / "report.pdf"), stdout=io.StringIO())


class DocxRunsTests(TestCase):
    """The report's paragraphs are written as XML directly; read back, they say what was coded."""

    def test_breaks_tabs_emphasis_and_styles_survive_the_round_trip(self):
        from docx import Document

        alice = make_user("alice")
        project = make_project(alice)
        theme = make_code(project, name="Boundaries", definition="Saying no\tat work.")
        transcript = make_transcript(project, text="Interviewer: And then?\nP01: I said no.\tThen I left.\nEnd.")
        start = transcript.text.index("no.")
        make_excerpt(transcript, [theme], start=start, end=transcript.text.index("End"))
        self.client.force_login(alice)
        response = download_through_a_job(self, reverse("review_report", args=[project.slug, "docx"]))
        body = response.getvalue()
        document = Document(io.BytesIO(body))
        quotes = [p for p in document.paragraphs if p.style.name == "Quote"]
        self.assertEqual([p.text for p in quotes], [f"“no.\tThen I left.\n” ({transcript.title}, line 2)"])
        self.assertEqual([bool(run.bold) for run in quotes[0].runs], [False, True])
        definition = next(p for p in document.paragraphs if p.text == "Saying no\tat work.")
        assert all(run.italic for run in definition.runs)
        self.assertEqual([p.style.name for p in document.paragraphs if p.text == "Boundaries"], ["Heading 1"])
        import zipfile

        with zipfile.ZipFile(io.BytesIO(body)) as package:
            assert all(item.compress_type == zipfile.ZIP_DEFLATED for item in package.infolist())
