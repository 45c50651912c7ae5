"""Pure text work: normalization, offsets, quotes and overlaps. No Django imports.

Offsets everywhere in peercoding count Unicode code points of the normalized text, end
exclusive, exactly like Python string indices. Browsers count UTF-16 code units; the two
conversion functions below are the only place where that difference is handled on the server
(static/js/offsets.js is its twin in the browser).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Interval = tuple[int, int]  # half-open (start, end), in code points

# Removed at import: the C0 and C1 control characters except tab and line feed (NUL, BEL, ESC,
# DEL, ...), and the byte order mark. One regular expression keeps this fast on big files.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")
# What XML 1.0 cannot carry, and the C1 controls: never stored in a code, so no export can hold
# them. Word's manual line and page breaks (U+000B, U+000C) are line breaks the writer meant.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_WORD_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})


def normalize_text(raw: str) -> str:
    """Return text as peercoding stores it: NFC, `\\n` line ends, no BOM or control characters.

    CRLF and lone CR become LF; the Unicode line and paragraph separators (U+2028, U+2029)
    and NEL become LF too, so that a line means the same thing to every tool.
    """
    text = _LINE_BREAKS.sub("\n", raw)
    text = _UNWANTED.sub("", text)
    return unicodedata.normalize("NFC", text)


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


BOUNDARY_MOVES = frozenset({"start-left", "start-right", "end-left", "end-right"})


def word_left(text: str, position: int) -> int:
    """The start of the word before `position`, passing over the whitespace in between."""
    i = position
    while i > 0 and text[i - 1].isspace():
        i -= 1
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


def word_right(text: str, position: int) -> int:
    """The end of the word after `position`, passing over the whitespace in between."""
    i = position
    while i < len(text) and text[i].isspace():
        i += 1
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def move_boundary(text: str, start: int, end: int, move: str) -> tuple[int, int]:
    """[start, end) with one boundary moved by a word, one of BOUNDARY_MOVES ("start-left"...).

    Words here are runs of non-whitespace. Moving a boundary inwards keeps at least one
    character; ValueError for an unknown move.
    """
    if move == "start-left":
        start = word_left(text, start)
    elif move == "start-right":
        start = min(word_right(text, start), end - 1)
    elif move == "end-left":
        end = max(word_left(text, end), start + 1)
    elif move == "end-right":
        end = word_right(text, end)
    else:
        raise ValueError(f"unknown boundary move {move!r}")
    return start, end


def clamp(text: str, start: int, end: int) -> tuple[int, int]:
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    return start, end


def overlap(a: Interval, b: Interval) -> int:
    """Number of code points two half-open spans share."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of intervals; touching intervals become one."""
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The parts of merged list `a` outside merged list `b`."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        position = start
        while j < len(b) and b[j][1] <= position:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > position:
                out.append((position, b[k][0]))
            position = max(position, b[k][1])
            k += 1
        if position < end:
            out.append((position, end))
    return out


def length(intervals: Iterable[Interval]) -> int:
    """Code points in the intervals (count overlaps twice: merge first)."""
    return sum(end - start for start, end in intervals)


@dataclass(frozen=True)
class Line:
    number: int
    start: int
    end: int


def line_number_at(text: str, offset: int) -> int:
    """1-based line number of the character at `offset`."""
    return text.count("\n", 0, offset) + 1


def newline_offsets(text: str) -> list[int]:
    """The offset of every "\\n" in text, in order (what Transcript.line_breaks stores)."""
    found, at = [], text.find("\n")
    while at != -1:
        found.append(at)
        at = text.find("\n", at + 1)
    return found


def line_at(breaks: Sequence[int], offset: int) -> int:
    """line_number_at(text, offset), from newline_offsets(text) alone."""
    return bisect.bisect_left(breaks, offset) + 1


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


@dataclass(frozen=True)
class Replacement:
    start: int
    end: int
    original: str
    replacement: str


def find_replacements(text: str, rules: list[tuple[str, str]]) -> list[Replacement]:
    """Whole-word, case-insensitive matches of each rule's original, longest rules first.

    Matches never overlap: where "Ann Lee" and "Ann" both match, the longer one wins.
    """
    ordered = sorted((r for r in rules if r[0].strip()), key=lambda r: len(r[0]), reverse=True)
    taken: list[tuple[int, int]] = []
    found: list[Replacement] = []
    for original, replacement in ordered:
        pattern = re.compile(r"(?<!\w)" + re.escape(original.strip()) + r"(?!\w)", re.IGNORECASE)
        for match in pattern.finditer(text):
            span = (match.start(), match.end())
            if any(overlap(span, other) for other in taken):
                continue
            taken.append(span)
            found.append(Replacement(span[0], span[1], match.group(0), replacement))
    found.sort(key=lambda r: r.start)
    return found


def apply_replacements(text: str, replacements: list[Replacement]) -> str:
    parts: list[str] = []
    position = 0
    for item in replacements:
        parts.append(text[position : item.start])
        parts.append(item.replacement)
        position = item.end
    parts.append(text[position:])
    return "".join(parts)


def shift_offset(offset: int, replacements: list[Replacement]) -> int:
    """Where `offset` lands after the replacements; inside a replaced span it maps to its end."""
    delta = 0
    for item in replacements:
        if offset <= item.start:
            break
        if offset < item.end:
            return item.start + delta + len(item.replacement)
        delta += len(item.replacement) - (item.end - item.start)
    return offset + delta


@dataclass(slots=True)
class Segment:
    text: str
    start: int
    label: bool  # part of a speaker label
    excerpts: tuple[int, ...]  # ids of the excerpts that cover it


@dataclass
class Paragraph:
    number: int
    start: int
    end: int  # end of the line, before its "\n"
    segments: list[Segment]
    speaker_role: str = ""
    turn_start: bool = False
    has_newline: bool = True


def layout(
    text: str,
    labels: list[tuple[int, int]],
    excerpts: list[tuple[int, int, int]],
    roles: list[tuple[int, int, str]] = (),
) -> list[Paragraph]:
    """Cut the text into lines, and each line into runs that share the same covering excerpts.

    `labels` are (start, end) spans of speaker labels, `excerpts` are (id, start, end), `roles`
    are (start, end, role) of speaker turns. Concatenating every segment's text, plus a "\\n"
    after each paragraph that has one, gives back exactly `text`.
    """
    lines = _line_bounds(text)
    cuts = {0, len(text)}
    for start, end in labels:
        cuts.update((start, end))
    for _, start, end in excerpts:
        cuts.update((start, end))
    for line_start, line_end, _ in lines:
        cuts.update((line_start, line_end))
    points = sorted(cuts)
    if points[0] < 0 or points[-1] > len(text):
        points = [c for c in points if 0 <= c <= len(text)]
    line_segments = _segments(text, points, lines, labels, excerpts)
    return _paragraphs(lines, line_segments, roles)


def _line_bounds(text: str) -> list[tuple[int, int, bool]]:
    """(start, end before the "\\n", whether a "\\n" follows) of every line."""
    position = 0
    lines: list[tuple[int, int, bool]] = []
    while True:
        newline = text.find("\n", position)
        if newline == -1:
            lines.append((position, len(text), False))
            return lines
        lines.append((position, newline, True))
        position = newline + 1


def _segments(
    text: str,
    points: list[int],
    lines: list[tuple[int, int, bool]],
    labels: list[tuple[int, int]],
    excerpts: list[tuple[int, int, int]],
) -> list[list[Segment]]:
    """Each line's segments, from one sweep over the points: which excerpts and labels cover
    each elementary interval. Line starts and ends are points too, so an interval lies inside
    one line or is its "\\n"."""
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for excerpt_id, start, end in excerpts:
        starts.setdefault(start, []).append(excerpt_id)
        ends.setdefault(end, []).append(excerpt_id)
    label_starts = {start for start, _ in labels}
    label_ends = {end for _, end in labels}
    line_segments: list[list[Segment]] = [[] for _ in lines]
    line_ends = [end for _, end, _ in lines]
    active: set[int] = set()
    covering: tuple[int, ...] = ()
    in_label = False
    line = 0
    for point, stop in zip(points, points[1:]):
        gone, new = ends.get(point), starts.get(point)
        if gone:
            active.difference_update(gone)
        if point in label_ends:
            in_label = False
        if new:
            active.update(new)
        if point in label_starts:
            in_label = True
        if gone or new:
            covering = tuple(sorted(active))
        while point > line_ends[line]:
            line += 1
        if point < line_ends[line]:  # at the line's end is its "\n", which no segment holds
            line_segments[line].append(Segment(text[point:stop], point, in_label, covering))
    return line_segments


def _paragraphs(
    lines: list[tuple[int, int, bool]], line_segments: list[list[Segment]], roles: Sequence[tuple[int, int, str]]
) -> list[Paragraph]:
    """One paragraph a line, with the role of the speaker turn it lies in."""
    turn_starts = {start: role for start, _, role in roles}
    turn_spans = sorted(roles)
    paragraphs: list[Paragraph] = []
    turn_index = 0
    for number, ((line_start, line_end, has_newline), segments) in enumerate(zip(lines, line_segments), start=1):
        while turn_index < len(turn_spans) and turn_spans[turn_index][1] <= line_start:
            turn_index += 1
        role = ""
        if turn_index < len(turn_spans) and turn_spans[turn_index][0] <= line_start < turn_spans[turn_index][1]:
            role = turn_spans[turn_index][2]
        paragraphs.append(
            Paragraph(
                number=number,
                start=line_start,
                end=line_end,
                segments=segments,
                speaker_role=role,
                turn_start=line_start in turn_starts,
                has_newline=has_newline,
            )
        )
    return paragraphs


def normalize_with_map(raw: str) -> tuple[str, list[int], list[int]]:
    """normalize_text(raw), and for each position 0..len(raw) in raw its position in the result.

    Two maps: `down` for starts, `up` for ends. They differ only inside characters that
    normalisation merges (CRLF, a letter and its combining accents): a start there moves back to
    the merged character's start, an end forward to its end, so the excerpt holds it whole.
    """
    # Step 1, unit by unit: line breaks to LF, control characters and BOMs out.
    pieces: list[str] = []
    down1 = [0] * (len(raw) + 1)
    up1 = [0] * (len(raw) + 1)
    n = index = 0
    while index < len(raw):
        width = 2 if raw.startswith("\r\n", index) else 1
        piece = normalize_text(raw[index : index + width])
        down1[index] = up1[index] = n
        if width == 2:
            down1[index + 1], up1[index + 1] = n, n + len(piece)
        pieces.append(piece)
        n += len(piece)
        index += width
    down1[len(raw)] = up1[len(raw)] = n
    middle = "".join(pieces)
    # Step 2: NFC over the whole, by groups that compose only among themselves.
    down2, up2 = _nfc_maps(middle)
    text = unicodedata.normalize("NFC", middle)
    if text != normalize_text(raw):  # cannot happen unless normalize_text changes; never store a wrong map
        raise ValueError("the offset map does not reproduce the normalised text")
    return text, [down2[i] for i in down1], [up2[i] for i in up1]


def _nfc_maps(text: str) -> tuple[list[int], list[int]]:
    identity = list(range(len(text) + 1))
    if unicodedata.is_normalized("NFC", text):
        return identity, identity
    # Clusters start at characters of combining class 0; neighbours are merged while NFC joins them.
    starts = [i for i, ch in enumerate(text) if i == 0 or unicodedata.combining(ch) == 0] + [len(text)]
    groups: list[tuple[int, int]] = []
    begin = 0
    for a, b in zip(starts[1:-1], starts[2:], strict=False):
        if unicodedata.normalize("NFC", text[begin:b]) == unicodedata.normalize("NFC", text[begin:a]) + unicodedata.normalize(
            "NFC", text[a:b]
        ):
            groups.append((begin, a))
            begin = a
    if text:
        groups.append((begin, len(text)))
    down = [0] * (len(text) + 1)
    up = [0] * (len(text) + 1)
    n = 0
    for a, b in groups:
        size = len(unicodedata.normalize("NFC", text[a:b]))
        down[a] = up[a] = n
        for i in range(a + 1, b):
            down[i], up[i] = n, n + size
        n += size
    down[len(text)] = up[len(text)] = n
    return down, up


def without_control_characters(text: str) -> str:
    """`text` with Word's line and page breaks as line feeds and other control characters removed;
    tab, line feed and carriage return stay."""
    return _CONTROLS.sub("", text.translate(_WORD_BREAKS))
