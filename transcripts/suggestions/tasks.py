"""Training in the background worker (django-tasks, `manage.py db_worker`), never in a request.

A model is queued when a lead asks, and when someone looks at suggestions after the coding
changed, at most once every RETRAIN_AFTER: the worker then fits it while the page shows progress.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .. import actions
from ..models import AuditEvent, Project, SuggestionModel

logger = logging.getLogger(__name__)

RETRAIN_AFTER = datetime.timedelta(minutes=5)
CODING_VERBS = ("excerpt.created", "excerpt.changed", "excerpt.deleted", "excerpt.undone", "suggestion.rejected")


@task()
def train(project_id: int, learner_id: int | None) -> None:
    """The worker's entry point: fit the model if it is still waiting for it."""
    claimed = SuggestionModel.objects.filter(
        project_id=project_id, learner_id=learner_id, state=SuggestionModel.State.QUEUED
    ).update(state=SuggestionModel.State.TRAINING, progress=0)
    if not claimed:
        return
    project = Project.objects.get(pk=project_id)
    try:
        actions.train_suggestions(project, learner_id)
    except Exception:
        logger.exception("Training suggestions for project %s (learner %s) failed", project_id, learner_id)
        SuggestionModel.objects.filter(project_id=project_id, learner_id=learner_id).update(
            state=SuggestionModel.State.FAILED, message="Training failed; the previous model, if any, is still used."
        )


def request_training(project: Project, learner_id: int | None) -> SuggestionModel:
    """Queue the model's training unless it is already waiting or running."""
    row = actions.model_row(project, learner_id)
    waiting = (SuggestionModel.State.QUEUED, SuggestionModel.State.TRAINING)
    if SuggestionModel.objects.filter(pk=row.pk).exclude(state__in=waiting).update(
        state=SuggestionModel.State.QUEUED, progress=0, message=""
    ):
        row.state = SuggestionModel.State.QUEUED
        transaction.on_commit(lambda: train.enqueue(project.pk, learner_id))
    return row


def coding_changed_since(project: Project, moment: datetime.datetime) -> bool:
    return AuditEvent.objects.filter(project=project, verb__in=CODING_VERBS, created_at__gt=moment).exists()


def keep_fresh(project: Project, row: SuggestionModel | None, learner_id: int | None) -> SuggestionModel | None:
    """Queue training when there is no model yet, or the coding changed since and the last is RETRAIN_AFTER old."""
    if row is not None and row.state in (SuggestionModel.State.QUEUED, SuggestionModel.State.TRAINING):
        return row
    if row is None or row.trained_at is None:
        return request_training(project, learner_id)
    if timezone.now() - row.trained_at >= RETRAIN_AFTER and coding_changed_since(project, row.trained_at):
        return request_training(project, learner_id)
    return row
