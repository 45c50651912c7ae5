"""Background jobs started: a report or export asked for, noted in the audit trail."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import audit
from ..jobs import enqueue_after_commit, safe_file_name
from ..models import Job, Project
from .background_imports import enqueue_import_after_commit


@transaction.atomic
def start_job(project: Project, kind: str, *, by, download_name: str, params: dict | None = None) -> Job:
    """Make the job and queue its task once committed; the requester alone may download its file."""
    job = Job.objects.create(
        project=project,
        requested_by=by,
        kind=kind,
        params=params or {},
        download_name=safe_file_name(download_name),
        expires_at=timezone.now() + timedelta(hours=settings.JOB_KEEP_HOURS),
    )
    audit.record(
        "export.started", by=by, project=project, obj=job, object_repr=job.get_kind_display(),
        after={"kind": kind, "params": job.params},
    )
    enqueue_after_commit(job)
    return job


def restart_job(job: Job, *, by) -> Job:
    """A new job asking for what a failed or stopped one asked for; the old one stays until it expires."""
    return start_job(job.project, job.kind, by=by, download_name=job.download_name, params=job.params)


@transaction.atomic
def start_project_preview(upload: str, *, by, source: str) -> Job:
    """Queue the preview of a project file already stored in JOBS_DIR as `upload`: the worker reads
    it and says what importing it would bring in. The job keeps the upload for the confirm."""
    job = Job.objects.create(
        requested_by=by,
        kind=Job.Kind.PROJECT_PREVIEW,
        params={"source": source},
        file_name=upload,
        expires_at=timezone.now() + timedelta(hours=settings.JOB_KEEP_HOURS),
    )
    enqueue_import_after_commit(job)
    return job


@transaction.atomic
def confirm_project_preview(preview: Job, *, by, name: str, slug: str, description: str, mapping: dict) -> Job | None:
    """Hand the previewed upload over to a new import job, once: the preview gives up its upload in
    one conditional write, so of two confirms (a double click, two tabs, two app servers) only the
    first finds it and the other gets None."""
    upload = preview.file_name
    claimed = Job.objects.filter(
        pk=preview.pk, kind=Job.Kind.PROJECT_PREVIEW, status=Job.Status.DONE, file_name=upload
    ).exclude(file_name="").update(file_name="")
    if not claimed:
        return None
    job = start_project_import(upload, by=by, source=preview.params["source"], name=name, slug=slug,
                               description=description, mapping=mapping)
    Job.objects.filter(pk=preview.pk).update(params={**preview.params, "import_job": job.pk})
    return job


@transaction.atomic
def start_project_import(upload: str, *, by, source: str, name: str, slug: str, description: str, mapping: dict) -> Job:
    """Queue the import of a project file already moved into JOBS_DIR as `upload`; the job holds the
    upload until it ends. `mapping` is file user GUID -> account id; the requester alone sees how it went."""
    job = Job.objects.create(
        requested_by=by,
        kind=Job.Kind.PROJECT_IMPORT,
        params={"source": source, "name": name, "slug": slug, "description": description, "mapping": mapping},
        file_name=upload,
        expires_at=timezone.now() + timedelta(hours=settings.JOB_KEEP_HOURS),
    )
    audit.record(
        "import.started", by=by, obj=job, object_repr=job.get_kind_display(),
        after={"file": source[:200], "slug": slug},
    )
    enqueue_import_after_commit(job)
    return job


@transaction.atomic
def start_transcripts_import(project: Project, files: list[tuple[str, str]], *, by) -> Job:
    """Queue the import of transcript files already stored in JOBS_DIR: (uploaded name, stored name)
    each; the job removes them when it ends."""
    job = Job.objects.create(
        project=project,
        requested_by=by,
        kind=Job.Kind.TRANSCRIPTS_IMPORT,
        params={"files": [list(pair) for pair in files]},
        expires_at=timezone.now() + timedelta(hours=settings.JOB_KEEP_HOURS),
    )
    audit.record(
        "import.started", by=by, project=project, obj=job, object_repr=job.get_kind_display(),
        after={"files": [name[:200] for name, _ in files]},
    )
    enqueue_import_after_commit(job)
    return job
