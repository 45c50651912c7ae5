"""Reports of the review: a .docx for the results section, and the coded excerpts as .csv or .xlsx.

The figures come from transcripts.review, so a report says what the pages say for the same
filters. Nothing here reads the de-identification list (Pseudonym).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict

from django.utils import timezone

from . import review
from .models import AttributeValue, Project

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


def excerpt_table(project: Project, filters: review.ReviewFilters, tree: review.Tree) -> tuple[list[str], list[list]]:
    """One row per excerpt and code, in transcript order (four queries)."""
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
    for excerpt in review.for_quotes(filters.excerpt_queryset(project)):
        participant = excerpt.transcript.participant
        for app in excerpt.applications.all():
            rows.append(
                [
                    project.name,
                    excerpt.transcript.title,
                    participant.label if participant else "",
                    *(values.get((participant.pk, a.pk), "") if participant else "" for a in attributes),
                    excerpt.speaker or "",
                    excerpt.coder.get_username(),
                    app.code.name,
                    tree.path(app.code_id),
                    "yes" if app.is_exemplar else "",
                    excerpt.start,
                    excerpt.end,
                    excerpt.line,
                    excerpt.quote,
                    excerpt.memo,
                    timezone.localtime(excerpt.created_at).isoformat(timespec="seconds"),
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
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Coded excerpts"
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", value))
            cells.append(value)
        sheet.append(cells)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
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
    quotes: dict[int, list] = defaultdict(list)
    citations: dict[int, str] = {}
    for excerpt in review.for_quotes(filters.excerpt_queryset(project)):
        for app in excerpt.applications.all():
            if app.is_exemplar or not exemplars_only:
                quotes[app.code_id].append((not app.is_exemplar, excerpt))
                citations[excerpt.pk] = review.citation(excerpt)
    document = Document()
    quote_style = document.styles["Quote"].style_id
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
    for row in rows:
        document.add_heading(row.code.name, level=min(row.depth + 1, 4))
        if row.code.definition:
            document.add_paragraph(row.code.definition).italic = True
        total = row.total
        subthemes = " (with its subthemes)" if row.has_children else ""
        document.add_paragraph(
            f"{total.excerpts} excerpt{'s' if total.excerpts != 1 else ''} from {total.participants} of "
            f"{n_participants} participants in {total.transcripts} transcript{'s' if total.transcripts != 1 else ''}, "
            f"coded by {total.coders}{subthemes}."
        )
        for _, excerpt in sorted(quotes.get(row.code.pk, []), key=lambda item: item[0]):
            paragraph = document.add_paragraph()
            # The style id, set once per paragraph: python-docx resolves a style given by name or
            # object by scanning every style of the document, which dominated the report's time.
            paragraph._p.style = quote_style
            _add_run(paragraph, f"“{excerpt.quote}”")
            _add_run(paragraph, f" ({citations[excerpt.pk]})").bold = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


LINE_CONTROLS = re.compile(r"([\t\r\n])")


def _add_run(paragraph, text: str):
    """paragraph.add_run(text), the same XML written a piece at a time instead of a character at a time.

    python-docx feeds run text through a per-character state machine (tabs and line breaks),
    which was most of a long report's time; here only tabs and breaks are handled one by one.
    """
    run = paragraph.add_run()
    for piece in LINE_CONTROLS.split(text):
        if piece == "\t":
            run._r.add_tab()
        elif piece in ("\r", "\n"):
            run._r.add_br()
        elif piece:
            run._r.add_t(piece)
    return run


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
