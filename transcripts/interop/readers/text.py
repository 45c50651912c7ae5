"""Plain-text transcripts (.txt), and the decoding shared by captions and CSV sheets.

No Django imports. Accepted encodings: UTF-8 (with or without a byte order mark) and UTF-16
with a byte order mark. Nothing is guessed: bytes that do not decode are refused with the
line and byte offset (counted from 0 at the start of the file) where decoding failed.
"""

from __future__ import annotations

import codecs

from transcripts.spans import normalize_text

from .base import ImportRefused, ParsedTranscript, quoted
from .speakers import detect_turns
from .safety import OLE_MAGIC

_ZIP_MAGIC = b"PK\x03\x04"


def decode_text(name: str, data: bytes, *, save_as: str = "UTF-8 text") -> tuple[str, list[str]]:
    """Return the decoded text (BOM removed) and notes; ImportRefused when it does not decode."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, skip, label = "utf-8", 3, "UTF-8"
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding, skip, label = "utf-16-le", 2, "UTF-16"
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, skip, label = "utf-16-be", 2, "UTF-16"
    else:
        encoding, skip, label = "utf-8", 0, "UTF-8"
        if b"\x00" in data:
            raise ImportRefused(
                f"{quoted(name)} contains NUL bytes; it looks like a binary file, not {save_as}."
            )
    body = data[skip:]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = _line_of(body[: exc.start], encoding)
        raise ImportRefused(
            f"{quoted(name)} is not valid {label} text: line {line}, byte {skip + exc.start}. "
            f"Save it as {save_as} and try again."
        ) from exc
    if "\x00" in text:
        raise ImportRefused(
            f"{quoted(name)} contains NUL characters; it looks like a binary file, not {save_as}."
        )
    notes = [f"Read as {label}."] if label == "UTF-16" else []
    return text, notes


def _line_of(good_prefix: bytes, encoding: str) -> int:
    # The prefix before the failing byte decodes; a UTF-16 prefix may end mid code unit.
    text = good_prefix.decode(encoding, errors="ignore")
    return text.count("\n") + text.count("\r") - text.count("\r\n") + 1


def trim_blank_edges(text: str) -> tuple[str, int]:
    """Drop whitespace-only lines at the start and end; return the text and how many led."""
    lines = text.split("\n")
    first, last = 0, len(lines)
    while first < last and not lines[first].strip():
        first += 1
    while last > first and not lines[last - 1].strip():
        last -= 1
    return "\n".join(lines[first:last]), first


def parse_txt(name: str, data: bytes) -> ParsedTranscript:
    """Parse a .txt transcript; ImportRefused for binary or undecodable files."""
    if data.startswith(_ZIP_MAGIC) or data.startswith(OLE_MAGIC):
        raise ImportRefused(
            f"{quoted(name)} looks like a Word or other Office file, not plain text. "
            "Give it its real extension (such as .docx) and try again."
        )
    raw, notes = decode_text(name, data)
    text, _ = trim_blank_edges(normalize_text(raw))
    return ParsedTranscript(text=text, turns=detect_turns(text), format="txt", notes=notes)
