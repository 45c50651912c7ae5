"""Training in the background worker (django-tasks, `manage.py db_worker --queue-name suggestions`), never in a request.

A model is queued when a lead asks, when someone opens suggestions and there is none yet, and
after every change to the project's coding (`coding_changed`, called once the write commits):
then at most once every SUGGESTIONS_RETRAIN_MINUTES after the last fit, however many writes come
in between. Coding that changes while a model is being fitted queues the next one.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from ..models import AuditEvent, Project, SuggestionModel
from .training import model_row, train_suggestions

logger = logging.getLogger(__name__)

# What changes the examples a model learns from (each write also queues the next fit, actions/).
CODING_VERBS = (
    "excerpt.created", "excerpt.changed", "excerpt.deleted", "excerpt.undone", "suggestion.rejected",
    "code.merged", "code.deleted", "consensus.settled", "transcript.deleted",
)
WAITING = (SuggestionModel.State.QUEUED, SuggestionModel.State.TRAINING)
# Fits and measurements take minutes to half an hour on a large project: on a queue of their own,
# run by a worker of their own (settings.TASKS), so reports and exports never wait behind them.
QUEUE = "suggestions"


def retrain_after() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.SUGGESTIONS_RETRAIN_MINUTES)


@task(queue_name=QUEUE)
def train(project_id: int, learner_id: int | None) -> None:
    """The worker's entry point: fit the model if it is still waiting for it; again later if coding changed meanwhile."""
    claimed = SuggestionModel.objects.filter(
        project_id=project_id, learner_id=learner_id, state=SuggestionModel.State.QUEUED
    ).update(state=SuggestionModel.State.TRAINING, progress=0, coding_changed_at=None)
    if not claimed:
        return  # trained already by a task queued sooner (a lead's "train now"), or the model was deleted
    project = Project.objects.get(pk=project_id)
    try:
        row = train_suggestions(project, learner_id)
    except Exception:
        logger.exception("Training suggestions for project %s (learner %s) failed", project_id, learner_id)
        SuggestionModel.objects.filter(project_id=project_id, learner_id=learner_id).update(
            state=SuggestionModel.State.FAILED, message="Training failed; the previous model, if any, is still used."
        )
        return
    if SuggestionModel.objects.filter(pk=row.pk, coding_changed_at__isnull=False).exists():
        queue(row.pk, project_id, learner_id, run_after=row.trained_at + retrain_after())


def queue(row_id: int, project_id: int, learner_id: int | None, *, run_after: datetime.datetime | None = None) -> bool:
    """Mark the model queued and queue its task once committed, unless it is queued or training already."""
    if not SuggestionModel.objects.filter(pk=row_id).exclude(state__in=WAITING).update(
        state=SuggestionModel.State.QUEUED, progress=0, message=""
    ):
        return False
    transaction.on_commit(lambda: enqueue(project_id, learner_id, run_after))
    return True


def enqueue(project_id: int, learner_id: int | None, run_after: datetime.datetime | None) -> None:
    later = run_after is not None and run_after > timezone.now()
    (train.using(run_after=run_after) if later else train).enqueue(project_id, learner_id)


def request_training(project: Project, learner_id: int | None) -> SuggestionModel:
    """Train now (a lead asks, or there is no model yet) unless it is training already.

    A model queued for later (see coding_changed) gets a task now as well; whichever task comes
    second finds nothing queued and stops.
    """
    row = model_row(project, learner_id)
    if row.state == SuggestionModel.State.QUEUED:
        transaction.on_commit(lambda: enqueue(project.pk, learner_id, None))
    elif queue(row.pk, project.pk, learner_id):
        row.state = SuggestionModel.State.QUEUED
    return row


def coding_changed(project_id: int) -> None:
    """After a write to the project's coding commits: queue each of its models to be fitted again.

    One query when every model is queued already (many writes in a row) or suggestions are off;
    a model younger than SUGGESTIONS_RETRAIN_MINUTES is queued to run once it is that old. Only
    models that exist are refitted: a project nobody asked suggestions of trains none.
    """
    rows = list(
        SuggestionModel.objects.filter(project_id=project_id, project__suggestions_on=True)
        .exclude(state=SuggestionModel.State.QUEUED)
        .values_list("pk", "learner_id", "state", "trained_at")
    )
    if any(state == SuggestionModel.State.TRAINING for _, _, state, _ in rows):
        SuggestionModel.objects.filter(project_id=project_id, state=SuggestionModel.State.TRAINING).update(
            coding_changed_at=timezone.now()
        )
    for pk, learner_id, state, trained_at in rows:
        if state != SuggestionModel.State.TRAINING:
            queue(pk, project_id, learner_id, run_after=trained_at + retrain_after() if trained_at else None)


def after_coding_changed(project_id: int) -> None:
    """Call coding_changed once the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: coding_changed(project_id))


def coding_changed_since(project: Project, moment: datetime.datetime) -> bool:
    return AuditEvent.objects.filter(project=project, verb__in=CODING_VERBS, created_at__gt=moment).exists()


def keep_fresh(project: Project, row: SuggestionModel | None, learner_id: int | None) -> SuggestionModel | None:
    """Queue training when there is no model yet, or the coding changed since and the last is old enough."""
    if row is not None and row.state in WAITING:
        return row
    if row is None or row.trained_at is None:
        return request_training(project, learner_id)
    if timezone.now() - row.trained_at >= retrain_after() and coding_changed_since(project, row.trained_at):
        return request_training(project, learner_id)
    return row
