"""The codebook as a Word document for a paper's supplement or an ethics board. No Django.

Headings use Word's own Heading 1-3 styles (deeper subthemes stay at Heading 3), so the table
of contents is a real TOC field over them: Word and LibreOffice refresh it with page numbers.
Its cached text already lists the headings, so the document reads well before any refresh.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from .codebook import FIELD_LABELS, TEXT_FIELDS, CodebookDocument, Theme, walk

TOC_INSTRUCTION = 'TOC \\o "1-3" \\h \\z \\u'
SUMMARY_HEADING = "Summary of codes"
MAX_HEADING_LEVEL = 3


def write_docx(document: CodebookDocument, *, quotes: bool = True, counts: bool = True) -> bytes:
    """The .docx bytes of a codebook, with or without exemplar quotes and counts."""
    doc = Document()
    _set_up_page(doc)
    _title_block(doc, document)
    _table_of_contents(doc, document)
    entries = list(walk(document.themes))
    for theme, depth, path in entries:
        _theme_section(doc, theme, depth, path, quotes=quotes, counts=counts)
    if not entries:
        doc.add_paragraph("The codebook has no codes.")
    _summary_table(doc, entries, counts=counts)
    # Ask Word to refresh the TOC's page numbers when the file is opened.
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    doc.settings.element.append(update)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def heading_level(depth: int) -> int:
    return min(depth + 1, MAX_HEADING_LEVEL)


def _set_up_page(doc) -> None:
    for section in doc.sections:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
        section.left_margin = section.right_margin = Cm(2.2)
        section.top_margin = section.bottom_margin = Cm(2.2)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("Page ")
        _field(footer, "PAGE", "1")
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(4)


def _title_block(doc, document: CodebookDocument) -> None:
    doc.add_paragraph(document.project, style="Title")
    subtitle = "Codebook"
    if document.as_of:
        subtitle += f" as it stood on {document.as_of.isoformat()}"
    doc.add_paragraph(subtitle, style="Subtitle")
    facts = [
        ("Project", document.project),
        ("Exported", document.exported_on.isoformat()),
        ("Codebook version", document.version + (f" ({document.version_note})" if document.version_note else "")),
        ("Codes", str(sum(1 for _ in walk(document.themes)))),
    ]
    if document.as_of:
        facts.append(("State as of", f"{document.as_of.isoformat()} (rebuilt from the audit trail)"))
    table = doc.add_table(rows=0, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    for label, value in facts:
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(label).bold = True
        cells[1].paragraphs[0].add_run(value)
    _set_widths(table, (Cm(4), Cm(12.6)))


def _table_of_contents(doc, document: CodebookDocument) -> None:
    doc.add_paragraph("Contents", style="TOC Heading" if _has_style(doc, "TOC Heading") else "Heading 1")
    lines = [(theme.name, depth) for theme, depth, _ in walk(document.themes) if depth < MAX_HEADING_LEVEL]
    lines.append((SUMMARY_HEADING, 0))
    for index, (text, depth) in enumerate(lines):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.left_indent = Cm(0.6 * depth)
        paragraph.paragraph_format.space_after = Pt(1)
        if index == 0:
            _field_start(paragraph, TOC_INSTRUCTION)
        paragraph.add_run(text)
        if index == len(lines) - 1:
            _field_end(paragraph)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _has_style(doc, name: str) -> bool:
    return any(style.name == name for style in doc.styles)


def _theme_section(doc, theme: Theme, depth: int, path: tuple[str, ...], *, quotes: bool, counts: bool) -> None:
    heading = doc.add_heading(theme.name + (" (archived)" if theme.archived else ""), level=heading_level(depth))
    if depth >= MAX_HEADING_LEVEL:
        heading.paragraph_format.left_indent = Cm(0.5 * (depth - MAX_HEADING_LEVEL + 1))
    meta = doc.add_paragraph()
    if len(path) > 1:
        meta.add_run("Subtheme of " + " › ".join(path[:-1])).italic = True
        meta.add_run(" · ")
    if theme.color:
        swatch = meta.add_run("■ ")
        swatch.font.color.rgb = RGBColor.from_string(theme.color.lstrip("#").upper()[:6])
        meta.add_run(theme.color.upper())
    for name in TEXT_FIELDS:
        value = getattr(theme, name)
        if not value:
            continue
        paragraph = doc.add_paragraph()
        paragraph.add_run(FIELD_LABELS[name] + ": ").bold = True
        run = paragraph.add_run(value)
        if name.endswith("example"):
            run.italic = True
    if counts and theme.n_excerpts is not None:
        paragraph = doc.add_paragraph()
        paragraph.add_run("Counts: ").bold = True
        paragraph.add_run(
            f"{theme.n_excerpts} excerpts · {theme.n_transcripts} transcripts · {theme.n_participants} participants"
        )
    if quotes and theme.quotes:
        doc.add_paragraph().add_run("Exemplar quotes").bold = True
        for quote in theme.quotes:
            paragraph = doc.add_paragraph(style="Quote")
            paragraph.add_run(quote.text if quote.text[:1] in "“\"'" else f"“{quote.text}”")
            attribution = f" — {quote.participant}" + (f" (coded by {quote.coder})" if quote.coder else "")
            paragraph.add_run(attribution).italic = False


def _summary_table(doc, entries, *, counts: bool) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.add_heading(SUMMARY_HEADING, level=1)
    headers = ["Code", "Excerpts", "Transcripts", "Participants"] if counts else ["Code", "Definition"]
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    header = table.rows[0]
    repeat_header_row(header)
    for cell, text in zip(header.cells, headers):
        cell.paragraphs[0].add_run(text).bold = True
        _shade(cell, "DCE6F0")
    for theme, depth, _ in entries:
        cells = table.add_row().cells
        name = cells[0].paragraphs[0]
        name.paragraph_format.left_indent = Cm(0.4 * depth)
        name.add_run(theme.name + (" (archived)" if theme.archived else ""))
        if counts:
            for cell, value in zip(cells[1:], (theme.n_excerpts, theme.n_transcripts, theme.n_participants)):
                cell.paragraphs[0].add_run("" if value is None else str(value))
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        else:
            cells[1].paragraphs[0].add_run(theme.definition)
    _set_widths(table, (Cm(8.2), Cm(2.8), Cm(2.8), Cm(2.8)) if counts else (Cm(5.5), Cm(11.2)))


def _set_widths(table, widths) -> None:
    """Fixed column widths; Word reads the cells' widths, LibreOffice the table grid's."""
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def _shade(cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def repeat_header_row(row) -> None:
    """Mark a table row as a header row that Word repeats at the top of each page."""
    properties = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    properties.append(flag)


def _field(paragraph, instruction: str, cached: str) -> None:
    _field_start(paragraph, instruction)
    paragraph.add_run(cached)
    _field_end(paragraph)


def _field_start(paragraph, instruction: str) -> None:
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run._r.append(begin)
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._r.append(text)
    run = paragraph.add_run()
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run._r.append(separate)


def _field_end(paragraph) -> None:
    run = paragraph.add_run()
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)
