"""Teamwork: which coder codes which transcript, and when they say they are done."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .transcripts import Transcript


class TranscriptAssignmentQuerySet(models.QuerySet):
    def for_queue(self) -> "TranscriptAssignmentQuerySet":
        """Assignments with their transcript (no body) and participant, open ones first."""
        return (
            self.select_related("transcript__participant", "coder", "assigned_by")
            .defer("transcript__text")
            .order_by(models.F("done_at").asc(nulls_first=True), "transcript__title", "pk")
        )


class TranscriptAssignment(models.Model):
    """A lead asked a coder to code a transcript. Two coders on one transcript make it double-coded."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="assignments")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True, help_text="When the coder marked their coding done.")

    objects = TranscriptAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["transcript", "coder"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "coder"], name="assignment_unique_coder"),
        ]
        indexes = [models.Index(fields=["coder", "done_at"])]

    def __str__(self) -> str:
        return f"{self.transcript} → {self.coder}"
