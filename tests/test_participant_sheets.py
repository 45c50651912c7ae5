"""Participant sheets (.csv, .xlsx): columns, kinds and refusals. Pure tests: no database."""

from __future__ import annotations

import datetime
import io
import time
import zipfile

import pytest
from openpyxl import Workbook

from transcripts.interop.readers import (
    ImportRefused,
    ParticipantSheet,
    SheetColumn,
    SheetRow,
    parse_participant_sheet,
)

MB = 1024 * 1024


def refused(filename: str, data: bytes, **kwargs) -> str:
    with pytest.raises(ImportRefused) as info:
        parse_participant_sheet(filename, data, **kwargs)
    return info.value.message


def csv_bytes(rows: list[list[str]], delimiter: str = ",") -> bytes:
    return "\n".join(delimiter.join(row) for row in rows).encode()


def xlsx_bytes(*sheets: tuple[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_csv_columns_kinds_and_values():
    data = csv_bytes(
        [
            ["Age", "Participant", "Joined", "Group", "Notes", "Empty"],
            ["34", "P01", "2023-01-05", "North", "Talkative", ""],
            ["7.5", "P02", "2023-02-28", "South", "", ""],
            ["", "P03", "", "North", '"Quiet, careful"', ""],
        ]
    )
    sheet = parse_participant_sheet("people.csv", data)
    assert sheet == ParticipantSheet(
        columns=[
            SheetColumn("Age", "number", []),
            SheetColumn("Joined", "date", []),
            SheetColumn("Group", "choice", ["North", "South"]),
            SheetColumn("Notes", "text", []),
            SheetColumn("Empty", "text", []),
        ],
        rows=[
            SheetRow("P01", {"Age": "34", "Joined": "2023-01-05", "Group": "North", "Notes": "Talkative", "Empty": ""}),
            SheetRow("P02", {"Age": "7.5", "Joined": "2023-02-28", "Group": "South", "Notes": "", "Empty": ""}),
            SheetRow("P03", {"Age": "", "Joined": "", "Group": "North", "Notes": "Quiet, careful", "Empty": ""}),
        ],
        label_column="Participant",
        notes=[],
    )


def test_csv_first_column_is_the_label_unless_one_is_named():
    sheet = parse_participant_sheet("a.csv", csv_bytes([["Name", "Role"], ["Ana", "Nurse"], ["Bo", "Doctor"]]))
    assert sheet.label_column == "Name"
    assert [row.label for row in sheet.rows] == ["Ana", "Bo"]
    sheet = parse_participant_sheet("a.csv", csv_bytes([["Name", "ID"], ["Ana", "7"], ["Bo", "8"]]))
    assert sheet.label_column == "ID"
    assert [row.label for row in sheet.rows] == ["7", "8"]
    assert sheet.columns == [SheetColumn("Name", "text", [])]


def test_csv_quoting_semicolons_bom_and_blank_rows():
    data = b'\xef\xbb\xbf\r\nParticipant;Quote;Site\r\nP1;"He said ""hi""; then left";A\r\n;;\r\nP2;"two\nlines";A\r\n'
    sheet = parse_participant_sheet("a.csv", data)
    assert [row.values for row in sheet.rows] == [
        {"Quote": 'He said "hi"; then left', "Site": "A"},
        {"Quote": "two\nlines", "Site": "A"},
    ]
    assert sheet.columns[1] == SheetColumn("Site", "choice", ["A"])


@pytest.mark.parametrize(
    "values, kind",
    [
        (["1", "-2", "3.5", "1e3", ".5"], "number"),
        (["2024-02-29", "2023-12-31"], "date"),
        (["2023-02-30", "2023-12-31"], "text"),
        (["03/04/2024", "05/06/2024"], "text"),
        (["a", "b", "a"], "choice"),
        (["a", "b", "c"], "text"),
        ([str(i % 13) + "x" for i in range(30)], "text"),
        (["1,000", "2,000"], "text"),
        (["yes", "no", "yes", "maybe"], "choice"),
    ],
)
def test_kind_inference(values, kind):
    rows = [["Participant", "Value"]] + [[f"P{i}", f'"{v}"'] for i, v in enumerate(values)]
    sheet = parse_participant_sheet("a.csv", csv_bytes(rows))
    assert sheet.columns[0].kind == kind


def test_xlsx_dates_numbers_and_first_sheet_only():
    data = xlsx_bytes(
        (
            "People",
            [
                ["ID", "Age", "Score", "Interviewed", "Consent", "Site", "Note"],
                ["P01", 34, 7.0, datetime.date(2024, 3, 1), True, "A", None],
                ["P02", 41, 7.25, datetime.datetime(2024, 3, 2, 14, 30), False, "A", "  spaced  "],
                [None, None, None, None, None, None, None],
                ["P03", 29, 8, datetime.datetime(2024, 3, 3), True, "B", "=1+1"],
            ],
        ),
        ("Other", [["x"], ["y"]]),
    )
    sheet = parse_participant_sheet("people.xlsx", data)
    assert sheet.label_column == "ID"
    assert [row.values for row in sheet.rows] == [
        {"Age": "34", "Score": "7", "Interviewed": "2024-03-01", "Consent": "TRUE", "Site": "A", "Note": ""},
        {"Age": "41", "Score": "7.25", "Interviewed": "2024-03-02 14:30", "Consent": "FALSE", "Site": "A",
         "Note": "spaced"},
        # A formula never calculated by Excel has no stored value.
        {"Age": "29", "Score": "8", "Interviewed": "2024-03-03", "Consent": "TRUE", "Site": "B", "Note": ""},
    ]
    assert [(c.name, c.kind) for c in sheet.columns] == [
        ("Age", "number"), ("Score", "number"), ("Interviewed", "text"), ("Consent", "choice"),
        ("Site", "choice"), ("Note", "text"),
    ]
    assert sheet.notes == ["Only the first sheet, \u201cPeople\u201d, was read."]


def test_xlsx_date_column():
    rows = [["Participant", "Born"], ["P1", datetime.date(1990, 1, 2)], ["P2", datetime.date(1985, 5, 6)]]
    data = xlsx_bytes(("S", rows))
    assert parse_participant_sheet("a.xlsx", data).columns == [SheetColumn("Born", "date", [])]


def test_it_refuses_unusable_sheets():
    cases = [
        ("a.ods", b"x", "can be .csv and .xlsx files"),
        ("a.csv", b"", "is empty"),
        ("a.csv", b"\n ,, \n", "is empty: it has no headings"),
        ("a.csv", csv_bytes([["Participant", "Age"]]), "has headings but no participant rows"),
        ("a.csv", csv_bytes([["", "Age"], ["P1", "3"]]), "has no participant label column"),
        ("a.csv", csv_bytes([["P", "Age"], ["P1", "3"], ["P2", "4"], ["p1", "5"], ["P2", "6"]]),
         "lists some participants more than once: p1, P2."),
        ("a.csv", csv_bytes([["P", "Age"], ["P1", "3"], ["", "4"]]), "rows without a participant label (rows 3)"),
        ("a.csv", csv_bytes([["P", "Age", "age"], ["P1", "3", "4"]]), "more than one column headed age"),
        ("a.csv", csv_bytes([["P", "", "Age"], ["P1", "x", "4"]]), "values in column B but no heading"),
        ("a.csv", csv_bytes([["P", "Age"], ["P1", "3", "extra"]]), "row 2, column C, which has no heading"),
        ("a.csv", "Participant\nJosé\n".encode("cp1252"),
         "not valid UTF-8 text: line 2, byte 15. Save it as CSV UTF-8"),
        ("a.csv", b"Participant\x00\n", "contains NUL bytes"),
        ("a/b.csv", b"x", "slash"),
        ("a.xlsx", b"Participant\nP1\n", "is not an Excel workbook"),
        ("a.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "looks like an old .xls file"),
    ]
    for filename, data, message in cases:
        assert message in refused(filename, data), filename


def test_it_refuses_more_than_ten_thousand_rows():
    rows = [["Participant"]] + [[f"P{i}"] for i in range(10_001)]
    assert "more than 10,000 participant rows" in refused("a.csv", csv_bytes(rows))
    assert len(parse_participant_sheet("a.csv", csv_bytes(rows[:10_001])).rows) == 10_000


def test_it_refuses_sheets_over_the_size_limit():
    assert "larger than the 1 MB limit for participant sheets" in refused("a.csv", b"P\n" * MB, max_bytes=MB)


def test_xlsx_gets_the_archive_checks():
    good = xlsx_bytes(("S", [["Participant"], ["P1"]]))
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}

    def rezip(changed: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in {**members, **changed}.items():
                archive.writestr(name, content)
        return buffer.getvalue()

    renamed = rezip({}).replace(b"xl/workbook.xml", b"xl/workbook.xmX")
    assert "is a zip file but not an Excel workbook" in refused("a.xlsx", renamed)
    bomb = rezip({"xl/media/zeros.bin": bytes(60 * MB)})
    assert "would unpack to more than 50 MB" in refused("a.xlsx", bomb)
    sheet_xml = members["xl/worksheets/sheet1.xml"]
    entity = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + sheet_xml
    assert "contains XML entity declarations, which are not allowed" in refused(
        "a.xlsx", rezip({"xl/worksheets/sheet1.xml": entity})
    )
    assert "is damaged" in refused("a.xlsx", rezip({"xl/workbook.xml": b"<<<"}))
    truncated = members["xl/workbook.xml"][:-40]
    assert "could not be read as a participant sheet" in refused("a.xlsx", rezip({"xl/workbook.xml": truncated}))
    assert "has no worksheets" in refused("a.xlsx", rezip({"xl/workbook.xml": b"<not-a-workbook/>"}))


def test_xlsx_blank_rows_and_far_cells_cost_little():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Participant", "Age"])
    sheet.append(["P1", 3])
    sheet.cell(row=1_048_576, column=1, value="P9")
    buffer = io.BytesIO()
    workbook.save(buffer)
    began = time.perf_counter()
    parsed = parse_participant_sheet("a.xlsx", buffer.getvalue())
    assert [(row.label, row.values) for row in parsed.rows] == [("P1", {"Age": "3"}), ("P9", {"Age": ""})]
    assert time.perf_counter() - began < 5
