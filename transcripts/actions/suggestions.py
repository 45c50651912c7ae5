"""Code suggestions: a suggestion accepted or rejected, the project's off switch (fitting: suggestions.training).

Accepting makes an ordinary excerpt by the person who accepted (coding.create_excerpt), so from
then on it counts like any other coding; until then a suggestion is stored nowhere and counted
nowhere. A rejection is a negative example for the next fit, so it queues one as coding does.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import audit
from ..models import Code, Excerpt, Project, SuggestionRejection, Transcript
from ..suggestions.tasks import after_coding_changed
from .coding import create_excerpt


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
        after_coding_changed(transcript.project_id)


def delete_suggestion_models(project: Project) -> None:
    """Forget the project's fitted models (suggestions turned off): they are rebuilt if turned on again.

    The settings change that turns them off is audited by the settings page (project.changed).
    """
    project.suggestion_models.all().delete()
