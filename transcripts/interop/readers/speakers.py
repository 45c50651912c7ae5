"""Speaker turns in plain text: which lines start a turn, and where each turn ends.

No Django imports. A line starts a turn when it begins with a speaker label in one of these
forms (leading spaces and tabs are allowed and are not part of the turn):

    Interviewer: So how did it start?          label, ":" and a space (or end of line)
    [00:03:14] P07: It started at school.      a bracketed time before the label
    Speaker 1 (00:03): Right.                  a bracketed time after the label
    Speaker 2  00:03:14                        label, 2+ spaces or a tab, time; speech below
    Interviewer<TAB>So how did it start?       label and a tab (a Word table row)

and, for Word documents, a bold label the caller found (`bold_labels`).

Labels are at most 40 characters: the well-known ones (Interviewer, Interviewee, Respondent,
I, R, Q, A, P07, Participant 7, Speaker 2) or 1-3 capitalised words with an optional title
and number ("Dr. Smith", "Jane Doe", "Student 3"). A label that is not well known counts only
when the same label (ignoring case) starts at least two lines, so "Note: ..." once is text;
timestamped label lines count as soon as the text has two of them.
Lines without a label continue the current turn; lines before the first turn are in none.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from .base import Turn

MAX_LABEL = 40

_TIME = r"\d{1,2}(?::\d{1,2}){1,2}(?:[.,]\d{1,3})?"
_COLON = re.compile(
    rf"(?:[\[(](?P<pre>{_TIME})[\])][ \t]*)?"
    r"(?P<label>[^\s:\uff1a\[\]()][^:\uff1a\t]{0,39}?)"
    rf"(?:[ \t]*[\[(](?P<post>{_TIME})[\])])?"
    r"[ \t]*[:\uff1a](?=[ \t]|$)"
)
_STAMP = re.compile(rf"(?P<label>\S.{{0,39}}?)(?:[ \t]{{2,}}|\t)[ \t]*(?P<time>{_TIME})[ \t]*$")
_TAB = re.compile(r"(?P<label>[^\s:\uff1a][^\t:\uff1a]{0,39}?)[ ]*\t+(?=\S)")
_WELL_KNOWN = re.compile(
    r"[IRQA]|P\d{1,4}"
    r"|(?i:participant|speaker) ?\d{1,4}"
    r"|(?i:interviewer|interviewee|respondent)(?: ?\d{1,4})?"
)
_TITLES = {"dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "mx", "mx.", "prof", "prof."}
_NAME_PUNCTUATION = set("'\u2019-.")
_SEPARATOR_SPACE = " \t"


def parse_clock(value: str) -> int | None:
    """Milliseconds for "1:02:03", "03:14", "3:14.5" or "00:03:14,250"; None if not a time."""
    head, _, fraction = value.replace(",", ".").partition(".")
    parts = head.split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    if fraction and not fraction.isdigit():
        return None
    numbers = [int(p) for p in parts]
    if any(n >= 60 for n in numbers[1:]):
        return None
    if len(numbers) == 2:
        numbers.insert(0, 0)
    hours, minutes, seconds = numbers
    millis = int((fraction + "00")[:3]) if fraction else 0
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def is_well_known_label(label: str) -> bool:
    return _WELL_KNOWN.fullmatch(label) is not None


@functools.lru_cache(maxsize=4096)
def looks_like_label(label: str) -> bool:
    """True for a well-known label or 1-3 capitalised words (optional title and number)."""
    if not label or len(label) > MAX_LABEL or label != label.strip():
        return False
    if is_well_known_label(label):
        return True
    words = label.split(" ")
    if len(words) > 1 and words[0].casefold() in _TITLES:
        words = words[1:]
    if len(words) > 1 and words[-1].isdigit():
        words = words[:-1]
    return 1 <= len(words) <= 3 and all(_is_name_word(word) for word in words)


def _is_name_word(word: str) -> bool:
    if not word or not word[0].isalpha() or word[0].islower() or word[-1] == "-":
        return False
    return all(ch.isalpha() or ch in _NAME_PUNCTUATION for ch in word)


def label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def split_colon_label(line: str) -> tuple[str, int] | None:
    """("Jane Doe", offset after ": ") when `line` starts with "Label: "; else None."""
    match = _COLON.match(line)
    if match is None or match.group("pre") or match.group("post"):
        return None
    label = match.group("label").strip()
    if not looks_like_label(label):
        return None
    return label, _skip(line, match.end(), _SEPARATOR_SPACE)


@dataclass(frozen=True)
class _Candidate:
    kind: str  # "bold" | "stamp" | "colon" | "tab"
    speaker: str
    start_col: int
    body_col: int
    time_ms: int | None


def detect_turns(text: str, bold_labels: Mapping[int, str] | None = None) -> list[Turn]:
    """Turns in reading order; `bold_labels` maps 0-based line numbers to a label at their start."""
    bold_labels = bold_labels or {}
    lines = text.split("\n")
    starts = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1

    candidates = [_candidate(line, bold_labels.get(index)) for index, line in enumerate(lines)]
    counts = Counter(label_key(c.speaker) for c in candidates if c is not None)
    stamped = sum(1 for c in candidates if c is not None and c.kind == "stamp")

    def accepted(candidate: _Candidate | None) -> bool:
        if candidate is None:
            return False
        if candidate.kind == "stamp" and stamped >= 2:
            return True  # "Name  0:03" lines are distinctive enough once there are two
        return is_well_known_label(candidate.speaker) or counts[label_key(candidate.speaker)] >= 2

    turns: list[Turn] = []
    open_turn: tuple[int, _Candidate] | None = None
    content_end = 0
    for index, line in enumerate(lines):
        candidate = candidates[index]
        if accepted(candidate):
            if open_turn is not None:
                turns.append(_close(text, starts, open_turn, content_end))
            open_turn = (index, candidate)
            content_end = starts[index] + len(line.rstrip())
        elif open_turn is not None and line.strip():
            content_end = starts[index] + len(line.rstrip())
    if open_turn is not None:
        turns.append(_close(text, starts, open_turn, content_end))
    return turns


def _close(text: str, starts: list[int], open_turn: tuple[int, _Candidate], end: int) -> Turn:
    index, candidate = open_turn
    start = starts[index] + candidate.start_col
    body_start = min(_skip(text, starts[index] + candidate.body_col, " \t\n", end), end)
    return Turn(
        start=start,
        end=end,
        speaker=candidate.speaker,
        body_start=max(body_start, start),
        time_ms=candidate.time_ms,
    )


def _skip(text: str, position: int, chars: str, limit: int | None = None) -> int:
    limit = len(text) if limit is None else limit
    while position < limit and text[position] in chars:
        position += 1
    return position


def _candidate(line: str, bold_label: str | None) -> _Candidate | None:
    indent = len(line) - len(line.lstrip(" \t"))
    rest = line[indent:]
    if not rest:
        return None
    if bold_label and rest.startswith(bold_label):
        speaker = bold_label.strip().rstrip(":\uff1a").strip()
        if looks_like_label(speaker):
            body = _skip(rest, len(bold_label), _SEPARATOR_SPACE)
            if body < len(rest) and rest[body] in ":\uff1a":
                body += 1
            return _Candidate("bold", speaker, indent, indent + body, None)
    if len(rest) <= 100:
        match = _STAMP.match(rest)
        if match is not None:
            label = match.group("label").strip()
            time_ms = parse_clock(match.group("time"))
            if time_ms is not None and looks_like_label(label):
                return _Candidate("stamp", label, indent, len(line), time_ms)
    match = _COLON.match(rest)
    if match is not None:
        label = match.group("label").strip()
        stamp = match.group("pre") or match.group("post")
        time_ms = parse_clock(stamp) if stamp else None
        if looks_like_label(label) and (stamp is None or time_ms is not None):
            return _Candidate("colon", label, indent, indent + match.end(), time_ms)
    match = _TAB.match(rest)
    if match is not None:
        label = match.group("label").strip()
        if looks_like_label(label):
            return _Candidate("tab", label, indent, indent + match.end(), None)
    return None
