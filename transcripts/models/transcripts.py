"""Transcripts and their speaker turns."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce

from transcripts import spans
from transcripts.spans import newline_offsets

from .projects import Participant, Project
from .visibility import visible_excerpts_q


class TranscriptTextLocked(ValidationError):
    """The text of a transcript that has excerpts cannot change."""


class TranscriptQuerySet(models.QuerySet):
    def for_list(self, membership=None) -> "TranscriptQuerySet":
        """Transcripts for a listing: participant loaded, bodies left in the database.

        Given the member, `n_excerpts` counts only the coding blind coding lets them see.
        """
        # Counted per transcript in a subquery, on the excerpts' transcript index: grouping the
        # listing's rows by every column took seconds with a thousand transcripts on SQLite.
        excerpts = self.model._meta.get_field("excerpts").related_model.objects.filter(transcript=models.OuterRef("pk"))
        rule = visible_excerpts_q(membership) if membership is not None else None
        if rule is not None:
            excerpts = excerpts.filter(rule)
        counted = excerpts.order_by().values("transcript").annotate(n=models.Count("pk")).values("n")
        return (
            self.defer("text", "line_breaks")
            .select_related("participant")
            .annotate(n_excerpts=Coalesce(models.Subquery(counted), 0))
            .order_by("title", "pk")
        )


class Transcript(models.Model):
    class Format(models.TextChoices):
        DOCX = "docx", "Word (.docx)"
        TXT = "txt", "Plain text (.txt)"
        VTT = "vtt", "WebVTT captions (.vtt)"
        SRT = "srt", "SubRip captions (.srt)"
        TYPED = "typed", "Typed in"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="transcripts")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="transcripts"
    )
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="Normalized once at import; fixed once any excerpt exists.")
    content_hash = models.CharField(max_length=64, editable=False)
    line_breaks = models.JSONField(
        default=list, editable=False, help_text="Where each newline of text is, so a line number needs no text."
    )
    source_name = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(max_length=10, choices=Format.choices, default=Format.TYPED)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    blind_coding = models.BooleanField(
        default=False, help_text="Blind coding for this transcript alone, even when the project is not blind."
    )

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "title"], name="transcript_unique_title"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.participant_id and self.participant.project_id != self.project_id:
            raise ValidationError({"participant": "The participant belongs to another project."})
        if not spans.is_normalized(self.text):
            raise ValidationError({"text": "Text must be normalized before it is stored."})

    def save(self, *args, **kwargs) -> None:
        if not spans.is_normalized(self.text):
            raise ValidationError({"text": "Text must be normalized before it is stored."})
        self.content_hash = spans.content_hash(self.text)
        self.line_breaks = newline_offsets(self.text)
        if self.pk is not None:
            self._refuse_text_change_once_coded()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "text" in update_fields:
            kwargs["update_fields"] = {*update_fields, "content_hash", "line_breaks"}
        super().save(*args, **kwargs)

    def line_at(self, offset: int) -> int:
        """1-based line of the character at `offset`, as spans.line_number_at(text, offset) counts it.

        Reads `line_breaks` alone, so the text may stay in the database (`defer("text")`).
        """
        return spans.line_at(self.line_breaks, offset)

    def _refuse_text_change_once_coded(self) -> None:
        stored = Transcript.objects.filter(pk=self.pk).values_list("content_hash", flat=True).first()
        if stored is not None and stored != self.content_hash and self.excerpts.exists():
            raise TranscriptTextLocked(
                "This transcript has coded excerpts, so its text can no longer change."
            )

    def is_locked(self) -> bool:
        return self.excerpts.exists()

    def is_blind(self) -> bool:
        """Whether coders see only their own coding here (the page's notice; the filter is visible_excerpts_q)."""
        return (self.project.blind_coding or self.blind_coding) and not self.project.comparison_open


class SpeakerTurn(models.Model):
    class Role(models.TextChoices):
        INTERVIEWER = "interviewer", "Interviewer"
        PARTICIPANT = "participant", "Participant"
        OTHER = "other", "Other"

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="turns")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    body_start = models.PositiveIntegerField(help_text="Where the speech starts, after the speaker label.")
    speaker = models.CharField(max_length=100)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.OTHER)
    time_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["transcript", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="turn_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(body_start__gte=models.F("start"), body_start__lte=models.F("end")),
                name="turn_body_inside",
            ),
            models.UniqueConstraint(fields=["transcript", "start"], name="turn_unique_start"),
        ]
        indexes = [models.Index(fields=["transcript", "role"])]

    def __str__(self) -> str:
        return f"{self.speaker} [{self.start}:{self.end}]"
