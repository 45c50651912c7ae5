"""Imports refuse oversized or entity-declaring files before building anything from them.
Pure tests: no database; the limits are lowered so that the files stay small."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from unittest import mock

import docx
import pytest
from openpyxl import Workbook

from transcripts.interop.readers import ImportRefused, parse_participant_sheet, parse_transcript
from transcripts.interop.readers import docx as docx_reader
from transcripts.interop.readers import sheets


def refusal(parse, filename: str, data: bytes) -> str:
    with pytest.raises(ImportRefused) as info:
        parse(filename, data)
    return info.value.message


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, changed: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in {**members, **changed}.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list[object]], *, blank_rows: int = 0, second_sheet: list[list[object]] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for number in range(len(rows) + 1, len(rows) + 1 + blank_rows):
        sheet.row_dimensions[number].height = 30  # written as a <row> without cells
    if second_sheet is not None:
        other = workbook.create_sheet("Other")
        for row in second_sheet:
            other.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_docx_declaring_entities_in_any_part_is_refused():
    original = docx_bytes("Interviewer: Hello", "P1: Hi")
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        types = archive.read("[Content_Types].xml")
    declared = types.replace(b"?>", b'?><!DOCTYPE Types [<!ENTITY x "y">]>', 1)
    assert declared != types
    message = refusal(parse_transcript, "a.docx", rezip(original, {"[Content_Types].xml": declared}))
    assert "contains XML entity declarations, which are not allowed" in message


def test_a_docx_with_more_paragraphs_than_a_transcript_holds_is_refused(monkeypatch):
    monkeypatch.setattr(docx_reader, "MAX_PARAGRAPHS", 100)
    parsed = parse_transcript("a.docx", docx_bytes("Interviewer: Hello", *["P1: Hi"] * 98))
    assert parsed.text.count("\n") == 98
    message = refusal(parse_transcript, "a.docx", docx_bytes("Interviewer: Hello", *[""] * 100))
    assert "has more than 100 paragraphs" in message


def test_a_docx_with_more_markup_than_a_transcript_needs_is_refused(monkeypatch):
    monkeypatch.setattr(docx_reader, "MAX_ELEMENTS", 500)
    assert parse_transcript("a.docx", docx_bytes("Interviewer: Hello", "P1: Hi")).text
    # One paragraph, hundreds of runs: few lines, but every element costs time and memory.
    document = docx.Document()
    paragraph = document.add_paragraph("Interviewer: ")
    for _ in range(300):
        paragraph.add_run("a").bold = True
    buffer = io.BytesIO()
    document.save(buffer)
    assert "too complex to import" in refusal(parse_transcript, "a.docx", buffer.getvalue())


def test_an_xlsx_with_too_many_rows_is_refused_before_openpyxl_reads_it(monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 50)
    people = [["Label", "Age"]] + [[f"P{n}", n] for n in range(50)]
    parsed = parse_participant_sheet("a.xlsx", xlsx_bytes(people, blank_rows=200))
    assert len(parsed.rows) == 50  # rows that only carry a height do not count
    too_many = xlsx_bytes(people + [["P50", 50]])
    with mock.patch("openpyxl.load_workbook", side_effect=AssertionError("openpyxl was called")):
        assert "more than 50 rows" in refusal(parse_participant_sheet, "a.xlsx", too_many)
        # openpyxl reads every sheet's size when it opens a workbook: a big second sheet counts too.
        big_second = xlsx_bytes(people[:3], second_sheet=people + [["P50", 50]])
        assert "more than 50 rows" in refusal(parse_participant_sheet, "a.xlsx", big_second)


def test_an_xlsx_with_more_shared_strings_than_a_sheet_needs_is_refused(monkeypatch):
    monkeypatch.setattr(sheets, "MAX_SHARED_STRINGS", 100)
    people = xlsx_bytes([["Label", "Age"], ["P1", 3]])

    def with_strings(n: int) -> bytes:
        table = "".join(f"<si><t>text {k}</t></si>" for k in range(n))
        xml = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}">{table}</sst>'
        return rezip(people, {"xl/sharedStrings.xml": xml.encode()})

    assert len(parse_participant_sheet("a.xlsx", with_strings(100)).rows) == 1
    with mock.patch("openpyxl.load_workbook", side_effect=AssertionError("openpyxl was called")):
        assert "more than 100 different texts" in refusal(parse_participant_sheet, "a.xlsx", with_strings(101))


def test_a_csv_with_too_many_rows_costs_little_memory_beyond_its_text():
    data = "\n".join(["Label,Note"] + [f"P{n},{'x' * 40}" for n in range(60_000)]).encode()
    tracemalloc.start()
    try:
        message = refusal(parse_participant_sheet, "a.csv", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "more than 10,000 participant rows" in message
    assert peak < 3 * len(data), (peak, len(data))  # the text, then a few rows; a copy was 4 times more


def test_a_csv_keeps_its_line_endings_and_quoted_line_breaks():
    data = b'Label,Note\r\nP1,"two\r\nlines"\rP2,old mac\nP3,unix'
    parsed = parse_participant_sheet("a.csv", data)
    assert [(row.label, row.values["Note"]) for row in parsed.rows] == [
        ("P1", "two\nlines"),
        ("P2", "old mac"),
        ("P3", "unix"),
    ]
