"""Reports of the review: a .docx for the results section, and the coded excerpts as .csv or .xlsx.

The figures come from the review's own modules, so a report says what the pages say for the same
filters. Nothing here reads the de-identification list (Pseudonym).

A report is written into a file as its rows stream from the database (one row per excerpt and
code, read as plain values), so its memory does not grow with the size of the project: the
coded excerpts of a thousand transcripts go out as they come in.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone
from docx import Document
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .. import spans
from ..models import AttributeValue, Project, Transcript
from .filters import FilterOptions, ReviewFilters, Tree, query_value
from .quotes import speaker_at_start
from .summary import ThemeRow, scope_participants, theme_summary

# A spreadsheet runs cell text that starts with these as a formula (CSV injection); every
# spreadsheet we write (these reports, the audit trail's .csv) goes through spreadsheet_safe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# Rows fetched from the database at a time (a server-side cursor on PostgreSQL).
CHUNK = 2000
# Told how many excerpt-and-code rows have been written so far (a background job's progress bar).
Progress = Callable[[int], None]


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class Sources:
    """Each transcript's title, participant and line breaks: the little a row needs besides itself."""

    def __init__(self, project: Project) -> None:
        self.titles: dict[int, str] = {}
        self.participants: dict[int, tuple[int | None, str]] = {}
        self.breaks: dict[int, array] = {}
        rows = Transcript.objects.filter(project=project).values_list(
            "pk", "title", "participant_id", "participant__label", "line_breaks"
        )
        for pk, title, participant_id, label, breaks in rows.iterator(chunk_size=CHUNK):
            self.titles[pk] = title
            self.participants[pk] = (participant_id, label or "")
            self.breaks[pk] = array("l", breaks)

    def line(self, transcript_id: int, offset: int) -> int:
        """1-based line of `offset`, as Transcript.line_at counts it."""
        return spans.line_at(self.breaks[transcript_id], offset)

    def citation(self, transcript_id: int, offset: int) -> str:
        """As quotes.citation words it: participant label (or transcript title) and line."""
        who = self.participants[transcript_id][1] or self.titles[transcript_id]
        return f"{who}, line {self.line(transcript_id, offset)}"


def coded(project: Project, filters: ReviewFilters, tree: Tree, *, exemplars_only: bool) -> QuerySet:
    """Every application of a code to an excerpt that passes the filters, with the code's codebook position."""
    applications = filters.application_queryset(project)
    if exemplars_only:
        applications = applications.filter(is_exemplar=True)
    position = Case(
        *(When(code_id=code.pk, then=Value(n)) for n, code in enumerate(tree.codes)), default=Value(len(tree.codes))
    )
    return applications.annotate(position=position)


IN_TRANSCRIPT_ORDER = ("excerpt__transcript__title", "excerpt__transcript_id", "excerpt__start", "excerpt__end",
                       "excerpt_id")


def count_rows(project: Project, filters: ReviewFilters, tree: Tree, *, exemplars_only: bool = False) -> int:
    """How many excerpt-and-code rows a report of these filters holds: the total its progress counts to."""
    return coded(project, filters, tree, exemplars_only=exemplars_only).count()


def counted(rows: Iterator, progress: Progress | None) -> Iterator:
    """The rows as they come, telling `progress` how many have passed every CHUNK rows and at the end."""
    done = 0
    for row in rows:
        yield row
        done += 1
        if progress and done % CHUNK == 0:
            progress(done)
    if progress:
        progress(done)


def excerpt_rows(
    project: Project, filters: ReviewFilters, tree: Tree, *, exemplars_only: bool = False,
    progress: Progress | None = None,
) -> Iterator[list]:
    """The header, then one row per excerpt and code, in transcript order (four queries)."""
    attributes = list(project.attributes.all())
    values = {
        (participant_id, attribute_id): value
        for participant_id, attribute_id, value in AttributeValue.objects.filter(
            attribute__project=project
        ).values_list("participant_id", "attribute_id", "value")
    }
    sources = Sources(project)
    yield ["project", "transcript", "participant", *(a.name for a in attributes), "speaker", "coder", "code",
           "code path", "exemplar", "start", "end", "line", "text", "memo", "created"]
    rows = (
        coded(project, filters, tree, exemplars_only=exemplars_only)
        .annotate(speaker=speaker_at_start("excerpt__"))
        .order_by(*IN_TRANSCRIPT_ORDER, "position")
        .values_list("excerpt__transcript_id", "speaker", "excerpt__coder__username", "code_id", "is_exemplar",
                     "excerpt__start", "excerpt__end", "excerpt__quote", "excerpt__memo", "excerpt__created_at")
    )
    paths = {code.pk: tree.path(code.pk) for code in tree.codes}
    for transcript_id, speaker, coder, code_id, is_exemplar, start, end, quote, memo, created in counted(
        rows.iterator(CHUNK), progress
    ):
        participant_id, label = sources.participants[transcript_id]
        yield [
            project.name,
            sources.titles[transcript_id],
            label,
            *(values.get((participant_id, a.pk), "") if participant_id else "" for a in attributes),
            speaker or "",
            coder,
            tree.by_id[code_id].name,
            paths[code_id],
            "yes" if is_exemplar else "",
            start,
            end,
            sources.line(transcript_id, start),
            quote,
            memo,
            timezone.localtime(created).isoformat(timespec="seconds"),
        ]


def write_csv(rows: Iterator[list], out: BinaryIO) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    text.write("\ufeff")  # The byte order mark makes spreadsheet programs read the file as UTF-8.
    writer = csv.writer(text)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    text.flush()
    text.detach()


def write_xlsx(rows: Iterator[list], title: str, out: BinaryIO) -> None:
    """The rows as one sheet, written row by row (openpyxl's write-only mode: no cell objects kept)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Coded excerpts")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in next(rows):
        cell = WriteOnlyCell(sheet, value=spreadsheet_safe(name))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([
            spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value for value in row
        ])
    book.properties.title = title[:200]
    book.save(out)


def write_docx(
    project: Project, filters: ReviewFilters, tree: Tree, options: FilterOptions, out: BinaryIO,
    *, exemplars_only: bool = False, progress: Progress | None = None,
) -> None:
    """Themes in codebook order, each with its counts and quotes cited by participant and line.

    python-docx builds the front matter and the results table; the themes and their quotes,
    which can run to hundreds of thousands of paragraphs, are then written straight into the
    package's document.xml as they stream from the database.
    """
    rows = theme_summary(project, filters, tree)
    n_participants = scope_participants(project, filters)
    document = Document()
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
    styles = {"quote": document.styles["Quote"].style_id,
              **{level: document.styles[f"Heading {level}"].style_id for level in (1, 2, 3, 4)}}
    skeleton = io.BytesIO()
    document.save(skeleton)
    themes = _theme_paragraphs(
        project, filters, tree, rows, n_participants, styles, exemplars_only=exemplars_only, progress=progress
    )
    _stream_into_body(skeleton, out, themes)


def _theme_paragraphs(
    project: Project, filters: ReviewFilters, tree: Tree, rows: list[ThemeRow], n_participants: int,
    styles: dict, *, exemplars_only: bool, progress: Progress | None = None,
) -> Iterator[str]:
    """Each theme's heading, definition and figures, then its quotes, as WordprocessingML paragraphs."""
    sources = Sources(project)
    quotes = (
        coded(project, filters, tree, exemplars_only=exemplars_only)
        .order_by("position", "-is_exemplar", *IN_TRANSCRIPT_ORDER)
        .values_list("position", "excerpt__transcript_id", "excerpt__start", "excerpt__quote")
        .iterator(CHUNK)
    )
    quotes = counted(quotes, progress)
    pending = next(quotes, None)
    position = {code.pk: n for n, code in enumerate(tree.codes)}
    for row in rows:
        here = position[row.code.pk]
        while pending is not None and pending[0] < here:  # a code the summary leaves out
            pending = next(quotes, None)
        yield paragraph_xml(row.code.name, style=styles[min(row.depth + 1, 4)])
        if row.code.definition:
            yield paragraph_xml(row.code.definition, italic=True)
        total = row.total
        subthemes = " (with its subthemes)" if row.has_children else ""
        yield paragraph_xml(
            f"{total.excerpts} excerpt{'s' if total.excerpts != 1 else ''} from {total.participants} of "
            f"{n_participants} participants in {total.transcripts} transcript{'s' if total.transcripts != 1 else ''}, "
            f"coded by {total.coders}{subthemes}."
        )
        while pending is not None and pending[0] == here:
            _, transcript_id, start, quote = pending
            yield paragraph_xml(f"“{quote}”", style=styles["quote"],
                                cited=f" ({sources.citation(transcript_id, start)})")
            pending = next(quotes, None)


def _stream_into_body(skeleton: io.BytesIO, out: BinaryIO, pieces: Iterator[str]) -> None:
    """Copy the .docx package `skeleton` into `out`, writing `pieces` at the end of its body."""
    with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                package.writestr(item, source.read(item.filename), compress_type=zipfile.ZIP_DEFLATED)
                continue
            xml = source.read(item.filename).decode("utf-8")
            end = xml.rindex("<w:sectPr")  # the body's own section properties close it
            streamed = zipfile.ZipInfo(item.filename, item.date_time)
            streamed.compress_type = zipfile.ZIP_DEFLATED
            with package.open(streamed, "w", force_zip64=True) as part:
                part.write(xml[:end].encode("utf-8"))
                buffer = []
                for piece in pieces:
                    buffer.append(piece)
                    if len(buffer) >= 500:
                        part.write("".join(buffer).encode("utf-8"))
                        buffer = []
                part.write("".join(buffer).encode("utf-8"))
                part.write(xml[end:].encode("utf-8"))


LINE_CONTROLS = re.compile(r"([\t\r\n])")
# Characters XML 1.0 cannot hold (C0 controls other than tab and line breaks, lone surrogates, U+FFFE/F).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def paragraph_xml(text: str, *, style: str | None = None, italic: bool = False, cited: str | None = None) -> str:
    """One WordprocessingML paragraph: `text` as a run (italic if asked), then `cited` in bold.

    Tabs and line breaks inside the text become Word's own tab and break elements; characters
    XML cannot hold are left out.
    """
    properties = f"<w:pPr><w:pStyle w:val={quoteattr(style)}/></w:pPr>" if style else ""
    runs = _run_xml(text, "<w:rPr><w:i/></w:rPr>" if italic else "")
    if cited:
        runs += _run_xml(cited, "<w:rPr><w:b/></w:rPr>")
    return f"<w:p>{properties}{runs}</w:p>"


def _run_xml(text: str, properties: str) -> str:
    parts = [f"<w:r>{properties}"]
    for piece in LINE_CONTROLS.split(NOT_XML.sub("", text)):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            parts.append(f'<w:t xml:space="preserve">{escape(piece)}</w:t>')
    parts.append("</w:r>")
    return "".join(parts)


def describe(filters: ReviewFilters, options: FilterOptions) -> list[str]:
    """The filters in words, for a report's reader."""
    parts = []
    for item in filters.attributes:
        if item.values:
            parts.append(f"{item.attribute.label}: {' or '.join(item.values)}")
        else:
            low = query_value(item.low) if item.low is not None else "…"
            high = query_value(item.high) if item.high is not None else "…"
            parts.append(f"{item.attribute.label}: {low} to {high}")
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
    fmt: str, project: Project, filters: ReviewFilters, tree: Tree, out: BinaryIO, *,
    exemplars_only: bool = False, options: FilterOptions | None = None, progress: Progress | None = None,
) -> str:
    """Write the report into `out` (a binary file); return its content type. fmt is docx, csv or xlsx.

    `progress`, when given, is told how many excerpt-and-code rows are written (count_rows is the total).
    """
    if fmt == "docx":
        options = options or FilterOptions.load(project)
        write_docx(project, filters, tree, options, out, exemplars_only=exemplars_only, progress=progress)
    elif fmt == "csv":
        write_csv(excerpt_rows(project, filters, tree, exemplars_only=exemplars_only, progress=progress), out)
    elif fmt == "xlsx":
        write_xlsx(excerpt_rows(project, filters, tree, exemplars_only=exemplars_only, progress=progress),
                   f"{project.name}: coded excerpts", out)
    else:
        raise ValueError(f"Unknown report format {fmt!r}")
    return CONTENT_TYPES[fmt]
