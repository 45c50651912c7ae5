"""A project's units, coding and rejections from the database, in the shapes units.py takes.

Whose coding a model learns from is decided here (`learning_scope`, `coding_to_learn`): the one
place blind coding reaches the suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from .. import spans
from ..models import (
    Code,
    Excerpt,
    Membership,
    Project,
    SpeakerTurn,
    SuggestionModel,
    SuggestionPrediction,
    SuggestionRejection,
    Transcript,
)
from .learning import LOWEST_PRECISION, THRESHOLD, from_bytes, most_similar
from .units import Coded, Example, Turn, Unit, coverage, label, units_of

if TYPE_CHECKING:
    from .model import Suggester


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


def coded(project: Project, scope: int | None, transcript_ids: Iterable[int] | None = None) -> list[Coded]:
    """The excerpts to learn from (in these transcripts, default all), with their codes (archived
    codes left out: they are no longer suggested)."""
    rows = Excerpt.objects.filter(coding_to_learn(project, scope), applications__code__archived=False)
    if transcript_ids is not None:
        rows = rows.filter(transcript_id__in=list(transcript_ids))
    rows = rows.values_list("pk", "transcript_id", "start", "end", "applications__code_id").order_by("pk")
    found: dict[int, tuple[int, int, int, set[int]]] = {}
    for pk, transcript, start, end, code in rows.iterator():
        found.setdefault(pk, (transcript, start, end, set()))[3].add(code)
    return [Coded(t, s, e, frozenset(codes)) for t, s, e, codes in found.values()]


def rejections(project: Project, scope: int | None) -> QuerySet:
    """The suggestions rejected by whoever `scope` learns from."""
    found = SuggestionRejection.objects.filter(transcript__project=project)
    return found if scope is None else found.filter(rejected_by_id=scope)


def transcripts_to_learn_from(project: Project, scope: int | None, *, with_rejections: bool) -> list[int]:
    """The ids of the transcripts with coding `scope` learns from (or, `with_rejections`, a rejected suggestion)."""
    coding = Excerpt.objects.filter(coding_to_learn(project, scope), applications__code__archived=False)
    found = set(coding.values_list("transcript_id", flat=True).distinct())
    if with_rejections:
        found.update(rejections(project, scope).values_list("transcript_id", flat=True).distinct())
    return sorted(found)


def examples_of(
    project: Project, scope: int | None, transcript_ids: Iterable[int], *, with_rejections: bool
) -> dict[int, list[Example]]:
    """transcript id -> its labelled units, for those of these transcripts with something to learn, in four queries.

    A transcript with rejections but no coding brings only its rejected units, as negatives for
    the codes rejected on them.
    """
    ids = list(transcript_ids)
    excerpts = coded(project, scope, ids)
    rejected = []
    if with_rejections:
        rejected = list(rejections(project, scope).filter(transcript_id__in=ids).values_list(
            "transcript_id", "start", "end", "code_id"
        ))
    with_coding = {excerpt.transcript for excerpt in excerpts}
    units = units_by_transcript(sorted(with_coding | {row[0] for row in rejected}))
    # Each transcript is labelled by its own excerpts alone: all of them for every transcript is
    # quadratic, hours at institution scale.
    excerpts_of: dict[int, list[Coded]] = {}
    for excerpt in excerpts:
        excerpts_of.setdefault(excerpt.transcript, []).append(excerpt)
    rejected_on: dict[int, list[tuple[int, int, int, int]]] = {}
    for row in rejected:
        rejected_on.setdefault(row[0], []).append(row)
    found = {pk: label(these, excerpts_of.get(pk, []), rejected_on.get(pk, [])) for pk, these in units.items()}
    for pk in set(found) - with_coding:
        found[pk] = [replace(example, coded=False) for example in found[pk] if example.rejected]
    return {pk: examples for pk, examples in found.items() if examples}


# A fit reads the labelled units this many transcripts at a time, so it holds a few transcripts'
# units and coding at once however large the project (sampling.py keeps what it learns from).
TRANSCRIPTS_PER_READ_TO_LEARN = 20


def read_examples(
    project: Project, scope: int | None, transcript_ids: Sequence[int], *, with_rejections: bool
) -> Iterator[tuple[int, list[Example]]]:
    """(transcript id, its labelled units) for those of these transcripts with something to learn,
    in their order, read TRANSCRIPTS_PER_READ_TO_LEARN at a time."""
    for first in range(0, len(transcript_ids), TRANSCRIPTS_PER_READ_TO_LEARN):
        batch = transcript_ids[first : first + TRANSCRIPTS_PER_READ_TO_LEARN]
        found = examples_of(project, scope, batch, with_rejections=with_rejections)
        yield from ((pk, found[pk]) for pk in batch if pk in found)


def examples_by_transcript(project: Project, scope: int | None, *, with_rejections: bool = False) -> dict[int, list[Example]]:
    """transcript id -> its labelled units, for every transcript with something to learn: the whole
    project at once, for small projects and tests (a fit reads them with read_examples)."""
    transcripts = transcripts_to_learn_from(project, scope, with_rejections=with_rejections)
    return dict(read_examples(project, scope, transcripts, with_rejections=with_rejections))


@dataclass(frozen=True)
class Suggestion:
    start: int
    end: int
    code: int
    probability: float
    precision: float | None  # measured on the project's own coding; None when no suggestion was made there


# The fitted model per row, kept while its version stands: unpickling costs more than predicting.
# Keyed by when it was fitted as well: a row recreated (suggestions off and on) starts again at version 1.
FITTED: dict[int, tuple[tuple, Suggester | None]] = {}


def fitted(row: SuggestionModel) -> Suggester | None:
    """The row's model, loaded once per version in this process."""
    stamp = (row.version, row.trained_at)
    cached = FITTED.get(row.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    data = SuggestionModel.objects.filter(pk=row.pk).values_list("data", flat=True).first()
    model = from_bytes(bytes(data)) if data else None
    FITTED[row.pk] = (stamp, model)
    return model


# Predictions per (model row, version, transcript, text): the panel is drawn again after every answer.
PREDICTED: dict[tuple, tuple[list[Unit], dict]] = {}
MOST_PREDICTIONS_KEPT = 500


def predicted(row: SuggestionModel, model: Suggester, transcript: Transcript) -> tuple[list[Unit], dict]:
    """The transcript's units and the model's probabilities for them, computed once per model version
    and text (an uncoded transcript's text can still change: de-identification moves its units)."""
    key = (row.pk, row.version, row.trained_at, transcript.pk, transcript.content_hash)
    if key not in PREDICTED:
        if len(PREDICTED) >= MOST_PREDICTIONS_KEPT:
            PREDICTED.clear()
        units = units_by_transcript([transcript.pk]).get(transcript.pk, [])
        PREDICTED[key] = (units, model.probabilities([unit.text for unit in units]))
    return PREDICTED[key]


def model_for(membership: Membership) -> SuggestionModel | None:
    """The model row this member's suggestions come from (its data left in the database), if any."""
    if not membership.project.suggestions_on or not membership.can_code():
        return None
    scope = learning_scope(membership)
    return SuggestionModel.objects.defer("data").filter(project=membership.project, learner_id=scope).first()


def reliable(row: SuggestionModel, code: int) -> bool:
    """Whether the code's measured precision, if it was measured, is high enough to suggest it."""
    precision = row.precision.get(str(code))
    return precision is None or precision >= LOWEST_PRECISION


def suggestions_for(transcript: Transcript, membership: Membership, row: SuggestionModel | None) -> list[Suggestion]:
    """What the model would code in this transcript for this member, in reading order.

    Left out: a code the member can already see on any part of the unit, a code they rejected
    there, archived codes, codes with too few examples (the model never learned them), and codes
    measured as right too rarely (`reliable`).
    """
    if row is None or not row.version:
        return []
    candidates = stored_candidates(row, transcript)
    if candidates is None:
        candidates = computed_candidates(row, transcript)
    live = set(Code.objects.filter(project_id=transcript.project_id, archived=False).values_list("pk", flat=True))
    seen: dict[int, list[tuple[int, int]]] = {}
    for start, end, code in Excerpt.objects.visible_to(membership).filter(transcript=transcript).values_list(
        "start", "end", "applications__code_id"
    ):
        seen.setdefault(code, []).append((start, end))
    refused = set(
        SuggestionRejection.objects.filter(transcript=transcript, rejected_by_id=membership.user_id).values_list(
            "start", "end", "code_id"
        )
    )
    merged = {code: spans.merge(found) for code, found in seen.items()}
    found = []
    for start, end, code, probability in candidates:
        if code not in live or not reliable(row, code) or (start, end, code) in refused:
            continue
        if coverage(Unit(transcript.pk, start, end, ""), merged.get(code, [])) > 0:
            continue
        found.append(Suggestion(start, end, code, probability, row.precision.get(str(code))))
    return sorted(found, key=lambda s: (s.start, -s.probability))


def stored_candidates(row: SuggestionModel, transcript: Transcript) -> list[tuple[int, int, int, float]] | None:
    """What the fit stored for this transcript (training.predict_every_transcript), or None when it
    stored nothing for this version of the model and of the text."""
    stored = (
        SuggestionPrediction.objects.filter(
            model_id=row.pk, transcript_id=transcript.pk, version=row.version, content_hash=transcript.content_hash
        )
        .values_list("found", flat=True)
        .first()
    )
    return None if stored is None else [(start, end, code, probability) for start, end, code, probability in stored]


def computed_candidates(row: SuggestionModel, transcript: Transcript) -> list[tuple[int, int, int, float]]:
    """The same, computed here with the model (a transcript newer than the fit, or a text changed since)."""
    model = fitted(row)
    if model is None:
        return []
    units, probabilities = predicted(row, model, transcript)
    return [
        (unit.start, unit.end, code, float(probability))
        for code, column in probabilities.items()
        for unit, probability in zip(units, column)
        if probability >= THRESHOLD
    ]


# Find-similar compares the excerpt with at most this many uncoded units a request, read from
# TRANSCRIPTS_PER_READ transcripts at a time (the excerpt's own first), and reads at most
# MOST_SIMILAR_TRANSCRIPTS (a project coded almost everywhere has few uncoded units); the page
# offers the next transcripts, so a project of any size costs a bounded request each (bench/README.md).
MOST_SIMILAR_CANDIDATES = 3_000
MOST_SIMILAR_TRANSCRIPTS = 100
TRANSCRIPTS_PER_READ = 10


@dataclass
class SimilarFound:
    found: list[tuple[Unit, float]]  # best first
    searched_from: int  # index into `order` of the first transcript searched
    searched_to: int  # ...and one past the last
    n_transcripts: int


def similar_units(
    excerpt: Excerpt, membership: Membership, *, searched_from: int = 0, limit: int = 10
) -> SimilarFound:
    """The units most like the excerpt, best first, that no coding the member can see touches.

    Searches the project's transcripts in order (the excerpt's own first, then by id) from
    `searched_from`, until MOST_SIMILAR_CANDIDATES uncoded units are gathered or
    MOST_SIMILAR_TRANSCRIPTS transcripts read. Compared with the member's fitted model's
    vectorizer when there is one (no fitting per request), else with one fitted on the candidates.
    """
    others = Transcript.objects.filter(project_id=excerpt.transcript.project_id).exclude(pk=excerpt.transcript_id)
    order = [excerpt.transcript_id, *others.order_by("pk").values_list("pk", flat=True)]
    searched_from = min(max(searched_from, 0), len(order))
    candidates, end = [], searched_from
    last = min(len(order), searched_from + MOST_SIMILAR_TRANSCRIPTS)
    while end < last and len(candidates) < MOST_SIMILAR_CANDIDATES:
        batch = order[end : min(end + TRANSCRIPTS_PER_READ, last)]
        end += len(batch)
        candidates += uncoded_units(batch, membership)
    row = model_for(membership)
    model = fitted(row) if row is not None and row.version else None
    ranked = most_similar(excerpt.quote, [unit.text for unit in candidates], limit, model)
    return SimilarFound([(candidates[index], score) for index, score in ranked], searched_from, end, len(order))


def uncoded_units(transcript_ids: list[int], membership: Membership) -> list[Unit]:
    """The units of these transcripts that no coding the member can see touches, in reading order."""
    seen: dict[int, list[tuple[int, int]]] = {}
    for transcript, start, end in Excerpt.objects.visible_to(membership).filter(
        transcript_id__in=transcript_ids
    ).values_list("transcript_id", "start", "end"):
        seen.setdefault(transcript, []).append((start, end))
    merged = {pk: spans.merge(found) for pk, found in seen.items()}
    units = units_by_transcript(transcript_ids)
    return [
        unit for pk in transcript_ids for unit in units.get(pk, []) if coverage(unit, merged.get(pk, [])) == 0
    ]
