"""How a file counted its positions, told from evidence, and the conversion to code points.

The REFI-QDA specification counts code points, end exclusive. NVivo for Windows counts UTF-16
code units (an emoji is two), and some tools count a byte-order mark before the text. Each
reading is scored on all of a file's selections: a boundary that maps inside the text scores,
and one that falls between words (not between two letters or digits) scores again. The best
reading wins; on a tie the specification's code points do.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

CODE_POINTS = "code points"
UTF16 = "UTF-16 code units"
CODE_POINTS_BOM = "code points after a byte-order mark"
UTF16_BOM = "UTF-16 code units after a byte-order mark"
READINGS = (CODE_POINTS, UTF16, CODE_POINTS_BOM, UTF16_BOM)  # tie order after the preferred one


def preferred_reading(origin: str) -> str:
    """The reading to take on a tie: UTF-16 units for NVivo on Windows, else the specification's."""
    tool = origin.lower()
    return UTF16 if "nvivo" in tool and "mac" not in tool else CODE_POINTS


class PositionMap:
    """Positions of one text under every reading, both ways."""

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.astral = [index for index, ch in enumerate(text) if ord(ch) > 0xFFFF]
        # Where each astral character starts when counted in UTF-16 units.
        self.astral_units = [index + rank for rank, index in enumerate(self.astral)]

    def to_code_points(self, position: int, reading: str) -> int | None:
        """The code-point index for `position` read as `reading`; None if it is not a boundary in the text."""
        if reading in (CODE_POINTS_BOM, UTF16_BOM):
            position = max(position - 1, 0)  # 0 is the mark itself: a selection that starts with it
        if reading in (UTF16, UTF16_BOM):
            before = bisect_left(self.astral_units, position)
            if before and self.astral_units[before - 1] + 1 == position:
                return None  # between the two halves of a surrogate pair
            position -= before
        return position if 0 <= position <= self.length else None

    def from_code_points(self, index: int, reading: str) -> int:
        """The position `reading` gives code-point index `index`."""
        position = index
        if reading in (UTF16, UTF16_BOM):
            position += bisect_left(self.astral, index)
        if reading in (CODE_POINTS_BOM, UTF16_BOM):
            position += 1
        return position


def _is_word(ch: str) -> bool:
    return ch.isalnum()


def on_word_boundary(text: str, index: int) -> bool:
    """True at either end of the text and wherever a letter or digit does not meet another."""
    if index <= 0 or index >= len(text):
        return True
    return not (_is_word(text[index - 1]) and _is_word(text[index]))


@dataclass
class Score:
    inside: int = 0  # boundaries that map into the text, with start <= end
    on_words: int = 0  # of those, boundaries that fall between words
    total: int = 0  # boundaries looked at

    def key(self) -> tuple[int, int]:
        return (self.inside, self.on_words)


def score_reading(texts_and_spans: Iterable[tuple[str, PositionMap, list[tuple[int, int]]]], reading: str) -> Score:
    """How well `reading` fits the selections (start, end) of every (text, map, spans) given."""
    score = Score()
    for text, positions, spans in texts_and_spans:
        for start, end in spans:
            score.total += 2
            first = positions.to_code_points(start, reading)
            last = positions.to_code_points(end, reading)
            if first is None or last is None or first > last:
                continue
            score.inside += 2
            score.on_words += on_word_boundary(text, first) + on_word_boundary(text, last)
    return score


def choose_reading(
    sources: list[tuple[str, list[tuple[int, int]]]], prefer: str = CODE_POINTS
) -> tuple[str, dict[str, Score]]:
    """The reading that fits the selections best, and every reading's score.

    `sources` pairs each text with the (start, end) positions its selections give in the file.
    With no selections, or when readings tie, the answer is `prefer` (code points unless the
    file names a tool known to count otherwise).
    """
    prepared = [(text, PositionMap(text), spans) for text, spans in sources if spans]
    scores = {reading: score_reading(prepared, reading) for reading in READINGS}
    best = prefer
    for reading in READINGS:
        if scores[reading].key() > scores[best].key():
            best = reading
    return best, scores


def convert(text: str, spans: list[tuple[int, int]], reading: str) -> list[tuple[int, int] | None]:
    """Each (start, end) as code points under `reading`; None where it does not fit the text."""
    positions = PositionMap(text)
    converted: list[tuple[int, int] | None] = []
    for start, end in spans:
        first = positions.to_code_points(start, reading)
        last = positions.to_code_points(end, reading)
        converted.append((first, last) if first is not None and last is not None and first <= last else None)
    return converted
