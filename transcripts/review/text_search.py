"""Full-text search: keyword in context across the transcripts the filters leave."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from .. import spans
from ..models import Code, Excerpt, Project, SpeakerTurn, Transcript
from .filters import ReviewFilters

MAX_HITS = 1000


@dataclass
class Hit:
    transcript: Transcript
    start: int
    end: int
    before: str
    match: str
    after: str
    line: int
    coded: bool = False  # already coded with the chosen code by the user

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.transcript.pk, self.start, self.end)


def search_pattern(query: str, *, whole_words: bool) -> re.Pattern | None:
    """The words of `query` in sequence, any whitespace between them, case-insensitive.

    With whole_words, a hit may not start or end inside a word ("care" finds "self-care" but
    not "careful"); without, any substring matches.
    """
    words = query.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    if whole_words:
        body = r"(?<!\w)" + body + r"(?!\w)"
    return re.compile(body, re.IGNORECASE)


def preselect(transcripts: QuerySet, query: str, whole_words: bool) -> QuerySet:
    """On PostgreSQL, only transcripts whose stored full-text vector has every word (0009).

    The 'simple' configuration does not stem, so every whole-word hit found in Python is in a
    transcript this keeps. Substring search and queries without word characters scan everything.
    """
    if connection.vendor != "postgresql" or not whole_words or not re.search(r"\w", query):
        return transcripts
    return transcripts.filter(
        RawSQL(
            "transcripts_transcript.search_vector @@ plainto_tsquery('simple'::regconfig, %s)",
            [query],
            output_field=BooleanField(),
        )
    )


def search(
    project: Project, filters: ReviewFilters, query: str, *, whole_words: bool = True, width: int = 60
) -> list[Hit]:
    """Keyword-in-context hits in the transcripts the filters leave, in transcript order (two queries).

    With "leave out interviewer turns", hits inside an interviewer turn are dropped.
    """
    pattern = search_pattern(query, whole_words=whole_words)
    if pattern is None:
        return []
    interviewer: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if filters.no_interviewer:
        for transcript_id, start, end in SpeakerTurn.objects.filter(
            transcript__in=filters.transcript_queryset(project).values("pk"), role=SpeakerTurn.Role.INTERVIEWER
        ).values_list("transcript_id", "start", "end"):
            interviewer[transcript_id].append((start, end))
    # Read a few texts at a time and stop once there are more hits than a page shows: a common
    # word across a thousand transcripts costs the first few texts, not all of them.
    transcripts = (
        preselect(filters.transcript_queryset(project), query, whole_words)
        .select_related("participant")
        .order_by("title", "pk")
        .iterator(chunk_size=20)
    )
    hits: list[Hit] = []
    for transcript in transcripts:
        text = transcript.text
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s <= start and end <= e for s, e in interviewer.get(transcript.pk, ())):
                continue
            hits.append(
                Hit(
                    transcript=transcript,
                    start=start,
                    end=end,
                    before=text[max(0, start - width) : start],
                    match=text[start:end],
                    after=text[end : end + width],
                    line=spans.line_at(transcript.line_breaks, start),
                )
            )
            if len(hits) > MAX_HITS:
                return hits
    return hits


def mark_coded(hits: list[Hit], code: Code, user) -> None:
    """Set `.coded` on hits the user already coded with `code` at exactly that span (one query)."""
    if not hits:
        return
    done = set(
        Excerpt.objects.filter(
            transcript_id__in={hit.transcript.pk for hit in hits}, coder=user, applications__code=code
        ).values_list("transcript_id", "start", "end")
    )
    for hit in hits:
        hit.coded = hit.key in done


def hits_digest(hits: list[Hit]) -> str:
    """Names a preview: applying is refused when the hits changed since the user saw them."""
    payload = ";".join(f"{t}:{s}:{e}" for t, s, e in (hit.key for hit in hits))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]