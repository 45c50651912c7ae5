"""Codebook sheets (.csv, .xlsx): one row a code, its place given by a path. No Django imports.

Columns, found by heading in any case: path (required: "Coping strategies/Sense of community"
or "Coping strategies > Sense of community"), definition, inclusion, exclusion, and optionally
color, typical_example and atypical_example. A parent the sheet names only inside a path is
created with empty fields; a path given twice is merged into its first row.
"""

from __future__ import annotations

import re
import uuid

from ..codebook import TEXT_FIELDS, Theme
from .base import MB, ImportRefused, quoted
from .safety import check_filename, check_size, extension_of, refusing_failures
from .sheets import read_csv_rows, read_xlsx_rows

ACCEPTED = (".csv", ".xlsx")
MAX_BYTES = 10 * MB
MAX_ROWS = 5_000
MAX_NAME = 120
HEADINGS = {
    "path": "path",
    "code": "path",
    "definition": "definition",
    "description": "definition",
    "inclusion": "inclusion",
    "inclusion criteria": "inclusion",
    "exclusion": "exclusion",
    "exclusion criteria": "exclusion",
    "color": "color",
    "colour": "color",
    "typical example": "typical_example",
    "typical_example": "typical_example",
    "atypical example": "atypical_example",
    "atypical_example": "atypical_example",
}
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")


def split_path(raw: str) -> tuple[str, ...]:
    """Names from the top: "A > B" and "A/B" both give ("A", "B"); ">" wins when both appear."""
    separator = ">" if ">" in raw else "/"
    return tuple(" ".join(part.split()) for part in raw.split(separator) if part.strip())


def parse_codebook_sheet(filename: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[list[Theme], list[str]]:
    """The tree a sheet describes and notes on what was adjusted; ImportRefused otherwise."""
    name = check_filename(filename)
    extension = extension_of(name)
    if extension not in ACCEPTED:
        raise ImportRefused(f"Codebook sheets can be .csv or .xlsx files; {quoted(name)} is not one of these.")
    check_size(name, data, max_bytes, "codebook sheets")
    with refusing_failures(f"{quoted(name)} could not be read as a codebook sheet."):
        rows, notes = (read_csv_rows if extension == ".csv" else read_xlsx_rows)(name, data)
        return _build(name, rows, list(notes))


def _build(name: str, rows, notes: list[str]) -> tuple[list[Theme], list[str]]:
    columns: dict[str, int] | None = None
    top: list[Theme] = []
    by_path: dict[tuple[str, ...], Theme] = {}
    n_rows = 0
    for number, cells in enumerate(rows, start=1):
        if not any(cells):
            continue
        if columns is None:
            columns = {}
            for index, heading in enumerate(cells):
                key = HEADINGS.get(" ".join(heading.lower().replace("_", " ").split()))
                if key and key not in columns:
                    columns[key] = index
            if "path" not in columns:
                raise ImportRefused(
                    f"{quoted(name)} has no “path” column. Head one column “path” and write each code as "
                    "“Theme/Subtheme” or “Theme > Subtheme”."
                )
            continue
        n_rows += 1
        if n_rows > MAX_ROWS:
            raise ImportRefused(f"{quoted(name)} has more than {MAX_ROWS:,} codes, which is more than peercoding imports.")

        def cell(key: str) -> str:
            index = columns.get(key)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        path = split_path(cell("path"))
        if not path:
            notes.append(f"Row {number} has no path and was skipped.")
            continue
        if any(len(part) > MAX_NAME for part in path):
            raise ImportRefused(f"{quoted(name)}: a code name in row {number} is longer than {MAX_NAME} characters.")
        key = tuple(part.lower() for part in path)
        theme = by_path.get(key)
        if theme is None:
            theme = _ensure(path, top, by_path)
        elif any(theme.fields().values()):
            notes.append(f"Row {number} repeats the path “{' > '.join(path)}”; its cells were merged into the first.")
        for field in TEXT_FIELDS:
            value = cell(field)
            if value and not getattr(theme, field):
                setattr(theme, field, value)
        color = cell("color")
        if color:
            match = _COLOUR.match(color)
            if match:
                theme.color = "#" + match.group(1).lower()
            else:
                notes.append(f"Row {number}: the colour {color[:20]!r} is not written as #rrggbb and was ignored.")
    if columns is None:
        raise ImportRefused(f"{quoted(name)} is empty.")
    if not by_path:
        raise ImportRefused(f"{quoted(name)} names no codes.")
    return top, notes


def _ensure(path: tuple[str, ...], top: list[Theme], by_path: dict) -> Theme:
    siblings, theme = top, None
    for depth in range(len(path)):
        key = tuple(part.lower() for part in path[: depth + 1])
        theme = by_path.get(key)
        if theme is None:
            theme = Theme(name=path[depth], guid=str(uuid.uuid4()))
            by_path[key] = theme
            siblings.append(theme)
        siblings = theme.children
    return theme
