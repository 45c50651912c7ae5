"""Code suggestions: the model fitted for a project (or for one blind coder), and the suggestions coders rejected."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .coding import Code
from .projects import Project
from .transcripts import Transcript


class SuggestionModel(models.Model):
    """The fitted model and what the coding page says about it. Rebuilt, never backed up (see backup.py).

    `learner` is None for the team's model; under blind coding a coder has their own (see
    suggestions.loading.learning_scope).
    """

    class State(models.TextChoices):
        IDLE = "idle", "Up to date"
        QUEUED = "queued", "Waiting to train"
        TRAINING = "training", "Training"
        FAILED = "failed", "Training failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="suggestion_models")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=0, help_text="Raised each time a model is fitted.")
    data = models.BinaryField(null=True, editable=False, help_text="The fitted model (joblib).")
    trained_at = models.DateTimeField(null=True, blank=True)
    n_excerpts = models.PositiveIntegerField(default=0)
    precision = models.JSONField(default=dict, help_text="Code id -> measured precision (None: no suggestion was made).")
    examples = models.JSONField(default=dict, help_text="Code id -> units it labelled when the model was fitted.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done while training.")
    message = models.CharField(max_length=200, blank=True)
    coding_changed_at = models.DateTimeField(null=True, blank=True, help_text="Coding changed while this model was fitted.")
    # The team's row alone: a lead's measurement (suggestions.training.measure_accuracy), kept until the next.
    accuracy = models.JSONField(null=True, blank=True, help_text="The measured figures (evaluation.Evaluation.to_json).")
    accuracy_measured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "learner"], name="suggestion_model_unique_learner"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(learner__isnull=True), name="suggestion_model_unique_team"
            ),
        ]

    def __str__(self) -> str:
        return f"Suggestions for {self.project_id} ({self.learner_id or 'team'}) v{self.version}"


class SuggestionRejection(models.Model):
    """A coder said no to a suggested code on a unit: not suggested to them again, and a negative example next time."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="suggestion_rejections")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="suggestion_rejections")
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    model_version = models.PositiveIntegerField()
    rejected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "start", "end", "code", "rejected_by"], name="suggestion_rejection_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} rejected on {self.transcript_id} [{self.start}:{self.end}]"


class SuggestionPrediction(models.Model):
    """What a fit suggests in one transcript, stored by the worker so that the coding page reads a
    row instead of loading the model: the units at or above the threshold, as [start, end, code,
    probability]. Valid for the model's `version` and the transcript's text as it was
    (`content_hash`); otherwise the page computes them itself. Rebuilt, never backed up."""

    model = models.ForeignKey(SuggestionModel, on_delete=models.CASCADE, related_name="predictions")
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    found = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "transcript"], name="suggestion_prediction_unique"),
        ]

    def __str__(self) -> str:
        return f"Suggestions of model {self.model_id} v{self.version} in {self.transcript_id}"
