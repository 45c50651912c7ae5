"""Jobs: long work (reports, exports) that runs in the background while its page shows progress.

A job belongs to the person who asked for it: only they see its progress and download its file,
and only while they are still a member of its project. Its file lives under JOBS_DIR until the
job expires; the worker then removes both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

from .projects import Project


class JobQuerySet(models.QuerySet):
    def expired(self) -> "JobQuerySet":
        """Jobs past their keeping time, whatever their state."""
        return self.filter(expires_at__lte=timezone.now())

    def for_user(self, user) -> "JobQuerySet":  # noqa: ANN001
        """The user's own jobs that have not expired, newest first."""
        return self.filter(requested_by=user, expires_at__gt=timezone.now()).order_by("-created_at", "-pk")


class Job(models.Model):
    """One background run of a report or export, with its progress and, when done, its file."""

    class Kind(models.TextChoices):
        REPORT_DOCX = "report.docx", "Report (.docx)"
        REPORT_CSV = "report.csv", "Coded excerpts (.csv)"
        REPORT_XLSX = "report.xlsx", "Coded excerpts (.xlsx)"
        CODEBOOK_DOCX = "codebook.docx", "Codebook (.docx)"
        PROJECT_QDPX = "project.qdpx", "Whole project (.qdpx)"
        PROJECT_PREVIEW = "import.preview", "Project import preview"
        PROJECT_IMPORT = "import.project", "Project import"
        TRANSCRIPTS_IMPORT = "import.transcripts", "Transcript import"
        SUGGESTIONS_ACCURACY = "suggestions.accuracy", "Accuracy of the code suggestions (.csv)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True,
        help_text="Empty for a project import until it has made its project.",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True, help_text="What the page asked for (filters, options).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="0 while the size of the work is not yet known.")
    message = models.TextField(
        blank=True, help_text="What went wrong, or what an import brought in, in words for the person who asked."
    )
    file_name = models.CharField(
        max_length=200, blank=True, help_text="The result's name inside JOBS_DIR; for an import, its upload's."
    )
    download_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker running the job last showed progress."
    )
    expires_at = models.DateTimeField()

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["requested_by", "expires_at"]), models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.project_id} ({self.status})"

    @property
    def is_import(self) -> bool:
        return self.kind in (self.Kind.PROJECT_PREVIEW, self.Kind.PROJECT_IMPORT, self.Kind.TRANSCRIPTS_IMPORT)

    @property
    def pulse_path(self) -> Path:
        """The file whose time of change the worker running the job keeps fresh (transcripts.jobs.signs_of_life)."""
        return Path(settings.JOBS_DIR) / f"job-{self.pk}.alive"

    def last_sign_of_life(self) -> datetime:
        """When the worker last showed it was at work on the job: its last heartbeat in the database,
        or the pulse file it keeps fresh beside it, whichever is later (a heartbeat written inside the
        job's own transaction, as a project import's, is not seen until it commits)."""
        last = self.heartbeat_at or self.created_at
        try:
            pulse = datetime.fromtimestamp(self.pulse_path.stat().st_mtime, tz=dt_timezone.utc)
        except OSError:
            return last
        return max(last, pulse)

    @property
    def stalled(self) -> bool:
        """Running, yet no sign of life for JOB_STALLED_MINUTES: its worker was stopped (killed, restarted)."""
        if self.status != self.Status.RUNNING:
            return False
        cutoff = timezone.now() - timedelta(minutes=settings.JOB_STALLED_MINUTES)
        if (self.heartbeat_at or self.created_at) >= cutoff:
            return False  # recent progress: no need to look at the pulse file
        return self.last_sign_of_life() < cutoff

    @property
    def failed(self) -> bool:
        return self.status == self.Status.FAILED or self.stalled

    @property
    def restartable(self) -> bool:
        """Failed or stopped, and what it asked for is still at hand (an import's upload is not)."""
        return self.failed and not self.is_import

    @property
    def finished(self) -> bool:
        return self.status == self.Status.DONE or self.failed

    @property
    def failure_message(self) -> str:
        """What went wrong, in words for the person who asked; "" when nothing did."""
        if self.stalled and self.kind == self.Kind.PROJECT_PREVIEW:
            return (
                "The preview stopped before it was finished (the server working it out was stopped or restarted), "
                "and nothing was imported. Upload the project file again."
            )
        if self.stalled and self.is_import:
            return (
                "The import stopped before it was finished (the server running it was stopped or restarted), "
                "and what it had not yet saved was not imported. Upload the files again."
            )
        if self.stalled:
            return (
                "The work stopped before it was finished (the server running it was stopped or restarted), "
                "and nothing was kept. Start it again."
            )
        return self.message if self.status == self.Status.FAILED else ""

    @property
    def percent(self) -> int | None:
        """How far along, 0 to 100; None while the total is unknown."""
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)

    @property
    def path(self) -> Path | None:
        """Where the finished file is, or None when there is none."""
        return Path(settings.JOBS_DIR) / self.file_name if self.file_name else None

    def report_progress(self, done: int, total: int | None = None) -> None:
        """Note progress in the database, where every app server's status page reads it."""
        self.done = done
        self.heartbeat_at = timezone.now()
        fields = ["done", "heartbeat_at"]
        if total is not None:
            self.total = total
            fields.append("total")
        Job.objects.filter(pk=self.pk).update(**{field: getattr(self, field) for field in fields})
