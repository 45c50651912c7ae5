"""Bringing a whole REFI-QDA project (.qdpx, .qde) in as a new project: upload, preview, import.

Both the preview and the import run in the background, as jobs of the person who uploaded: a
project at institution scale takes far longer to read than a request may. The upload is stored in
JOBS_DIR under a random name held by the preview job, whose page follows its progress and then
shows the preview with the confirm form. The confirm checks the choices and hands the upload over
to an import job in one conditional write (actions.confirm_project_preview), so a double-submitted
or replayed confirm finds nothing to import; a new project's unique short name is the second guard.
The import job writes the project (all of it or nothing) and then removes the upload. Only the
person who uploaded sees the preview, confirms it, and sees how the import went.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import actions
from ..access import get_job_for_requester, require
from ..http import HtmxHttpRequest
from ..models import Job, SiteSettings
from ..project_forms import SLUG_MAX, ProjectCreateForm
from .jobs import job_started

TEMPLATE = "transcripts/project_import.html"
MAX_AGE = timedelta(hours=1)  # how long a preview stays good for its confirm
NEW_ACCOUNT = "new"


class ProjectFileForm(forms.Form):
    file = forms.FileField(
        label="Project file",
        help_text="A REFI-QDA project: .qdpx (a zip with the sources) or .qde, as NVivo, ATLAS.ti, MAXQDA, "
        "QualCoder and others export it.",
    )


def _store(upload) -> str:
    """Keep the upload in JOBS_DIR for the worker, under a random name (the job removes it)."""
    folder = Path(settings.JOBS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"import-{secrets.token_hex(12)}{Path(upload.name).suffix[:10]}"
    with (folder / stored).open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return stored


def _mapping_choices(users: list[dict], user) -> list[tuple[dict, list[tuple[str, str]]]]:
    """Per file user, what the importer may say they are: a new inactive account, themself, or a
    matching account found by the preview that is still here."""
    candidates = get_user_model().objects.in_bulk({pk for file_user in users for pk in file_user["candidates"]})
    rows = []
    for file_user in users:
        options = [(NEW_ACCOUNT, f"a new inactive account “{file_user['imported_name']}”"), (str(user.pk), f"you ({user.get_username()})")]
        for pk in file_user["candidates"]:
            account = candidates.get(pk)
            if account is not None and account.pk != user.pk:
                full = account.get_full_name()
                options.append((str(account.pk), f"{account.get_username()}{f' ({full})' if full else ''}"))
        rows.append((file_user, options))
    return rows


def _suggested(file_user: dict) -> str:
    """The choice offered first: the one account that matches, else a new inactive account."""
    return str(file_user["candidates"][0]) if len(file_user["candidates"]) == 1 else NEW_ACCOUNT


def _preview_context(request, job: Job, form: ProjectCreateForm, chosen: dict) -> dict:
    preview = job.params["preview"]
    rows = _mapping_choices(preview["users"], request.user)
    return {
        "previewed": True,
        "job": job,
        "preview": preview,
        "counts": preview["counts"],
        "form": form,
        "user_rows": [
            {"index": index, "file_user": file_user, "options": options, "chosen": chosen.get(index, _suggested(file_user))}
            for index, (file_user, options) in enumerate(rows)
        ],
    }


def _get_preview(request: HtmxHttpRequest, job_id: int) -> Job:
    """The requester's own preview job; 403 for those who may not start projects, 404 for anyone
    else's job or a job of another kind."""
    require(SiteSettings.load().may_start_projects(request.user))
    job, _ = get_job_for_requester(request.user, job_id)
    if job.kind != Job.Kind.PROJECT_PREVIEW:
        raise Http404
    return job


def _expired(job: Job) -> bool:
    return job.finished_at is not None and job.finished_at < timezone.now() - MAX_AGE


@login_required
@require_http_methods(["GET", "POST"])
def project_import(request: HtmxHttpRequest) -> HttpResponse:
    """Upload a project file; its preview is worked out in the background. Nothing is imported yet."""
    site = SiteSettings.load()
    require(site.may_start_projects(request.user))
    upload_form = ProjectFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and upload_form.is_valid():
        upload = upload_form.cleaned_data["file"]
        job = actions.start_project_preview(_store(upload), by=request.user, source=upload.name)
        return redirect("project_import_preview", job.pk)
    return render(request, TEMPLATE, {"upload_form": upload_form, "site": site, "may_start": True})


@login_required
@require_GET
def project_import_preview(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The preview job's page: its progress while the file is read, then what importing it would
    bring in and leave out, with the confirm form; a file that cannot be imported is named, with
    the upload form to try another."""
    job = _get_preview(request, job_id)
    context = {"site": SiteSettings.load(), "may_start": True, "job": job}
    if job.failed:
        return render(request, TEMPLATE, {**context, "upload_form": ProjectFileForm(), "refusal": job.failure_message})
    if not job.finished:
        return render(request, TEMPLATE, {**context, "previewing": True})
    if not job.file_name or _expired(job):
        return _gone(request, job)
    preview = job.params["preview"]
    name = " ".join((preview["name"] or Path(preview["filename"]).stem).split())[:200] or "Imported project"
    form = ProjectCreateForm(
        initial={"name": name, "slug": slugify(name)[:SLUG_MAX].strip("-"), "description": preview["description"]}
    )
    return render(request, TEMPLATE, {**context, **_preview_context(request, job, form, {})})


def _gone(request: HtmxHttpRequest, job: Job) -> HttpResponse:
    """A preview already confirmed, or too old to confirm: say so and show where to go."""
    if job.params.get("import_job"):
        messages.error(request, "This preview was already imported; nothing more was imported.")
        return redirect("job_detail", job.params["import_job"])
    messages.error(request, "This preview expired; nothing was imported. Upload the project file again.")
    return redirect("project_import")


def _chosen_accounts(request: HtmxHttpRequest, users: list[dict]) -> tuple[dict, dict, bool]:
    """The account chosen for each user in the file, the mapping by GUID to account id, and whether a choice was not offered."""
    rows = _mapping_choices(users, request.user)
    chosen = {index: request.POST.get(f"user-{index}", NEW_ACCOUNT) for index in range(len(rows))}
    mapping, bad = {}, False
    for index, (file_user, options) in enumerate(rows):
        value = chosen[index]
        if value not in {key for key, _ in options}:
            bad = True  # only the accounts offered may be chosen
        elif value != NEW_ACCOUNT:
            mapping[file_user["guid"]] = int(value)
    return chosen, mapping, bad


@login_required
@require_POST
def project_import_confirm(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """Check the choices, then hand the previewed file to the worker to import as a new project, once."""
    job = _get_preview(request, job_id)
    if not job.finished or job.failed:
        return redirect("project_import_preview", job.pk)
    if not job.file_name or _expired(job):
        if _expired(job) and job.file_name and Job.objects.filter(pk=job.pk, file_name=job.file_name).update(file_name=""):
            job.path.unlink(missing_ok=True)  # nobody may confirm it now: the upload goes
        return _gone(request, job)
    form = ProjectCreateForm(request.POST)
    chosen, mapping, bad = _chosen_accounts(request, job.params["preview"]["users"])
    if bad:
        form.is_valid()
        form.add_error(None, "Choose for each user in the file one of the accounts offered.")
    if form.is_valid():
        started = actions.confirm_project_preview(
            job, by=request.user, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"],
            description=form.cleaned_data["description"], mapping=mapping,
        )
        if started is None:  # another confirm of this preview came first
            job.refresh_from_db()
            return _gone(request, job)
        return job_started(request, started)
    context = {"site": SiteSettings.load(), "may_start": True, **_preview_context(request, job, form, chosen)}
    return render(request, TEMPLATE, context)
