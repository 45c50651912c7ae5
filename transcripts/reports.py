"""Reports of the review: a .docx for the results section, and the coded excerpts as .csv or .xlsx.

The figures come from transcripts.review, so a report says what the pages say for the same
filters. Nothing here reads the de-identification list (Pseudonym).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import NamedTuple

from django.utils import timezone

from . import review, spans
from .models import AttributeValue, CodeApplication, Project, Transcript

# A spreadsheet runs cell text that starts with these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class QuoteRow(NamedTuple):
    """One excerpt as a report needs it: plain values, no model instances."""

    pk: int
    transcript: str
    participant_id: int | None
    participant: str
    speaker: str
    coder: str
    start: int
    end: int
    line: int
    quote: str
    memo: str
    created_at: object
    applications: list[tuple[int, bool]]  # (code id, is exemplar), in codebook order

    @property
    def citation(self) -> str:
        """As review.citation words it: participant label (or transcript title) and line."""
        return f"{self.participant or self.transcript}, line {self.line}"


def quote_rows(project: Project, filters: review.ReviewFilters, tree: review.Tree) -> Iterator[QuoteRow]:
    """The excerpts that pass the filters, in transcript order, with their codes (four queries).

    Built from value tuples rather than model instances, and line numbers are found by a binary
    search over each transcript's line starts, read one transcript at a time: a report of
    thousands of excerpts costs little more than the rows themselves.
    """
    excerpts = filters.excerpt_queryset(project)
    rows = list(
        excerpts.annotate(speaker=review.speaker_at_start())
        .order_by("transcript__title", "transcript_id", "start", "end", "pk")
        .values_list("pk", "transcript_id", "transcript__title", "transcript__participant_id",
                     "transcript__participant__label", "speaker", "coder__username", "start", "end", "quote", "memo",
                     "created_at")
    )
    wanted = {row[0] for row in rows}
    position = {code.pk: n for n, code in enumerate(tree.codes)}
    applications: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for excerpt_id, code_id, is_exemplar in CodeApplication.objects.filter(
        excerpt__transcript__project=project
    ).values_list("excerpt_id", "code_id", "is_exemplar"):
        if excerpt_id in wanted:
            applications[excerpt_id].append((code_id, is_exemplar))
    for found in applications.values():
        found.sort(key=lambda app: (position.get(app[0], len(position)), app[0]))
    lines: dict[int, spans.LineIndex] = {}
    texts = Transcript.objects.filter(pk__in=excerpts.values("transcript_id")).values_list("pk", "text")
    for pk, text in texts.iterator(chunk_size=20):  # a few texts in memory at a time
        lines[pk] = spans.LineIndex(text)
    for pk, transcript_id, title, participant_id, label, speaker, coder, start, end, quote, memo, created in rows:
        yield QuoteRow(pk, title, participant_id, label or "", speaker or "", coder, start, end,
                       lines[transcript_id].line_at(start), quote, memo, created, applications.get(pk, []))


def excerpt_table(project: Project, filters: review.ReviewFilters, tree: review.Tree) -> tuple[list[str], list[list]]:
    """One row per excerpt and code, in transcript order."""
    attributes = list(project.attributes.all())
    values = {
        (participant_id, attribute_id): value
        for participant_id, attribute_id, value in AttributeValue.objects.filter(
            attribute__project=project
        ).values_list("participant_id", "attribute_id", "value")
    }
    header = ["project", "transcript", "participant", *(a.name for a in attributes), "speaker", "coder", "code",
              "code path", "exemplar", "start", "end", "line", "text", "memo", "created"]
    rows = []
    for excerpt in quote_rows(project, filters, tree):
        described = [values.get((excerpt.participant_id, a.pk), "") if excerpt.participant_id else "" for a in attributes]
        created = timezone.localtime(excerpt.created_at).isoformat(timespec="seconds")
        for code_id, is_exemplar in excerpt.applications:
            rows.append(
                [
                    project.name,
                    excerpt.transcript,
                    excerpt.participant,
                    *described,
                    excerpt.speaker,
                    excerpt.coder,
                    tree.by_id[code_id].name,
                    tree.path(code_id),
                    "yes" if is_exemplar else "",
                    excerpt.start,
                    excerpt.end,
                    excerpt.line,
                    excerpt.quote,
                    excerpt.memo,
                    created,
                ]
            )
    return header, rows


def write_csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    # The byte order mark makes spreadsheet programs read the file as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(header: list[str], rows: list[list], title: str) -> bytes:
    """The rows as one sheet, written row by row (openpyxl's write-only mode: no cell objects kept)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Coded excerpts")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=spreadsheet_safe(name))
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append([
            spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value for value in row
        ])
    book.properties.title = title[:200]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_docx(
    project: Project, filters: review.ReviewFilters, tree: review.Tree, options: review.FilterOptions,
    *, exemplars_only: bool = False,
) -> bytes:
    """Themes in codebook order, each with its counts and quotes cited by participant and line."""
    from docx import Document

    rows = review.theme_summary(project, filters, tree)
    n_participants = review.scope_participants(project, filters)
    quotes: dict[int, list[tuple[bool, QuoteRow]]] = defaultdict(list)
    for excerpt in quote_rows(project, filters, tree):
        for code_id, is_exemplar in excerpt.applications:
            if is_exemplar or not exemplars_only:
                quotes[code_id].append((not is_exemplar, excerpt))
    document = Document()
    quote_style = document.styles["Quote"].style_id
    heading_styles = [document.styles[f"Heading {level}"].style_id for level in (1, 2, 3, 4)]
    document.core_properties.title = f"{project.name}: themes"
    document.add_heading(f"{project.name}: themes", level=0)
    document.add_paragraph(
        f"Generated {timezone.localtime():%Y-%m-%d %H:%M}. "
        + ("; ".join(describe(filters, options)) or "No filters.")
        + (" Only exemplar quotes." if exemplars_only else "")
    )
    document.add_heading("Results", level=1)
    table = document.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ["Theme", "Excerpts", "Transcripts", "Participants", "Coders"]):
        cell.text = text
    for row in rows:
        cells = table.add_row().cells
        cells[0].text = ("    " * row.depth) + row.code.name
        cells[1].text = str(row.total.excerpts)
        cells[2].text = str(row.total.transcripts)
        cells[3].text = f"{row.total.participants} of {n_participants}"
        cells[4].text = str(row.total.coders)
    body = _Body(document)
    for row in rows:
        body.paragraph(row.code.name, style=heading_styles[min(row.depth, 3)])
        if row.code.definition:
            body.paragraph(row.code.definition, italic=True)
        total = row.total
        subthemes = " (with its subthemes)" if row.has_children else ""
        body.paragraph(
            f"{total.excerpts} excerpt{'s' if total.excerpts != 1 else ''} from {total.participants} of "
            f"{n_participants} participants in {total.transcripts} transcript{'s' if total.transcripts != 1 else ''}, "
            f"coded by {total.coders}{subthemes}."
        )
        for _, excerpt in sorted(quotes.get(row.code.pk, []), key=lambda item: item[0]):
            body.quote(f"“{excerpt.quote}”", f" ({excerpt.citation})", style=quote_style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class _Body:
    """Paragraphs appended to a document's body as plain XML elements, each in constant time.

    python-docx's add_paragraph looks for the section properties among all of the body's
    children on every call, and feeds run text through a per-character state machine, so a
    report of thousands of quotes took quadratic time. Here every paragraph goes straight in
    front of the final section properties, and a run's text is written a piece at a time
    (tabs and line breaks become their own elements, as Word expects).
    """

    def __init__(self, document) -> None:
        from docx.oxml.ns import qn

        self.qn = {tag: qn(tag) for tag in ("w:p", "w:pPr", "w:pStyle", "w:val", "w:r", "w:rPr", "w:b", "w:i",
                                            "w:t", "w:tab", "w:br")}
        self.space = "{http://www.w3.org/XML/1998/namespace}space"
        self.end = document.element.body.sectPr

    def paragraph(self, text: str, *, style: str | None = None, italic: bool = False) -> None:
        p = self._new_paragraph(style)
        self._run(p, text, "w:i" if italic else None)

    def quote(self, text: str, citation: str, *, style: str) -> None:
        p = self._new_paragraph(style)
        self._run(p, text, None)
        self._run(p, citation, "w:b")

    def _new_paragraph(self, style: str | None):
        from lxml import etree

        p = etree.Element(self.qn["w:p"])
        if style:
            properties = etree.SubElement(p, self.qn["w:pPr"])
            etree.SubElement(properties, self.qn["w:pStyle"]).set(self.qn["w:val"], style)
        self.end.addprevious(p)
        return p

    def _run(self, p, text: str, emphasis: str | None) -> None:
        from lxml import etree

        r = etree.SubElement(p, self.qn["w:r"])
        if emphasis:
            etree.SubElement(etree.SubElement(r, self.qn["w:rPr"]), self.qn[emphasis])
        for piece in LINE_CONTROLS.split(xml_safe(text)):
            if piece == "\t":
                etree.SubElement(r, self.qn["w:tab"])
            elif piece in ("\r", "\n"):
                etree.SubElement(r, self.qn["w:br"])
            elif piece:
                t = etree.SubElement(r, self.qn["w:t"])
                t.text = piece
                if piece[0].isspace() or piece[-1].isspace():
                    t.set(self.space, "preserve")


LINE_CONTROLS = re.compile(r"([\t\r\n])")
# Characters XML 1.0 cannot hold (C0 controls other than tab and line breaks, lone surrogates, U+FFFE/F).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text with the characters an XML document cannot hold taken out."""
    return NOT_XML.sub("", text)


def describe(filters: review.ReviewFilters, options: review.FilterOptions) -> list[str]:
    """The filters in words, for a report's reader."""
    parts = []
    for item in filters.attributes:
        if item.values:
            parts.append(f"{item.attribute.name}: {' or '.join(item.values)}")
        else:
            low = review._plain(item.low) if item.low is not None else "…"
            high = review._plain(item.high) if item.high is not None else "…"
            parts.append(f"{item.attribute.name}: {low} to {high}")
    names = {u.pk: u.get_username() for u in options.coders}
    if filters.coders:
        parts.append("coded by " + ", ".join(names[pk] for pk in filters.coders))
    if filters.participants:
        labels = {p.pk: p.label for p in options.participants}
        parts.append("participants " + ", ".join(labels[pk] for pk in filters.participants))
    if filters.transcripts:
        titles = {t.pk: t.title for t in options.transcripts}
        parts.append("transcripts " + ", ".join(titles[pk] for pk in filters.transcripts))
    if filters.coded_from or filters.coded_to:
        parts.append(f"coded {filters.coded_from or '…'} to {filters.coded_to or '…'}")
    if filters.no_interviewer:
        parts.append("interviewer turns left out")
    return parts


def render(
    fmt: str, project: Project, filters: review.ReviewFilters, tree: review.Tree, *, exemplars_only: bool = False,
    options: review.FilterOptions | None = None,
) -> tuple[bytes, str]:
    """The report as bytes and its content type; fmt is docx, csv or xlsx."""
    if fmt == "docx":
        options = options or review.FilterOptions.load(project)
        return write_docx(project, filters, tree, options, exemplars_only=exemplars_only), CONTENT_TYPES[fmt]
    header, rows = excerpt_table(project, filters, tree)
    if exemplars_only:
        exemplar = header.index("exemplar")
        rows = [row for row in rows if row[exemplar]]
    if fmt == "csv":
        return write_csv(header, rows), CONTENT_TYPES[fmt]
    if fmt == "xlsx":
        return write_xlsx(header, rows, f"{project.name}: coded excerpts"), CONTENT_TYPES[fmt]
    raise ValueError(f"Unknown report format {fmt!r}")
