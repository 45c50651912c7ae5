"""Caption transcripts: WebVTT (.vtt, as Zoom, Teams and Otter export them) and SubRip (.srt).

No Django imports. Each cue's speaker comes from a voice tag (`<v Name>`, `<v.loud Name>`)
or from a "Name: " prefix in its text; a "Name:" prefix counts under the same rule as in
plain text (well known, or used on at least two cues). Other tags are stripped and character
references (&amp; &lt; &gt; &nbsp; ...) decoded. Consecutive cues by one speaker, and cues
with no speaker after them, are joined with a space into one turn, stored as one line
"Speaker: text" (or just the text before any speaker is named), with the first cue's start
time. Blank-line separated blocks that have no readable timing are refused with their line.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field

from transcripts.spans import normalize_text

from .base import ImportRefused, ParsedTranscript, Turn, quoted
from .speakers import is_well_known_label, label_key, split_colon_label
from .text import decode_text

_TIMESTAMP = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_SPACES = re.compile(r"[ \t\n]+")
_VTT_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


@dataclass(slots=True)
class _Segment:
    speaker: str | None
    text: str
    prefixed: str | None = None  # a "Name:" label found in the text, not yet accepted
    body: str = ""


@dataclass(slots=True)
class _Cue:
    line: int
    start_ms: int
    segments: list[_Segment] = field(default_factory=list)


@dataclass(slots=True)
class _TurnDraft:
    speaker: str | None
    time_ms: int
    texts: list[str]


def parse_vtt(name: str, data: bytes) -> ParsedTranscript:
    """Parse a WebVTT file; ImportRefused when the header, a timing or every cue is missing."""
    raw, notes = decode_text(name, data)
    lines = _split_lines(raw)
    if not lines or not re.match(r"WEBVTT(?:[ \t]|$)", lines[0]):
        raise ImportRefused(
            f"{quoted(name)} is not a WebVTT caption file: line 1 should start with WEBVTT."
        )
    first = 1
    while first < len(lines) and lines[first].strip() and "-->" not in lines[first]:
        first += 1  # header lines such as "Kind: captions"
    cues = _read_cues(name, lines, first, vtt=True)
    return _build(name, cues, "vtt", notes)


def parse_srt(name: str, data: bytes) -> ParsedTranscript:
    """Parse a SubRip file; ImportRefused when a timing or every cue is missing."""
    raw, notes = decode_text(name, data)
    cues = _read_cues(name, _split_lines(raw), 0, vtt=False)
    return _build(name, cues, "srt", notes)


def _split_lines(raw: str) -> list[str]:
    return raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _read_cues(name: str, lines: list[str], first: int, *, vtt: bool) -> list[_Cue]:
    example = "00:00:01.000 --> 00:00:04.000" if vtt else "00:00:01,000 --> 00:00:04,000"
    cues: list[_Cue] = []
    index = first
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        block_start = index
        while index < len(lines) and lines[index].strip():
            index += 1
        block = lines[block_start:index]
        head = block[0].strip()
        if vtt and any(head == word or head.startswith(word + " ") or head.startswith(word + "\t")
                       for word in _VTT_SKIPPED_BLOCKS):
            continue
        if "-->" in block[0]:
            timing_at = 0
        elif len(block) > 1 and "-->" in block[1]:
            timing_at = 1  # a cue identifier (SRT: the cue number)
        else:
            raise ImportRefused(
                f"{quoted(name)} has no caption timing on line {block_start + 1 + min(1, len(block) - 1)}; "
                f"expected something like {example}."
            )
        cue = _cue_at(name, block[timing_at], block_start + timing_at + 1, example)
        texts: list[str] = []
        for offset, line in enumerate(block[timing_at + 1 :], start=timing_at + 1):
            if "-->" in line and re.match(r"\s*\d", line):
                # A new cue without the blank line before it.
                if not vtt and texts and texts[-1].strip().isdigit():
                    texts.pop()
                cue.segments = _segments(texts)
                cues.append(cue)
                cue, texts = _cue_at(name, line, block_start + offset + 1, example), []
            else:
                texts.append(line)
        cue.segments = _segments(texts)
        cues.append(cue)
    if not cues:
        raise ImportRefused(
            f"No caption cues were found in {quoted(name)} (read {len(lines)} lines); "
            f"each cue needs a timing like {example}."
        )
    return cues


def _cue_at(name: str, line: str, line_number: int, example: str) -> _Cue:
    left, _, right = line.partition("-->")
    right_parts = right.split()
    start = _milliseconds(left.strip())
    end = _milliseconds(right_parts[0]) if right_parts else None
    if start is None or end is None or end < start:
        shown = line.strip()[:80]
        raise ImportRefused(
            f"{quoted(name)} has a caption timing that cannot be read on line {line_number} "
            f"({shown!r}); expected something like {example}."
        )
    return _Cue(line=line_number, start_ms=start)


def _milliseconds(value: str) -> int | None:
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        return None
    millis = int((fraction + "00")[:3]) if fraction else 0
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def _segments(texts: list[str]) -> list[_Segment]:
    """Split cue text at voice tags into (speaker, clean text) pieces."""
    raw = "\n".join(texts)
    segments: list[_Segment] = []
    voices = list(_VOICE.finditer(raw))
    if not voices or voices[0].start() > 0:
        segments.append(_Segment(None, _clean(raw[: voices[0].start() if voices else len(raw)])))
    for index, voice in enumerate(voices):
        end = voices[index + 1].start() if index + 1 < len(voices) else len(raw)
        speaker = _clean(voice.group(1) or "") or None
        segments.append(_Segment(speaker, _clean(raw[voice.end() : end])))
    for segment in segments:
        if segment.speaker is None:
            found = split_colon_label(segment.text)
            if found is not None:
                segment.prefixed, body_at = found
                segment.body = segment.text[body_at:]
    return [segment for segment in segments if segment.text or segment.speaker]


def _clean(text: str) -> str:
    text = html.unescape(_TAG.sub("", text))
    return _SPACES.sub(" ", text).strip()


def _build(name: str, cues: list[_Cue], fmt: str, notes: list[str]) -> ParsedTranscript:
    counts = Counter(
        label_key(segment.prefixed) for cue in cues for segment in cue.segments if segment.prefixed
    )
    drafts: list[_TurnDraft] = []
    for cue in cues:
        for segment in cue.segments:
            speaker, text = segment.speaker, segment.text
            if segment.prefixed and (
                is_well_known_label(segment.prefixed) or counts[label_key(segment.prefixed)] >= 2
            ):
                speaker, text = segment.prefixed, segment.body
            current = drafts[-1] if drafts else None
            if current is not None and (speaker is None or speaker == current.speaker):
                if text:
                    current.texts.append(text)
            elif text or speaker:
                drafts.append(_TurnDraft(speaker, cue.start_ms, [text] if text else []))
    lines: list[str] = []
    turns: list[Turn] = []
    position = 0
    for draft in drafts:
        speaker = _SPACES.sub(" ", normalize_text(draft.speaker or "")).strip()
        body = _SPACES.sub(" ", normalize_text(" ".join(draft.texts))).strip()
        if not speaker and not body:
            continue
        line = (f"{speaker}: {body}" if body else f"{speaker}:") if speaker else body
        body_start = position + min(len(speaker) + 2, len(line)) if speaker else position
        turns.append(Turn(position, position + len(line), speaker, body_start, draft.time_ms))
        lines.append(line)
        position += len(line) + 1
    text = "\n".join(lines)
    if not text.strip():
        raise ImportRefused(f"{quoted(name)} has caption timings but no caption text.")
    return ParsedTranscript(text=text, turns=turns, format=fmt, notes=notes)
