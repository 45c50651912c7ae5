"""Shapes that importers return, and the one error they raise. No Django imports."""

from __future__ import annotations

from dataclasses import dataclass, field

ACCEPTED_FORMATS = (".docx", ".txt", ".vtt", ".srt")
ACCEPTED_SHEET_FORMATS = (".csv", ".xlsx")

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB


class ImportRefused(Exception):
    """A file peercoding will not import; `message` is one or two sentences for the researcher."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Turn:
    """One speaker turn; offsets are code points into ParsedTranscript.text, end exclusive."""

    start: int
    end: int
    speaker: str
    body_start: int
    time_ms: int | None = None


@dataclass
class ParsedTranscript:
    text: str
    turns: list[Turn]
    format: str
    notes: list[str] = field(default_factory=list)


@dataclass
class SheetColumn:
    name: str
    kind: str  # "text" | "number" | "date" | "choice"
    choices: list[str] = field(default_factory=list)


@dataclass
class SheetRow:
    label: str
    values: dict[str, str]


@dataclass
class ParticipantSheet:
    """Participant attributes: `columns` excludes the label column, whose heading is `label_column`."""

    columns: list[SheetColumn]
    rows: list[SheetRow]
    label_column: str = ""
    notes: list[str] = field(default_factory=list)


def quoted(name: str) -> str:
    return f"\u201c{name}\u201d"


def describe_size(n_bytes: int) -> str:
    """Return a size for messages: "20 MB", "0.5 MB", or KB/bytes below 0.1 MB."""
    if n_bytes >= MB // 10:
        return f"{n_bytes / MB:.1f}".removesuffix(".0") + " MB"
    if n_bytes >= 1024:
        return f"{n_bytes // 1024} KB"
    return f"{n_bytes} bytes"


def list_formats(formats: tuple[str, ...]) -> str:
    return ", ".join(formats[:-1]) + " and " + formats[-1]
