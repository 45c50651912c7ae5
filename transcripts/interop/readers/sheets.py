"""Participant sheets (.csv, .xlsx): one row per participant, one column per attribute.

No Django imports. The participant label column is the first column headed "Label",
"Participant", "Participant ID" or "ID" (any case), else the first column. Values are kept as
written (trimmed); an .xlsx date becomes "2024-03-01", a whole number "7" (not "7.0").

Column kinds, tried in this order over the non-empty values:
number  every value is a plain decimal number ("7", "-3.5", "1e3"; no thousands separators);
date    every value is an ISO date, YYYY-MM-DD: other layouts (03/04/2024) are ambiguous
        between countries, so they are read as text;
choice  at most 12 distinct values and at least one repeated;
text    anything else (and columns with no values).

CSV files are UTF-8 (Excel's "CSV UTF-8") or UTF-16 with a byte order mark; the delimiter
is whichever of comma, semicolon or tab the first row uses most.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import re
import warnings
import zipfile
from collections.abc import Iterator

import openpyxl

from transcripts.spans import normalize_text

from .base import (
    ACCEPTED_SHEET_FORMATS,
    MB,
    ImportRefused,
    ParticipantSheet,
    SheetColumn,
    SheetRow,
    list_formats,
    quoted,
)
from .safety import (
    EXCEL,
    ElementLimit,
    check_element_counts,
    check_filename,
    check_size,
    check_xml_prologs,
    extension_of,
    open_package,
    refusing_failures,
)
from .text import decode_text

DEFAULT_SHEET_MAX_BYTES = 10 * MB
MAX_ROWS = 10_000
MAX_COLUMNS = 200
MAX_SCANNED_ROWS = 1_048_576  # as many rows as Excel holds, blank ones included
MAX_CHOICES = 12
# openpyxl keeps every shared string of a workbook in memory; a participant sheet at its row
# limit with twenty columns of different free text needs this many.
MAX_SHARED_STRINGS = 200_000
LABEL_HEADINGS = ("label", "participant", "participant id", "participant_id", "id")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A line with its ending, as open(newline="") gives it to the csv module: CRLF, CR or LF.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def parse_participant_sheet(
    filename: str, data: bytes, *, max_bytes: int = DEFAULT_SHEET_MAX_BYTES
) -> ParticipantSheet:
    """Read a participant sheet; ImportRefused with a researcher-facing message otherwise."""
    name = check_filename(filename)
    extension = extension_of(name)
    if extension not in ACCEPTED_SHEET_FORMATS:
        raise ImportRefused(
            f"Participant sheets can be {list_formats(ACCEPTED_SHEET_FORMATS)} files; "
            f"{quoted(name)} is not one of these."
        )
    check_size(name, data, max_bytes, "participant sheets")
    with refusing_failures(
        f"{quoted(name)} could not be read as a participant sheet. "
        "Check that it opens in a spreadsheet program and try again."
    ):
        if extension == ".csv":
            return _build(name, *read_csv_rows(name, data))
        return _build(name, *read_xlsx_rows(name, data))


def read_csv_rows(name: str, data: bytes) -> tuple[Iterator[list[str]], list[str]]:
    """The rows of a .csv as normalized, stripped cells, and notes on its encoding; ImportRefused."""
    text, notes = decode_text(name, data, save_as="CSV UTF-8")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    # Lines are cut from the decoded text one at a time: a StringIO would hold a second copy of
    # the whole file, up to four times its size, before the row limit could refuse it.
    reader = csv.reader((match.group() for match in _LINE.finditer(text)), delimiter=delimiter)

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                yield [normalize_text(cell).strip() for cell in row]
        except csv.Error as exc:
            raise ImportRefused(
                f"{quoted(name)} could not be read as CSV near line {reader.line_num}."
            ) from exc

    return rows(), notes


def read_xlsx_rows(name: str, data: bytes) -> tuple[Iterator[list[str]], list[str]]:
    """The rows of an .xlsx's first worksheet as text cells, and notes; ImportRefused."""
    archive = open_package(name, data, EXCEL)
    check_xml_prologs(name, archive)
    check_xlsx_counts(name, archive)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    if not workbook.worksheets:
        raise ImportRefused(f"{quoted(name)} has no worksheets.")
    sheet = workbook.worksheets[0]
    notes = []
    if len(workbook.sheetnames) > 1:
        notes.append(f"Only the first sheet, {quoted(sheet.title)}, was read.")
    if hasattr(sheet, "reset_dimensions"):
        # The stored dimensions can claim a million columns; read what the rows hold instead.
        sheet.reset_dimensions()

    def rows() -> Iterator[list[str]]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1):
                    if values.count(None) == len(values):
                        yield []  # blank rows can number a million: skip them at C speed
                    else:
                        yield [_cell_text(value) for value in values]
        finally:
            workbook.close()

    return rows(), notes


def check_xlsx_counts(name: str, archive: zipfile.ZipFile) -> None:
    """Refuse a workbook with too many rows or shared strings before openpyxl opens it.

    openpyxl reads every worksheet to learn its size when the sheet does not state it, and
    loads all shared strings, before the first row can be counted. A row counts when a cell in
    it holds a value: a row that only carries a height or a style is blank."""
    check_element_counts(
        name,
        archive,
        [
            ElementLimit(
                "row",
                MAX_ROWS + 1,  # the headings, then the participants
                f"{quoted(name)} has a sheet with more than {MAX_ROWS:,} rows, which is more than peercoding "
                "can import. Keep only the participant sheet in the workbook and try again.",
                holding=("v", "is"),
            ),
            ElementLimit(
                "si",
                MAX_SHARED_STRINGS,
                f"{quoted(name)} holds more than {MAX_SHARED_STRINGS:,} different texts, which is more than "
                "a participant sheet needs. Keep only the participant sheet in the workbook and try again.",
            ),
        ],
    )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return normalize_text(str(value)).strip()


def column_letter(index: int) -> str:
    """Spreadsheet column name for a 0-based index: 0 -> "A", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _build(name: str, rows: Iterator[list[str]], notes: list[str]) -> ParticipantSheet:
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(rows, start=1):
        if number > MAX_SCANNED_ROWS:
            raise ImportRefused(f"{quoted(name)} has more rows than a spreadsheet can hold.")
        if not any(cells):
            continue
        if header is None:
            header = _trim(cells)
            if len(header) > MAX_COLUMNS:
                raise ImportRefused(
                    f"{quoted(name)} has more than {MAX_COLUMNS} columns, which is more than "
                    "peercoding can import."
                )
            continue
        width = len(header)
        extra = [i for i in range(width, len(cells)) if cells[i]]
        if extra:
            raise ImportRefused(
                f"{quoted(name)} has a value in row {number}, column {column_letter(extra[0])}, "
                "which has no heading. Add a heading or delete the value."
            )
        body.append((number, (cells + [""] * width)[:width]))
        if len(body) > MAX_ROWS:
            raise ImportRefused(
                f"{quoted(name)} has more than {MAX_ROWS:,} participant rows, which is more "
                "than peercoding can import."
            )
    if header is None:
        raise ImportRefused(f"{quoted(name)} is empty: it has no headings and no participants.")

    label_at = _label_column(name, header)
    _check_headings(name, header, body)
    labels = _check_labels(name, label_at, body)

    columns = []
    keep = [i for i, heading in enumerate(header) if i != label_at and heading]
    for i in keep:
        kind, choices = _infer_kind([cells[i] for _, cells in body])
        columns.append(SheetColumn(name=header[i], kind=kind, choices=choices))
    sheet_rows = [
        SheetRow(label=label, values={header[i]: cells[i] for i in keep})
        for label, (_, cells) in zip(labels, body)
    ]
    return ParticipantSheet(columns=columns, rows=sheet_rows, label_column=header[label_at], notes=notes)


def _trim(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _label_column(name: str, header: list[str]) -> int:
    for wanted in LABEL_HEADINGS:
        for index, heading in enumerate(header):
            if heading.casefold() == wanted:
                return index
    if not header[0]:
        raise ImportRefused(
            f"{quoted(name)} has no participant label column: give the first column a heading "
            "such as \u201cParticipant\u201d and put each participant's label in it."
        )
    return 0


def _check_headings(name: str, header: list[str], body: list[tuple[int, list[str]]]) -> None:
    seen: dict[str, str] = {}
    repeated: list[str] = []
    for heading in header:
        if not heading:
            continue
        key = heading.casefold()
        if key in seen and heading not in repeated:
            repeated.append(heading)
        seen[key] = heading
    if repeated:
        raise ImportRefused(
            f"{quoted(name)} has more than one column headed {_names(repeated)}. "
            "Give each column its own heading."
        )
    for index, heading in enumerate(header):
        if not heading and any(cells[index] for _, cells in body):
            raise ImportRefused(
                f"{quoted(name)} has values in column {column_letter(index)} but no heading for it. "
                "Add a heading and try again."
            )


def _check_labels(name: str, label_at: int, body: list[tuple[int, list[str]]]) -> list[str]:
    if not body:
        raise ImportRefused(f"{quoted(name)} has headings but no participant rows.")
    blank = [number for number, cells in body if not cells[label_at]]
    if blank:
        shown = ", ".join(str(number) for number in blank[:5]) + (" ..." if len(blank) > 5 else "")
        raise ImportRefused(
            f"{quoted(name)} has rows without a participant label (rows {shown}). "
            "Fill in the labels or delete those rows."
        )
    labels = [cells[label_at] for _, cells in body]
    seen: set[str] = set()
    repeated: list[str] = []
    for label in labels:
        key = label.casefold()
        if key in seen and label not in repeated:
            repeated.append(label)
        seen.add(key)
    if repeated:
        raise ImportRefused(
            f"{quoted(name)} lists some participants more than once: {_names(repeated)}. "
            "Each participant label must be unique."
        )
    return labels


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _infer_kind(values: list[str]) -> tuple[str, list[str]]:
    present = [value for value in values if value]
    if not present:
        return "text", []
    if all(_is_number(value) for value in present):
        return "number", []
    if all(_is_iso_date(value) for value in present):
        return "date", []
    distinct = set(present)
    if len(distinct) <= MAX_CHOICES and len(distinct) < len(present):
        return "choice", sorted(distinct, key=lambda value: (value.casefold(), value))
    return "text", []


def _is_number(value: str) -> bool:
    return _NUMBER.fullmatch(value) is not None


def _is_iso_date(value: str) -> bool:
    if _ISO_DATE.fullmatch(value) is None:
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True
