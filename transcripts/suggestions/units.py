"""Units and their labels: what the suggestions learn from and are made for. Pure: no Django.

A unit is a stretch of the participant's speech: a turn, or a passage of a few sentences of a
long turn. Interviewer turns are never units. A unit's labels are the codes whose excerpts cover
most of it; a code that touches a unit without covering most of it leaves the unit out of that
code's learning and scoring, because nobody said it is, or is not, about that code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .. import spans

INTERVIEWER = "interviewer"
MOST = 0.5  # a code labels a unit when its excerpts cover more than this share of the unit
SENTENCES_PER_PASSAGE = 3
SHORTEST_UNIT = 25  # characters; "Yeah." and "Mm-hmm, right." say nothing to learn from
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")


@dataclass(frozen=True)
class Turn:
    start: int
    body_start: int
    end: int
    role: str


@dataclass(frozen=True)
class Unit:
    transcript: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Coded:
    """One excerpt, reduced to what learning needs."""

    transcript: int
    start: int
    end: int
    codes: frozenset[int]


@dataclass(frozen=True)
class Example:
    """A unit with what is known of it: codes it has, codes left open, codes a coder rejected on it."""

    unit: Unit
    positive: frozenset[int] = frozenset()
    unsure: frozenset[int] = frozenset()
    rejected: frozenset[int] = field(default_factory=frozenset)
    # A unit of a transcript nobody coded yet says something only about the codes rejected on it.
    coded: bool = True

    def label(self, code: int) -> bool | None:
        """True, False, or None when this unit says nothing about `code`."""
        if code in self.positive:
            return True
        if code in self.rejected:
            return False
        return None if code in self.unsure or not self.coded else False


def stripped(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without the whitespace at either end."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of text[start:end], as spans of text."""
    found, position = [], start
    for match in SENTENCE_END.finditer(text, start, end):
        found.append((position, match.start()))
        position = match.end()
    found.append((position, end))
    trimmed = [stripped(text, a, b) for a, b in found]
    return [(a, b) for a, b in trimmed if b > a]


def passages(text: str, start: int, end: int, per_passage: int = SENTENCES_PER_PASSAGE) -> list[tuple[int, int]]:
    """text[start:end] cut into passages of `per_passage` sentences; a short last one joins the one before."""
    parts = sentences(text, start, end)
    groups = [parts[i : i + per_passage] for i in range(0, len(parts), per_passage)]
    if len(groups) > 1 and len(groups[-1]) < per_passage and groups[-1][-1][1] - groups[-1][0][0] < SHORTEST_UNIT * 4:
        last = groups.pop()
        groups[-1] = groups[-1] + last
    return [(group[0][0], group[-1][1]) for group in groups]


def speech_spans(text: str, turns: Sequence[Turn]) -> list[tuple[int, int]]:
    """Where the participant speaks: every turn's speech but the interviewer's; the lines when no turn is known."""
    if turns:
        return [(turn.body_start, turn.end) for turn in turns if turn.role != INTERVIEWER]
    spans_, position = [], 0
    for line in text.split("\n"):
        spans_.append((position, position + len(line)))
        position += len(line) + 1
    return spans_


def units_of(transcript: int, text: str, turns: Sequence[Turn]) -> list[Unit]:
    """The transcript's units in reading order."""
    units = []
    for start, end in speech_spans(text, turns):
        for a, b in passages(text, *stripped(text, start, end)):
            if b - a >= SHORTEST_UNIT:
                units.append(Unit(transcript, a, b, text[a:b]))
    return units


def coverage(unit: Unit, spans_of_code: Sequence[tuple[int, int]]) -> float:
    """The share of the unit's characters inside the (merged) spans."""
    inside = spans.length(spans.intersect([(unit.start, unit.end)], spans_of_code))
    return inside / (unit.end - unit.start)


def label(units: Sequence[Unit], coded: Iterable[Coded], rejected: Iterable[tuple[int, int, int, int]] = ()) -> list[Example]:
    """Each unit with its labels from the excerpts (and rejections: (transcript, start, end, code))."""
    by_code: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for excerpt in coded:
        for code in excerpt.codes:
            by_code.setdefault((excerpt.transcript, code), []).append((excerpt.start, excerpt.end))
    merged: dict[int, list[tuple[int, list[tuple[int, int]]]]] = {}  # transcript -> (code, its merged spans)
    for (transcript, code), value in by_code.items():
        merged.setdefault(transcript, []).append((code, spans.merge(value)))
    refused: dict[tuple[int, int, int], set[int]] = {}
    for transcript, start, end, code in rejected:
        refused.setdefault((transcript, start, end), set()).add(code)
    examples = []
    for unit in units:
        positive, unsure = set(), set()
        for code, code_spans in merged.get(unit.transcript, []):
            share = coverage(unit, code_spans)
            if share > MOST:
                positive.add(code)
            elif share > 0:
                unsure.add(code)
        no = refused.get((unit.transcript, unit.start, unit.end), set()) - positive
        examples.append(Example(unit, frozenset(positive), frozenset(unsure), frozenset(no)))
    return examples
