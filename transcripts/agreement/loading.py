"""A project's coding from the database, in the plain shapes `units` computes agreement on."""

from __future__ import annotations

from django.db.models import Count

from ..models import CodeApplication, Excerpt, Project, SpeakerTurn
from .units import Span, TranscriptCoding


def coders_by_transcript(project: Project) -> dict[int, dict[int, int]]:
    """transcript id -> {coder id: number of their original excerpts}."""
    out: dict[int, dict[int, int]] = {}
    rows = (
        Excerpt.objects.filter(transcript__project=project, is_consensus=False)
        .values_list("transcript_id", "coder_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for transcript_id, coder_id, n in rows:
        out.setdefault(transcript_id, {})[coder_id] = n
    return out


def load_codings(transcripts: list, coders: list[int]) -> list[TranscriptCoding]:
    """Each chosen transcript's length, turns and the coders' original excerpts: two queries.

    The transcripts carry `length`, annotated by the caller, so their text is not loaded here."""
    ids = [t.pk for t in transcripts]
    spans: dict[int, dict[int, list]] = {pk: {} for pk in ids}
    rows = CodeApplication.objects.filter(
        excerpt__transcript_id__in=ids, excerpt__coder_id__in=coders, excerpt__is_consensus=False
    ).values_list("excerpt__transcript_id", "excerpt_id", "excerpt__coder_id", "excerpt__start", "excerpt__end", "code_id")
    for transcript_id, excerpt_id, coder_id, start, end, code_id in rows:
        entry = spans[transcript_id].setdefault(excerpt_id, [coder_id, start, end, []])
        entry[3].append(code_id)
    turns: dict[int, list] = {pk: [] for pk in ids}
    for transcript_id, *turn in SpeakerTurn.objects.filter(transcript_id__in=ids).values_list(
        "transcript_id", "start", "end", "body_start", "role"
    ):
        turns[transcript_id].append(tuple(turn))
    return [
        TranscriptCoding(
            t.pk,
            t.length,
            turns[t.pk],
            [
                Span(excerpt_id, coder, start, end, tuple(sorted(codes)))
                for excerpt_id, (coder, start, end, codes) in sorted(spans[t.pk].items())
            ],
        )
        for t in transcripts
    ]
