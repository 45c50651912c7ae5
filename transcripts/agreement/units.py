"""Inter-coder agreement on a project's coding, from plain tuples. No Django imports.

The statistics themselves are in `agreement.py`; this module decides what the units are, builds
each coder's decisions on them from excerpts, and finds the disagreements behind each figure.

Character level (the way NVivo reports agreement)
    A unit is one character of the participant's speech: the body of every speaker turn whose
    role is "participant", speaker labels left out. A transcript with no participant turns uses
    all of its text, and the report says so. For each code, each coder either coded a character
    with it (1: some excerpt of theirs carrying the code covers it) or did not (0). On these
    decisions: percent agreement (two coders; with more, the mean over every pair), Cohen's
    kappa (exactly two coders) and Krippendorff's alpha (nominal, any number of coders).
    "All codes pooled" concatenates every code's decisions: n units = characters x codes.
    Codes no chosen coder used are left out of the table and of the pool.

Segment level (in the manner of MAXQDA)
    For one code, a coder's excerpt carrying it matches another coder when that coder has an
    excerpt with the same code that overlaps it by at least `threshold` of the longer of the two:
    overlap(a, b) >= threshold x max(len(a), len(b)). An excerpt counts as matched when it
    matches every other chosen coder. Agreement = matched / (matched + unmatched), over the
    excerpts of all chosen coders. Excerpts are taken whole (not cut to the participant's speech).

Intervals are half-open (start, end) pairs of code point offsets. The work is interval
arithmetic (in `spans`), and the per-character vectors are byte strings filled by slice, so the only
per-character work runs in C.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import combinations
from operator import and_, or_
from typing import NamedTuple

from ..spans import Interval, intersect, merge, overlap, subtract
from .statistics import UndefinedStatistic, cohen_kappa, kappa_is_unstable, krippendorff_alpha, percent_agreement

PARTICIPANT = "participant"
POOLED = None  # the code id of the "all codes pooled" row


class Span(NamedTuple):
    """One excerpt as the agreement needs it."""

    excerpt_id: int
    coder: int
    start: int
    end: int
    codes: tuple[int, ...]


class TranscriptCoding(NamedTuple):
    """One transcript: its length, its turns as (start, end, body_start, role), and its excerpts."""

    transcript_id: int
    text_length: int
    turns: Sequence[tuple[int, int, int, str]]
    spans: Sequence[Span]


# Units -----------------------------------------------------------------------------------------


def speech_units(text_length: int, turns: Iterable[tuple[int, int, int, str]]) -> tuple[list[Interval], bool]:
    """The participant's speech as merged intervals, and whether it came from participant turns.

    Without participant turns the whole text is the unit space (second value False).
    """
    speech = merge((body_start, end) for start, end, body_start, role in turns if role == PARTICIPANT)
    if speech:
        return speech, True
    return ([(0, text_length)] if text_length else []), False


class UnitSpace:
    """Maps text offsets inside the units to positions in a vector of len(units) characters."""

    def __init__(self, units: Sequence[Interval]) -> None:
        self.units = list(units)
        self.starts = [start for start, _ in self.units]
        self.bases: list[int] = []
        total = 0
        for start, end in self.units:
            self.bases.append(total)
            total += end - start
        self.size = total

    def vector(self, coded: Sequence[Interval]) -> bytes:
        """1 for each unit character inside `coded` (merged, already cut to the units), else 0."""
        vector = bytearray(self.size)
        for start, end in coded:
            index = bisect_right(self.starts, start) - 1
            base = self.bases[index] + start - self.starts[index]
            vector[base : base + end - start] = b"\x01" * (end - start)
        return bytes(vector)


# Results ---------------------------------------------------------------------------------------


@dataclass
class Figure:
    """A statistic's value, or why it has none."""

    value: float | None = None
    reason: str = ""

    @property
    def defined(self) -> bool:
        return self.value is not None


def _figure(compute, *args) -> Figure:
    try:
        return Figure(value=compute(*args))
    except UndefinedStatistic as error:
        return Figure(reason=_plain(str(error)))


def _plain(reason: str) -> str:
    """The statistics module speaks of labels; here label 0 means "not coded", 1 "coded"."""
    return reason.replace("label (0)", "label (not coded)").replace("label (1)", "label (coded)").replace(
        "value is 0", "value is “not coded”"
    ).replace("value is 1", "value is “coded”")


@dataclass
class SegmentCounts:
    matched: int = 0
    unmatched: int = 0

    @property
    def total(self) -> int:
        return self.matched + self.unmatched

    @property
    def agreement(self) -> Figure:
        if not self.total:
            return Figure(reason="no excerpt of the chosen coders carries this code")
        return Figure(value=self.matched / self.total)


@dataclass
class CodeAgreement:
    code_id: int | None  # None: all codes pooled
    n_units: int  # characters (for the pooled row: characters x codes)
    coded: dict[int, int]  # coder -> units they coded with the code
    percent: Figure
    kappa: Figure | None  # None when there are not exactly two coders
    alpha: Figure
    prevalence: float  # share of all coders' decisions that are "coded"
    unstable: bool
    n_disagreeing: int  # units on which the coders differ
    segments: SegmentCounts = field(default_factory=SegmentCounts)


@dataclass
class Disagreement:
    """A passage where the coders differ on one code."""

    kind: str  # "characters": a run of characters; "segment": an excerpt without a match
    transcript_id: int
    code_id: int
    start: int
    end: int
    coders: tuple[int, ...]  # who coded (some of) it with the code
    excerpt_id: int  # the excerpt to open on the transcript page


@dataclass
class Report:
    coders: list[int]
    threshold: float
    transcripts: list[int]
    participant_only: dict[int, bool]  # transcript -> units came from participant turns
    n_characters: int
    rows: list[CodeAgreement]
    pooled: CodeAgreement

    def row(self, code_id: int | None) -> CodeAgreement | None:
        if code_id is None:
            return self.pooled
        return next((row for row in self.rows if row.code_id == code_id), None)


# The computation -------------------------------------------------------------------------------


def _coded_intervals(spans: Iterable[Span], coder: int, code: int) -> list[Interval]:
    return merge((s.start, s.end) for s in spans if s.coder == coder and code in s.codes)


def _pair_table(a: bytes, b: bytes) -> tuple[int, int, int, int]:
    """(neither, only b, only a, both) for two 0/1 vectors, counted with whole-number bit operations."""
    both = (int.from_bytes(a, "big") & int.from_bytes(b, "big")).bit_count()
    only_a, only_b = a.count(1) - both, b.count(1) - both
    return len(a) - both - only_a - only_b, only_b, only_a, both


def pair_stats(a: bytes, b: bytes) -> tuple[Figure, Figure, Figure] | None:
    """Percent agreement, Cohen's kappa and Krippendorff's alpha (nominal) for two coders and
    binary units, from their 2 x 2 table: the same figures as the general functions, without
    walking a million units in Python. None when a figure is undefined, so the general
    functions state the reason."""
    n00, n01, n10, n11 = _pair_table(a, b)
    n = n00 + n01 + n10 + n11
    coded_a, coded_b = (n10 + n11) / n, (n01 + n11) / n
    expected = coded_a * coded_b + (1 - coded_a) * (1 - coded_b)
    values_0, values_1 = 2 * n00 + n01 + n10, 2 * n11 + n01 + n10  # pairable values of each kind
    if not n or expected == 1 or not values_0 or not values_1:
        return None
    observed = (n00 + n11) / n
    kappa = (observed - expected) / (1 - expected)
    alpha = 1 - (2 * n - 1) * (n01 + n10) / (values_0 * values_1)
    return Figure(value=observed), Figure(value=kappa), Figure(value=alpha)


def _stats(vectors: list[bytes]) -> tuple[Figure, Figure | None, Figure]:
    if len(vectors) == 2 and (fast := pair_stats(vectors[0], vectors[1])) is not None:
        return fast
    pairs = list(combinations(vectors, 2))
    percents = [_figure(percent_agreement, a, b) for a, b in pairs]
    if all(p.defined for p in percents):
        percent = Figure(value=sum(p.value for p in percents) / len(percents))
    else:
        percent = next(p for p in percents if not p.defined)
    kappa = _figure(cohen_kappa, vectors[0], vectors[1]) if len(vectors) == 2 else None
    alpha = _figure(krippendorff_alpha, vectors)
    return percent, kappa, alpha


def _row(code_id: int | None, vectors: list[bytes], coders: Sequence[int], segments: SegmentCounts) -> CodeAgreement:
    n_units = len(vectors[0]) if vectors else 0
    coded = {coder: vector.count(1) for coder, vector in zip(coders, vectors)}
    decisions = n_units * len(vectors)
    prevalence = sum(coded.values()) / decisions if decisions else 0.0
    if n_units:
        percent, kappa, alpha = _stats(vectors)
    else:
        reason = "there are no units: no participant speech in the chosen transcripts"
        percent, alpha = Figure(reason=reason), Figure(reason=reason)
        kappa = Figure(reason=reason) if len(vectors) == 2 else None
    disagreeing = _count_disagreeing(vectors)
    return CodeAgreement(
        code_id=code_id,
        n_units=n_units,
        coded=coded,
        percent=percent,
        kappa=kappa,
        alpha=alpha,
        prevalence=prevalence,
        unstable=kappa_is_unstable(prevalence, n_units) if n_units else True,
        n_disagreeing=disagreeing,
        segments=segments,
    )


def _count_disagreeing(vectors: list[bytes]) -> int:
    """Units on which the coders did not all decide alike: (anyone coded) and not (everyone coded)."""
    if not vectors or not vectors[0]:
        return 0
    numbers = [int.from_bytes(vector, "big") for vector in vectors]  # one bit per unit, 0 or 1
    return (reduce(or_, numbers) & ~reduce(and_, numbers)).bit_count()


def segment_counts(spans: Sequence[Span], coders: Sequence[int], code: int, threshold: float) -> tuple[SegmentCounts, list[Span]]:
    """Matched and unmatched excerpts for one code, and the unmatched ones."""
    by_coder = {coder: [s for s in spans if s.coder == coder and code in s.codes] for coder in coders}
    counts = SegmentCounts()
    unmatched: list[Span] = []
    for coder in coders:
        for span in by_coder[coder]:
            if all(
                any(_segments_match(span, other, threshold) for other in by_coder[peer]) for peer in coders if peer != coder
            ):
                counts.matched += 1
            else:
                counts.unmatched += 1
                unmatched.append(span)
    return counts, unmatched


def _segments_match(a: Span, b: Span, threshold: float) -> bool:
    longer = max(a.end - a.start, b.end - b.start)
    # A small tolerance, so that e.g. 0.3 x 10 (3.0000000000000004) does not refuse an overlap of 3.
    return overlap((a.start, a.end), (b.start, b.end)) >= threshold * longer - 1e-9


def compare(
    transcripts: Sequence[TranscriptCoding], coders: Sequence[int], *, threshold: float = 0.5
) -> Report:
    """Agreement of `coders` (two or more) on the given transcripts, per code and pooled."""
    if len(coders) < 2:
        raise ValueError("agreement needs at least two coders")
    if not 0 < threshold <= 1:
        raise ValueError("the overlap threshold must be above 0 and at most 1 (100%)")
    coders = list(coders)
    chosen = set(coders)
    codes = sorted(
        {code for t in transcripts for s in t.spans if s.coder in chosen for code in s.codes}
    )
    per_code: dict[int, list[list[bytes]]] = {code: [[] for _ in coders] for code in codes}
    segments: dict[int, SegmentCounts] = {code: SegmentCounts() for code in codes}
    participant_only: dict[int, bool] = {}
    n_characters = 0
    for transcript in transcripts:
        units, from_turns = speech_units(transcript.text_length, transcript.turns)
        participant_only[transcript.transcript_id] = from_turns
        space = UnitSpace(units)
        n_characters += space.size
        spans = [s for s in transcript.spans if s.coder in chosen]
        for code in codes:
            for index, coder in enumerate(coders):
                coded = intersect(_coded_intervals(spans, coder, code), units)
                per_code[code][index].append(space.vector(coded))
            counts, _ = segment_counts(spans, coders, code, threshold)
            segments[code].matched += counts.matched
            segments[code].unmatched += counts.unmatched
    rows = []
    pooled_vectors: list[list[bytes]] = [[] for _ in coders]
    pooled_segments = SegmentCounts()
    for code in codes:
        vectors = [b"".join(parts) for parts in per_code[code]]
        rows.append(_row(code, vectors, coders, segments[code]))
        for index, vector in enumerate(vectors):
            pooled_vectors[index].append(vector)
        pooled_segments.matched += segments[code].matched
        pooled_segments.unmatched += segments[code].unmatched
    pooled = _row(POOLED, [b"".join(parts) for parts in pooled_vectors], coders, pooled_segments)
    return Report(
        coders=coders,
        threshold=threshold,
        transcripts=[t.transcript_id for t in transcripts],
        participant_only=participant_only,
        n_characters=n_characters,
        rows=rows,
        pooled=pooled,
    )


def disagreements(
    transcripts: Sequence[TranscriptCoding],
    coders: Sequence[int],
    codes: Iterable[int],
    *,
    threshold: float = 0.5,
) -> list[Disagreement]:
    """The passages behind the figures for `codes`: character runs where the coders differ
    (inside the units), then excerpts without a match at the segment level."""
    chosen = set(coders)
    out: list[Disagreement] = []
    for transcript in transcripts:
        units, _ = speech_units(transcript.text_length, transcript.turns)
        spans = [s for s in transcript.spans if s.coder in chosen]
        for code in codes:
            coded = {coder: intersect(_coded_intervals(spans, coder, code), units) for coder in coders}
            union = merge(interval for intervals in coded.values() for interval in intervals)
            common = union
            for intervals in coded.values():
                common = intersect(common, intervals)
            for start, end in merge(subtract(union, common)):
                who = tuple(c for c in coders if any(overlap((start, end), i) for i in coded[c]))
                out.append(
                    Disagreement(
                        kind="characters",
                        transcript_id=transcript.transcript_id,
                        code_id=code,
                        start=start,
                        end=end,
                        coders=who,
                        excerpt_id=_best_excerpt(spans, code, (start, end)),
                    )
                )
            _, unmatched = segment_counts(spans, coders, code, threshold)
            for span in unmatched:
                out.append(
                    Disagreement(
                        kind="segment",
                        transcript_id=transcript.transcript_id,
                        code_id=code,
                        start=span.start,
                        end=span.end,
                        coders=(span.coder,),
                        excerpt_id=span.excerpt_id,
                    )
                )
    out.sort(key=lambda d: (d.kind != "characters", d.transcript_id, d.start, d.code_id))
    return out


def _best_excerpt(spans: Sequence[Span], code: int, run: Interval) -> int:
    """The excerpt with the code that covers most of the run (the earliest on a tie)."""
    best = max(
        (s for s in spans if code in s.codes and overlap((s.start, s.end), run)),
        key=lambda s: (overlap((s.start, s.end), run), -s.start, -s.excerpt_id),
    )
    return best.excerpt_id


# Reconciliation ---------------------------------------------------------------------------------


@dataclass
class Cluster:
    """Coders' excerpts that overlap one another (any code), to be settled together."""

    start: int
    end: int
    spans: list[Span]
    # "codes": a code given here by some coders and not others; "extent": every coder gave the
    # same codes but over different characters; "agree": same codes over the same characters.
    status: str

    @property
    def excerpt_ids(self) -> list[int]:
        return sorted(s.excerpt_id for s in self.spans)

    @property
    def differs(self) -> bool:
        return self.status != "agree"


STATUS_ORDER = {"codes": 0, "extent": 1, "agree": 2}


def clusters(spans: Sequence[Span], coders: Sequence[int]) -> list[Cluster]:
    """Group overlapping excerpts of the coders into clusters, disagreements first, then by place.

    Two clusters never overlap: an excerpt that overlaps any excerpt of a cluster joins it.
    """
    chosen = set(coders)
    ordered = sorted((s for s in spans if s.coder in chosen), key=lambda s: (s.start, s.end, s.excerpt_id))
    groups: list[list[Span]] = []
    reach = -1
    for span in ordered:
        if groups and span.start < reach:
            groups[-1].append(span)
            reach = max(reach, span.end)
        else:
            groups.append([span])
            reach = span.end
    out = []
    for group in groups:
        status = "agree"
        for code in {code for s in group for code in s.codes}:
            extents = {tuple(_coded_intervals(group, coder, code)) for coder in coders}
            if () in extents:
                status = "codes"  # somebody did not give this code here at all
                break
            if len(extents) > 1:
                status = "extent"
        out.append(Cluster(min(s.start for s in group), max(s.end for s in group), group, status))
    out.sort(key=lambda c: (STATUS_ORDER[c.status], c.start))
    return out
