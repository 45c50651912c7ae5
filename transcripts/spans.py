"""Pure text work: normalization, offsets, quotes and overlaps. No Django imports.

Offsets everywhere in peercoding count Unicode code points of the normalized text, end
exclusive, exactly like Python string indices. Browsers count UTF-16 code units; the two
conversion functions below are the only place where that difference is handled on the server
(static/js/offsets.js is its twin in the browser).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

# Characters kept besides printable text: line feed and tab. Everything else in the C0/C1
# control ranges (NUL, BEL, ESC, DEL, ...) and the BOM is removed at import.
_KEEP = {"\n", "\t"}
_DROP = {"\ufeff"}


def normalize_text(raw: str) -> str:
    """Return text as peercoding stores it: NFC, `\\n` line ends, no BOM or control characters.

    CRLF and lone CR become LF; the Unicode line and paragraph separators (U+2028, U+2029)
    and NEL become LF too, so that a line means the same thing to every tool.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n").replace("\x85", "\n")
    text = "".join(ch for ch in text if _keeps(ch))
    return unicodedata.normalize("NFC", text)


def _keeps(ch: str) -> bool:
    if ch in _KEEP:
        return True
    if ch in _DROP:
        return False
    return unicodedata.category(ch) != "Cc"


def is_normalized(text: str) -> bool:
    return normalize_text(text) == text


def content_hash(text: str) -> str:
    """SHA-256 of the normalized text's UTF-8 bytes, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utf16_to_codepoint(text: str, offset16: int) -> int:
    """Convert a UTF-16 code unit offset (as a browser counts) into a code point offset.

    An offset that falls between the two halves of a surrogate pair is moved back to the
    start of that character, so a selection never splits an emoji.
    """
    if offset16 < 0:
        raise ValueError("offset must not be negative")
    units = 0
    for index, ch in enumerate(text):
        if units >= offset16:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > offset16:
            return index
    if units < offset16:
        raise ValueError("offset is past the end of the text")
    return len(text)


def codepoint_to_utf16(text: str, offset: int) -> int:
    """Convert a code point offset into the UTF-16 code unit offset a browser would use."""
    if not 0 <= offset <= len(text):
        raise ValueError("offset is outside the text")
    head = text[:offset]
    return len(head) + sum(1 for ch in head if ord(ch) > 0xFFFF)


def _is_word_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    return ch.isalnum() or category.startswith("M") or ch in "'’-_"


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole words and trim surrounding whitespace.

    A selection that begins or ends in the middle of a word takes in the whole word;
    leading and trailing spaces and line breaks are dropped. Combining marks stay with
    their base letter.
    """
    start, end = clamp(text, start, end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        return start, end
    while start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
        start -= 1
    while end < len(text) and _is_word_char(text[end]) and _is_word_char(text[end - 1]):
        end += 1
    return start, end


def clamp(text: str, start: int, end: int) -> tuple[int, int]:
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    return start, end


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Number of code points two half-open spans share."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


@dataclass(frozen=True)
class Line:
    number: int
    start: int
    end: int


def line_number_at(text: str, offset: int) -> int:
    """1-based line number of the character at `offset`."""
    return text.count("\n", 0, offset) + 1


def check_span(text: str, start: int, end: int) -> None:
    """Raise ValueError unless [start, end) is a non-empty span inside text."""
    if not isinstance(start, int) or not isinstance(end, int):
        raise ValueError("offsets must be whole numbers")
    if start < 0:
        raise ValueError("start must not be negative")
    if end <= start:
        raise ValueError("end must come after start")
    if end > len(text):
        raise ValueError("end is past the end of the text")
