"""Checks that stored coding still matches the text it quotes."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Excerpt, Transcript


@dataclass
class Mismatch:
    excerpt_id: int
    transcript_id: int
    reason: str


def check_excerpts(transcripts=None) -> tuple[int, list[Mismatch]]:
    """Compare every excerpt's stored quote with its transcript's text at its offsets.

    Reads one transcript at a time, so memory stays bounded however large the project.
    Returns the number of excerpts checked and the mismatches found.
    """
    transcripts = Transcript.objects.all() if transcripts is None else transcripts
    checked = 0
    problems: list[Mismatch] = []
    for transcript in transcripts.order_by("pk").iterator(chunk_size=20):
        text = transcript.text
        rows = Excerpt.objects.filter(transcript=transcript).values_list("pk", "start", "end", "quote")
        for pk, start, end, quote in rows.iterator(chunk_size=2000):
            checked += 1
            if not 0 <= start < end <= len(text):
                problems.append(Mismatch(pk, transcript.pk, f"offsets {start}–{end} fall outside the text"))
            elif text[start:end] != quote:
                problems.append(Mismatch(pk, transcript.pk, f"the text at {start}–{end} no longer equals the quote"))
    return checked, problems
