"""A project's units, coding and rejections from the database, in the shapes units.py takes.

Whose coding a model learns from is decided here (`learning_scope`, `coding_to_learn`): the one
place blind coding reaches the suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from ..models import Excerpt, Membership, Project, SpeakerTurn, Transcript
from .units import Coded, Example, Turn, Unit, label, units_of


def units_by_transcript(transcript_ids: Iterable[int]) -> dict[int, list[Unit]]:
    """transcript id -> its units, in two queries."""
    ids = list(transcript_ids)
    turns: dict[int, list[Turn]] = {pk: [] for pk in ids}
    for row in SpeakerTurn.objects.filter(transcript_id__in=ids).order_by("transcript_id", "start").values_list(
        "transcript_id", "start", "body_start", "end", "role"
    ):
        turns[row[0]].append(Turn(*row[1:]))
    texts = Transcript.objects.filter(pk__in=ids).values_list("pk", "text")
    return {pk: units_of(pk, text, turns[pk]) for pk, text in texts}


def learning_scope(membership: Membership) -> int | None:
    """Whose coding this member's suggestions learn from: None for the whole team, else their user id.

    While any of the project's coding is blind to this member, their model learns from their own
    coding and the consensus alone, so a suggestion can never tell them what another coder did.
    """
    project = membership.project
    if membership.is_lead() or project.comparison_open:
        return None
    if project.blind_coding or project.transcripts.filter(blind_coding=True).exists():
        return membership.user_id
    return None


def coding_to_learn(project: Project, scope: int | None) -> Q:
    """The excerpts a model for `scope` (see learning_scope) learns from, as a filter on Excerpt."""
    if scope is None:
        return Q(transcript__project=project)
    mine_or_settled = Q(coder_id=scope, is_consensus=False) | Q(is_consensus=True)
    if not project.blind_coding:
        mine_or_settled |= Q(transcript__blind_coding=False)
    return Q(transcript__project=project) & mine_or_settled


def coded(project: Project, scope: int | None) -> list[Coded]:
    """The excerpts to learn from, with their codes (archived codes left out: they are no longer suggested)."""
    rows = (
        Excerpt.objects.filter(coding_to_learn(project, scope), applications__code__archived=False)
        .values_list("pk", "transcript_id", "start", "end", "applications__code_id")
        .order_by("pk")
    )
    found: dict[int, tuple[int, int, int, set[int]]] = {}
    for pk, transcript, start, end, code in rows:
        found.setdefault(pk, (transcript, start, end, set()))[3].add(code)
    return [Coded(t, s, e, frozenset(codes)) for t, s, e, codes in found.values()]


def examples_by_transcript(
    project: Project, scope: int | None, rejected: Iterable[tuple[int, int, int, int]] = ()
) -> dict[int, list[Example]]:
    """transcript id -> its labelled units, for every transcript with coding to learn from."""
    excerpts = coded(project, scope)
    units = units_by_transcript(sorted({excerpt.transcript for excerpt in excerpts}))
    return {pk: label(found, excerpts, rejected) for pk, found in units.items()}
