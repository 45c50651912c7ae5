"""Background jobs: the task the worker runs, what each kind of job writes, and expiry.

A page starts a job with actions.start_job (imports have their own task, in actions/background_imports.py); the job's row is committed before its task is
queued, so the worker (`manage.py db_worker`, any number of them, on any machine that shares the
database and JOBS_DIR) always finds it. The worker writes the file under a temporary name and
renames it only once it is whole, so a failed job leaves no half-made file; the job then says
what went wrong in words for the person who asked.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection, connections, transaction
from django.http import QueryDict
from django.utils import timezone
from django_tasks import task

from . import codebook
from .interop.docx_writer import write_docx
from .models import Job, Membership, visible_excerpts_q
from .project_export import ExportOptions, export_project
from .review import FilterOptions, ReviewFilters, Tree
from .review import reports
from .suggestions import tasks as suggestion_tasks
from .suggestions.evaluation import Figures
from .suggestions.training import measure_accuracy

logger = logging.getLogger(__name__)

# The status page polls once a second; a second between writes is all it can show.
PROGRESS_EVERY_SECONDS = 0.5
# Far below JOB_STALLED_MINUTES (at least one): a job at work is never taken for a stopped one.
PULSE_EVERY_SECONDS = 20


class JobRefused(Exception):
    """The job cannot run, for a reason its requester is told as it stands."""


def failed(job: Job, error: Exception, otherwise: str, *, message: str | None = None, notes=(), **fields) -> None:
    """Mark the job failed: with `message` when the caller worded the error, a JobRefused's own
    words, or else `otherwise` after logging the error for the administrator; `notes` follow it."""
    if message is None and isinstance(error, JobRefused):
        message = str(error)
    elif message is None:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        message = otherwise
    message = "\n".join([message, *notes])
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, message=message, finished_at=timezone.now(), **fields)


class Progress:
    """Called with the number of rows done; notes it on the job at most twice a second, and at the end."""

    def __init__(self, job: Job, total: int) -> None:
        self.job = job
        self.total = total
        self.noted_at = 0.0
        job.report_progress(0, total)

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.noted_at >= PROGRESS_EVERY_SECONDS or done >= self.total:
            self.noted_at = now
            self.job.report_progress(min(done, self.total) if self.total else done)


def member_of(job: Job) -> Membership:
    """The requester's membership now: a job is run with what they may see today."""
    membership = Membership.objects.filter(project_id=job.project_id, user_id=job.requested_by_id).first()
    if membership is None:
        raise JobRefused("You are no longer a member of this project.")
    return membership


def write_report(job: Job, out: BinaryIO) -> str:
    """A review report with the page's filters, as the requester sees the project."""
    membership = member_of(job)
    project = job.project
    options = FilterOptions.load(project)
    filters = ReviewFilters.from_query(
        QueryDict(job.params.get("query", "")), options, visible=visible_excerpts_q(membership)
    )
    tree = Tree.load(project)
    exemplars_only = bool(job.params.get("exemplars"))
    fmt = job.kind.split(".")[1]
    total = reports.count_rows(project, filters, tree, exemplars_only=exemplars_only)
    return reports.render(
        fmt, project, filters, tree, out, exemplars_only=exemplars_only, options=options,
        progress=Progress(job, total),
    )


def write_codebook(job: Job, out: BinaryIO) -> str:
    """The codebook as .docx, with the options the export form chose."""
    membership = member_of(job)
    quotes, counts = bool(job.params.get("quotes")), bool(job.params.get("counts"))
    as_of = job.params.get("as_of")
    job.report_progress(0, 2)
    document = codebook.codebook_document(
        job.project, quotes=quotes, counts=counts, membership=membership,
        as_of=datetime.date.fromisoformat(as_of) if as_of else None,
    )
    job.report_progress(1)
    out.write(write_docx(document, quotes=quotes, counts=counts))
    job.report_progress(2)
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def write_project(job: Job, out: BinaryIO) -> str:
    """The whole project as a REFI-QDA .qdpx, for a lead; transcripts chosen then that are gone now are left out."""
    membership = member_of(job)
    if not membership.can_manage():
        raise JobRefused("Only a lead of the project may export the whole project.")
    transcripts = job.project.transcripts.all()
    if chosen := job.params.get("transcript_ids"):
        transcripts = transcripts.filter(pk__in=chosen)
    ids = tuple(sorted(transcripts.values_list("pk", flat=True)))
    if chosen and not ids:
        raise JobRefused("None of the chosen transcripts is in the project any more.")
    options = ExportOptions(consensus_only=bool(job.params.get("consensus_only")), transcript_ids=ids if chosen else ())
    export_project(job.project, out, options=options, by=job.requested_by, progress=Progress(job, len(ids)))
    return "application/zip"


def write_accuracy(job: Job, out: BinaryIO) -> str:
    """Measure the suggestions (leave transcripts out), keep the figures for the page, and write them as CSV."""
    if not member_of(job).can_manage():
        raise JobRefused("Only a lead of the project may measure the suggestions.")
    if not job.project.suggestions_on:
        raise JobRefused("Suggestions are turned off for this project: there is nothing to measure.")
    evaluation = measure_accuracy(job.project, progress=lambda done, total, message: job.report_progress(done, total))
    if evaluation is None:
        raise JobRefused("Suggestions need coding on at least two transcripts to be measured.")
    names = dict(job.project.codes.values_list("pk", "name"))
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(["code", "units", "precision", "recall", "f1", "suggested"])
    shown = set(evaluation.shown)
    for code in evaluation.suggested:
        figures = evaluation.per_code[code]
        writer.writerow([
            names.get(code, f"code {code}"), evaluation.examples[code], *rounded(figures), "yes" if code in shown else "no"
        ])
    for code in evaluation.too_few:
        writer.writerow([names.get(code, f"code {code}"), evaluation.examples[code], "", "", "", "no: too few examples"])
    writer.writerow(["overall", sum(evaluation.examples[c] for c in evaluation.suggested), *rounded(evaluation.overall), ""])
    writer.writerow(["suggestions per transcript", f"{evaluation.suggestions_per_transcript:.1f}", "", "", "", ""])
    text.detach()  # the caller closes the file
    return "text/csv"


def rounded(figures: Figures) -> list[str]:
    return ["" if value is None else f"{value:.3f}" for value in (figures.precision, figures.recall, figures.f1)]


WRITERS: dict[str, Callable[[Job, BinaryIO], str]] = {
    Job.Kind.REPORT_DOCX: write_report,
    Job.Kind.REPORT_CSV: write_report,
    Job.Kind.REPORT_XLSX: write_report,
    Job.Kind.CODEBOOK_DOCX: write_codebook,
    Job.Kind.PROJECT_QDPX: write_project,
    Job.Kind.SUGGESTIONS_ACCURACY: write_accuracy,
}


def safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)[:180]


@contextmanager
def signs_of_life(job: Job, every: float | None = None) -> Iterator[None]:
    """While the job runs, a thread shows that its worker is alive, however long one step takes.

    A project import writes in one transaction, and progress written there is seen by no other
    connection until it commits: the job would look stopped after JOB_STALLED_MINUTES. So the
    thread, every PULSE_EVERY_SECONDS, touches the job's pulse file in JOBS_DIR (which every app
    server already shares with the workers) and, on PostgreSQL, writes the heartbeat and the
    progress noted so far through a connection of its own, outside the job's transaction. SQLite
    lets no second connection write while the import holds its lock, so there the file alone
    speaks. When the worker dies the thread dies with it, and the job is seen stalled in time.
    """
    stop = threading.Event()
    pulse = job.pulse_path
    pulse.parent.mkdir(parents=True, exist_ok=True)
    through_database = connection.vendor == "postgresql"

    def beat() -> None:
        try:
            while not stop.wait(every or PULSE_EVERY_SECONDS):
                pulse.touch()
                if through_database:
                    try:
                        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
                            heartbeat_at=timezone.now(), done=job.done, total=job.total
                        )
                    except Exception:  # the file has spoken; the next beat tries again
                        logger.warning("Job %s: heartbeat not written", job.pk, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    pulse.touch()
    thread = threading.Thread(target=beat, name=f"job-{job.pk}-pulse", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        pulse.unlink(missing_ok=True)


@task()
def run_job(job_id: int) -> None:
    """The worker's entry point: clear out expired jobs, then run this one if it is still waiting."""
    remove_expired()
    if job := claim(job_id):
        with signs_of_life(job):
            execute(job)


def claim(job_id: int) -> Job | None:
    """Mark the job running and return it; None when it is not waiting (expired and removed, or already run)."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, heartbeat_at=timezone.now()
    )
    return Job.objects.select_related("project").get(pk=job_id) if claimed else None


def execute(job: Job) -> None:
    """Write the job's file, then mark it done; on any error remove the partial file and say why."""
    folder = Path(settings.JOBS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{job.pk}-{secrets.token_hex(8)}{Path(job.download_name).suffix}"
    partial = folder / f"{name}.part"
    try:
        with open(partial, "wb") as out:
            content_type = WRITERS[job.kind](job, out)
        os.replace(partial, folder / name)
    except Exception as error:
        partial.unlink(missing_ok=True)
        failed(
            job, error,
            "Something went wrong while writing this file, and nothing was kept. "
            "Please try again; if it fails again, tell your administrator.",
        )
        return
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, file_name=name, content_type=content_type, finished_at=timezone.now()
    )


def remove_expired() -> int:
    """Delete expired jobs and their files, and files no job names (left by a worker that was killed)."""
    folder = Path(settings.JOBS_DIR)
    expired = list(Job.objects.expired().values_list("pk", "file_name"))
    for _, file_name in expired:
        if file_name:
            (folder / file_name).unlink(missing_ok=True)
    Job.objects.filter(pk__in=[pk for pk, _ in expired]).delete()
    cutoff = time.time() - settings.JOB_KEEP_HOURS * 3600
    stale = [path for path in folder.iterdir() if path.stat().st_mtime < cutoff] if folder.is_dir() else []
    if stale:
        kept = set(Job.objects.filter(file_name__in=[path.name for path in stale]).values_list("file_name", flat=True))
        for path in stale:
            if path.name not in kept:
                path.unlink(missing_ok=True)
    return len(expired)


def enqueue_after_commit(job: Job) -> None:
    """Queue the job's task once the transaction that made the job has committed: measuring the
    suggestions on the suggestions' own queue (it fits up to twenty models), the rest on the default."""
    runner = run_job.using(queue_name=suggestion_tasks.QUEUE) if job.kind == Job.Kind.SUGGESTIONS_ACCURACY else run_job
    transaction.on_commit(lambda: runner.enqueue(job.pk))
