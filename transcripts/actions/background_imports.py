"""Imports that run in the background: a whole project (.qdpx, .qde), first its preview and then,
once confirmed, the import, and many or big transcript files. The uploads wait in JOBS_DIR until the job ends, and
are removed then, whatever happened; the job says what came in, or why nothing did, to the person
who started it alone.

A task of their own, beside transcripts.jobs.run_job, because they write through the actions
that transcripts.jobs must not import (this package imports it).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from ..interop.readers import ImportRefused
from ..jobs import JobRefused, Progress, claim, failed, member_of, remove_expired, signs_of_life
from ..models import Job, SiteSettings
from .project_import import import_project
from .project_preview import PreparedImport, prepare_project_import, read_project_file
from .transcripts import import_transcript_file


@task()
def run_import_job(job_id: int) -> None:
    """The worker's entry point for an import: clear out expired jobs, then run this one if it is still waiting."""
    remove_expired()
    if job := claim(job_id):
        with signs_of_life(job):
            if job.kind == Job.Kind.PROJECT_PREVIEW:
                preview_project_file(job)
            elif job.kind == Job.Kind.PROJECT_IMPORT:
                import_project_file(job)
            else:
                import_transcript_files(job)


def enqueue_import_after_commit(job: Job) -> None:
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))


def preview_of(prepared: PreparedImport) -> dict:
    """What the preview page shows of a prepared file, as JSON for the job's params. The accounts
    each file user may be are kept by id, for the page to load and the confirm to check against."""
    file = prepared.project
    return {
        "filename": prepared.filename,
        "name": file.name,
        "origin": file.origin,
        "description": file.description,
        "counts": prepared.counts,
        "offset_reading": file.offset_reading,
        "left_out": prepared.left_out_sentence(),
        "notes": prepared.notes,
        "users": [
            {
                "guid": user.guid, "name": user.name, "email": user.email, "imported_name": user.imported_name,
                "candidates": [account.pk for account in user.candidates],
            }
            for user in prepared.users
        ],
    }


def preview_project_file(job: Job) -> None:
    """Read the uploaded project file and work out what importing it would bring in and leave out,
    writing nothing but the job: its preview when done, or why the file cannot be imported (and the
    upload is then removed). The upload waits, named by the job, for the confirm or the job's expiry.

    Progress: the file read (one step), then each source prepared.
    """
    source = job.params["source"]
    try:
        if not SiteSettings.load().may_start_projects(job.requested_by):
            raise JobRefused("Nothing was imported: you may no longer start projects on this site.")
        job.report_progress(0, 1)
        with job.path.open("rb") as stream:
            file = read_project_file(source, stream)
        progress = Progress(job, 1 + len(file.sources))
        progress(1)
        prepared = prepare_project_import(file, source, progress=lambda done: progress(1 + done))
        preview = preview_of(prepared)
    except Exception as error:
        if job.path is not None:
            job.path.unlink(missing_ok=True)
        failed(
            job, error,
            "Something went wrong while reading this project file, and nothing was imported. "
            "Please upload it again; if it fails again, tell your administrator.",
            message=f"Nothing was imported: {error.message}" if isinstance(error, ImportRefused) else None,
            file_name="",
        )
        return
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, params={**job.params, "preview": preview}, finished_at=timezone.now()
    )


def import_project_file(job: Job) -> None:
    """Bring the uploaded project file in as a new project, all of it or nothing; then remove the upload.

    Progress: the file read, then each source written, then the end. The sources are written in
    the project's one transaction, so only the pulse (transcripts.jobs.signs_of_life) carries that
    progress out while it runs, on PostgreSQL. The job then names the new project, or says why
    nothing came in.
    """
    params = job.params
    upload = job.path
    try:
        if not SiteSettings.load().may_start_projects(job.requested_by):
            raise JobRefused("Nothing was imported: you may no longer start projects on this site.")
        job.report_progress(0, 2)
        with upload.open("rb") as stream:
            prepared = prepare_project_import(read_project_file(params["source"], stream), params["source"])
        job.report_progress(1, 2 + len(prepared.sources))
        accounts = get_user_model().objects.in_bulk(set(params["mapping"].values()))
        if len(accounts) != len(set(params["mapping"].values())):
            raise JobRefused("Nothing was imported: an account chosen for a user in the file has been removed.")

        def written(sources: int) -> None:
            # Noted for the pulse to write: written here, it would be seen only at the commit.
            job.done = 1 + sources

        result = import_project(
            prepared, name=params["name"], slug=params["slug"], description=params["description"],
            by=job.requested_by, mapping={guid: accounts[pk] for guid, pk in params["mapping"].items()},
            progress=written,
        )
    except Exception as error:
        message = None
        if isinstance(error, ImportRefused):
            message = f"Nothing was imported: {error.message}"
        elif isinstance(error, IntegrityError):
            message = (
                f"Nothing was imported: another project already uses the short name “{params['slug']}”, "
                "taken while the import waited. Upload the project file again and choose another."
            )
        elif isinstance(error, ValidationError):
            message = f"Nothing was imported: {' '.join(error.messages)}"
        failed(
            job, error,
            "Something went wrong while importing this project, and nothing was imported. "
            "Please upload the project file again; if it fails again, tell your administrator.",
            message=message, file_name="",
        )
        return
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)
    summary = (
        f"Project “{result.project.name}” imported: {result.transcripts} transcripts, {result.codes} codes, "
        f"{result.excerpts} excerpts, {result.memos} memos, {result.participants} participants. You are its lead."
    )
    job.report_progress(job.total)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, project=result.project, message="\n\n".join([summary, *result.notes]),
        file_name="", finished_at=timezone.now(),
    )


def import_transcript_files(job: Job) -> None:
    """Import each uploaded transcript file in its own transaction, as the page does, noting each
    file's outcome; a refused file never stops the others. The uploads are removed at the end."""
    folder = Path(settings.JOBS_DIR)
    files = job.params["files"]
    lines = []
    try:
        membership = member_of(job)
        if not membership.can_import():
            raise JobRefused("Nothing was imported: you may no longer import into this project.")
        progress = Progress(job, len(files))
        for done, (name, stored) in enumerate(files, start=1):
            result = import_transcript_file(job.project, name, (folder / stored).read_bytes(), by=job.requested_by)
            (folder / stored).unlink(missing_ok=True)
            if result.ok:
                participant = f" (participant {result.transcript.participant.label})" if result.transcript.participant else ""
                lines.append(f"{result.name}: imported as “{result.transcript.title}”{participant}.")
            else:
                lines.append(f"{result.name}: refused: {result.error}")
            progress(done)
    except Exception as error:
        failed(
            job, error,
            "Something went wrong while importing, and the file it was reading was not imported. "
            "Please upload the files not listed below again; if it fails again, tell your administrator.",
            notes=lines,
        )
        return
    finally:
        for _, stored in files:
            (folder / stored).unlink(missing_ok=True)
    imported = sum(1 for line in lines if ": imported as " in line)
    summary = f"{imported} of {len(files)} file{'s' if len(files) != 1 else ''} imported."
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, message="\n".join([summary, *lines]), finished_at=timezone.now()
    )
