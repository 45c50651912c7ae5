"""Code suggestions: fitting the model, a suggestion accepted or rejected, the project's off switch.

Accepting makes an ordinary excerpt by the person who accepted (coding.create_excerpt), so from
then on it counts like any other coding; until then a suggestion is stored nowhere and counted
nowhere. Fitting is not audited: it changes no research data, and it runs every few minutes.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import audit
from ..models import Code, Excerpt, Project, SuggestionModel, SuggestionRejection, Transcript
from ..suggestions.evaluation import evaluate
from ..suggestions.learning import Progress, examples_per_code, fit, no_progress
from ..suggestions.loading import coding_to_learn, examples_by_transcript, rejections
from .coding import create_excerpt


# Leave-one-out over a thousand transcripts would fit a thousand models: past this many, the
# background measurement leaves transcripts out in this many groups (evaluate_suggestions does not).
MOST_FOLDS = 20


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

    Runs outside any request: minutes on a large project. `progress(done, total, message)` is told as it goes.
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

    by_transcript = examples_by_transcript(project, learner_id, rejections(project, learner_id))
    examples = [example for found in by_transcript.values() for example in found]
    precision: dict[str, float | None] = {}
    if len(by_transcript) >= 2:
        evaluation = evaluate(by_transcript, progress=report(0, 80), most_folds=MOST_FOLDS)
        precision = {str(code): evaluation.per_code[code].precision for code in evaluation.suggested}
    model = fit(examples, progress=report(80, 20))
    row.data = model.to_bytes()
    row.version += 1
    row.trained_at = timezone.now()
    row.n_excerpts = Excerpt.objects.filter(coding_to_learn(project, learner_id)).count()
    row.precision = {code: precision.get(code) for code in map(str, model.classifiers)}
    row.examples = {str(code): n for code, n in examples_per_code(examples).items()}
    row.state, row.progress, row.message = SuggestionModel.State.IDLE, 100, ""
    row.save()
    return row


@transaction.atomic
def accept_suggestion(
    transcript: Transcript, *, start: int, end: int, code: Code, by, model_version: int, probability: float
) -> Excerpt:
    """Code [start, end) with `code` as `by`: an ordinary excerpt, audited also as an accepted suggestion."""
    excerpt = create_excerpt(transcript, start=start, end=end, codes=[code], by=by)
    audit.record(
        "suggestion.accepted",
        by=by,
        project=transcript.project_id,
        obj=excerpt,
        after={
            "transcript": transcript.pk,
            "start": start,
            "end": end,
            "code": code.pk,
            "model_version": model_version,
            "probability": round(probability, 3),
        },
    )
    return excerpt


@transaction.atomic
def reject_suggestion(transcript: Transcript, *, start: int, end: int, code: Code, by, model_version: int) -> None:
    """Remember that `by` said no to `code` on [start, end): not suggested to them again, a negative next time."""
    if code.project_id != transcript.project_id:
        raise ValidationError("A code of another project cannot be rejected here.")
    rejection, created = SuggestionRejection.objects.get_or_create(
        transcript=transcript, start=start, end=end, code=code, rejected_by=by,
        defaults={"model_version": model_version},
    )
    if created:
        audit.record(
            "suggestion.rejected",
            by=by,
            project=transcript.project_id,
            obj=rejection,
            after={"transcript": transcript.pk, "start": start, "end": end, "code": code.pk, "model_version": model_version},
        )


def delete_suggestion_models(project: Project) -> None:
    """Forget the project's fitted models (suggestions turned off): they are rebuilt if turned on again.

    The settings change that turns them off is audited by the settings page (project.changed).
    """
    project.suggestion_models.all().delete()
