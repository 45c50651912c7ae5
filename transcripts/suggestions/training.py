"""Fitting a project's model and measuring its accuracy, from the database to the stored row.

Both run outside any request (the worker: suggestions.tasks and jobs.py); minutes on a large
project. Fitting is not audited: it changes no research data, and it runs every few minutes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Excerpt, Project, SuggestionModel, SuggestionPrediction, Transcript
from .evaluation import Evaluation, Reader, evaluate_read
from .learning import THRESHOLD, Progress, fit, no_progress
from .loading import coding_to_learn, read_examples, transcripts_to_learn_from, units_by_transcript
from .sampling import Sample
from .units import Example

# Leave-one-out over a thousand transcripts would fit a thousand models: past this many, the
# measurement that comes with every fit leaves transcripts out in this many groups, and the one a
# lead asks for in MOST_MEASURED_FOLDS (evaluate_suggestions always goes one by one).
MOST_FOLDS = 5
MOST_MEASURED_FOLDS = 20
# Transcripts read at a time when a fit's suggestions are stored: memory stays that of a few.
PREDICTED_PER_READ = 20


def labelled_units(project: Project, scope: int | None, *, with_rejections: bool) -> tuple[list[int], Reader]:
    """The transcripts to learn from, and the Reader of their labelled units (a few transcripts at a time)."""

    def read(transcript_ids: Sequence[int]) -> Iterator[tuple[int, list[Example]]]:
        return read_examples(project, scope, transcript_ids, with_rejections=with_rejections)

    return transcripts_to_learn_from(project, scope, with_rejections=with_rejections), read


def model_row(project: Project, learner_id: int | None) -> SuggestionModel:
    """The project's model row for this learner (None: the team), made when missing."""
    try:
        with transaction.atomic():
            row, _ = SuggestionModel.objects.get_or_create(project=project, learner_id=learner_id)
    except IntegrityError:  # made meanwhile by another request
        row = SuggestionModel.objects.get(project=project, learner_id=learner_id)
    return row


def train_suggestions(project: Project, learner_id: int | None, progress: Progress = no_progress) -> SuggestionModel:
    """Measure (leave one transcript out) and fit the model on the coding `learner_id` may learn from; store it.

    `progress(done, total, message)` is told as it goes.
    """
    row = model_row(project, learner_id)
    row.state, row.progress, row.message = SuggestionModel.State.TRAINING, 0, "Reading the coding"
    row.save(update_fields=["state", "progress", "message"])

    def report(share_start: int, share: int):
        def tell(done: int, total: int, message: str) -> None:
            percent = share_start + (share * done // total if total else share)
            SuggestionModel.objects.filter(pk=row.pk).update(progress=percent, message=message[:200])
            progress(percent, 100, message)

        return tell

    everything = Sample()
    evaluation = evaluate_read(
        *labelled_units(project, learner_id, with_rejections=True),
        progress=report(0, 80),
        most_folds=MOST_FOLDS,
        everything=everything,
    )
    precision: dict[str, float | None] = {}
    if evaluation.n_transcripts >= 2:
        precision = {str(code): evaluation.per_code[code].precision for code in evaluation.suggested}
    codes = sorted(evaluation.examples)
    model = fit(everything.chosen(codes), codes, progress=report(80, 10))
    del everything
    predictions = predict_every_transcript(project, model, progress=report(90, 10))
    row.data = model.to_bytes()
    row.version += 1
    row.trained_at = timezone.now()
    row.n_excerpts = Excerpt.objects.filter(coding_to_learn(project, learner_id)).count()
    row.precision = {code: precision.get(code) for code in map(str, model.classifiers)}
    row.examples = {str(code): n for code, n in evaluation.examples.items()}
    row.state, row.progress, row.message = SuggestionModel.State.IDLE, 100, ""
    with transaction.atomic():
        row.save(
            update_fields=["data", "version", "trained_at", "n_excerpts", "precision", "examples", "state", "progress", "message"]
        )
        SuggestionPrediction.objects.filter(model=row).delete()
        SuggestionPrediction.objects.bulk_create(
            (
                SuggestionPrediction(model=row, transcript_id=pk, version=row.version, content_hash=digest, found=found)
                for pk, digest, found in predictions
            ),
            batch_size=500,
        )
    return row


def predict_every_transcript(project: Project, model, progress: Progress = no_progress) -> list[tuple[int, str, list]]:
    """(transcript id, its text's hash, [[start, end, code, probability], ...] at or above the
    threshold) for every transcript of the project, read PREDICTED_PER_READ at a time."""
    transcripts = list(Transcript.objects.filter(project=project).order_by("pk").values_list("pk", "content_hash"))
    predictions = []
    for first in range(0, len(transcripts), PREDICTED_PER_READ):
        batch = transcripts[first : first + PREDICTED_PER_READ]
        units_of = units_by_transcript(pk for pk, _ in batch)
        units = [unit for pk, _ in batch for unit in units_of.get(pk, [])]
        # One call for the batch: each classifier's fixed cost is paid once, not once a transcript.
        probabilities = model.probabilities([unit.text for unit in units])
        found: dict[int, list] = {pk: [] for pk, _ in batch}
        for code, column in probabilities.items():
            for unit, probability in zip(units, column):
                if probability >= THRESHOLD:
                    found[unit.transcript].append([unit.start, unit.end, code, round(float(probability), 4)])
        predictions.extend((pk, digest, found[pk]) for pk, digest in batch)
        progress(min(first + PREDICTED_PER_READ, len(transcripts)), len(transcripts), "Finding what to suggest")
    return predictions


def measure_accuracy(project: Project, progress: Progress = no_progress) -> Evaluation | None:
    """The figures evaluate_suggestions prints, for the team's coding, stored on the team's model row.

    None (and nothing stored) when fewer than two transcripts are coded: nothing can be left out.
    """
    evaluation = evaluate_read(
        *labelled_units(project, None, with_rejections=False), progress=progress, most_folds=MOST_MEASURED_FOLDS
    )
    if evaluation.n_transcripts < 2:
        return None
    row = model_row(project, None)
    SuggestionModel.objects.filter(pk=row.pk).update(accuracy=evaluation.to_json(), accuracy_measured_at=timezone.now())
    return evaluation
