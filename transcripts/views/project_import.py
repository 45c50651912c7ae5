"""Bringing a whole REFI-QDA project (.qdpx, .qde) in as a new project: upload, preview, import.

The upload is kept on disk under DATA_DIR between the two steps (a project may be far larger
than a form field), named by a random token that travels signed in the preview's form. The
confirm checks the choices, claims the file by renaming it, so a double-submitted or replayed
confirm finds nothing to import, and moves it into JOBS_DIR for a background job that writes the
project (all of it or nothing) and then removes it; a new project's unique short name is the
second guard. Only the person who confirmed sees how the import went.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from .. import actions
from ..access import require
from ..http import HtmxHttpRequest
from ..interop.readers import ImportRefused
from ..models import SiteSettings
from ..project_forms import SLUG_MAX, ProjectCreateForm
from .jobs import job_started

TEMPLATE = "transcripts/project_import.html"
SALT = "peercoding.project-import"
MAX_AGE = 3600  # seconds a preview stays good
NEW_ACCOUNT = "new"


class ProjectFileForm(forms.Form):
    file = forms.FileField(
        label="Project file",
        help_text="A REFI-QDA project: .qdpx (a zip with the sources) or .qde, as NVivo, ATLAS.ti, MAXQDA, "
        "QualCoder and others export it.",
    )


def upload_dir() -> Path:
    return Path(settings.DATA_DIR) / "project-imports"


def _store(upload) -> str:
    """Keep the upload until the confirm; the token names it. Stale uploads are removed on the way."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.stat().st_mtime < time.time() - 2 * MAX_AGE:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    with (folder / token).open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def _prepare(path: Path, filename: str) -> actions.PreparedImport:
    with path.open("rb") as stream:
        return actions.prepare_project_import(actions.read_project_file(filename, stream), filename)


def _mapping_choices(prepared: actions.PreparedImport, user) -> list[tuple[actions.FileUser, list[tuple[str, str]]]]:
    """Per file user, what the importer may say they are: a new inactive account, themself, or a matching account."""
    rows = []
    for file_user in prepared.users:
        options = [(NEW_ACCOUNT, f"a new inactive account “{file_user.imported_name}”"), (str(user.pk), f"you ({user.get_username()})")]
        for account in file_user.candidates:
            if account.pk != user.pk:
                full = account.get_full_name()
                options.append((str(account.pk), f"{account.get_username()}{f' ({full})' if full else ''}"))
        rows.append((file_user, options))
    return rows


def _suggested(file_user: actions.FileUser) -> str:
    """The choice offered first: the one account that matches, else a new inactive account."""
    return str(file_user.candidates[0].pk) if len(file_user.candidates) == 1 else NEW_ACCOUNT


def _preview_context(request, prepared: actions.PreparedImport, token: str, form: ProjectCreateForm, chosen: dict) -> dict:
    rows = _mapping_choices(prepared, request.user)
    return {
        "previewed": True,
        "prepared": prepared,
        "file": prepared.project,
        "counts": prepared.counts,
        "form": form,
        "payload": signing.dumps({"token": token, "filename": prepared.filename, "user": request.user.pk}, salt=SALT),
        "user_rows": [
            {"index": index, "file_user": file_user, "options": options, "chosen": chosen.get(index, _suggested(file_user))}
            for index, (file_user, options) in enumerate(rows)
        ],
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_import(request: HtmxHttpRequest) -> HttpResponse:
    """Upload a project file and see what importing it would bring in and leave out; nothing is saved yet."""
    site = SiteSettings.load()
    require(site.may_start_projects(request.user))
    upload_form = ProjectFileForm(request.POST or None, request.FILES or None)
    context = {"upload_form": upload_form, "site": site, "may_start": True}
    if request.method == "POST" and upload_form.is_valid():
        upload = upload_form.cleaned_data["file"]
        token = _store(upload)
        path = upload_dir() / token
        try:
            prepared = _prepare(path, upload.name)
        except ImportRefused as refusal:
            path.unlink(missing_ok=True)
            upload_form.add_error("file", f"Nothing was imported: {refusal.message}")
        else:
            name = " ".join((prepared.project.name or Path(upload.name).stem).split())[:200] or "Imported project"
            form = ProjectCreateForm(
                initial={"name": name, "slug": slugify(name)[:SLUG_MAX].strip("-"), "description": prepared.project.description}
            )
            context.update(_preview_context(request, prepared, token, form, {}))
    return render(request, TEMPLATE, context)


def _chosen_accounts(request: HtmxHttpRequest, prepared) -> tuple[dict, dict, bool]:  # noqa: ANN001
    """The account chosen for each user in the file, the mapping by GUID, and whether a choice was not offered."""
    rows = _mapping_choices(prepared, request.user)
    chosen = {index: request.POST.get(f"user-{index}", NEW_ACCOUNT) for index in range(len(rows))}
    mapping, bad = {}, False
    User = get_user_model()
    for index, (file_user, options) in enumerate(rows):
        value = chosen[index]
        if value not in {key for key, _ in options}:
            bad = True  # only the accounts offered may be chosen
        elif value != NEW_ACCOUNT:
            mapping[file_user.guid] = User.objects.get(pk=int(value))
    return chosen, mapping, bad


@login_required
@require_POST
def project_import_confirm(request: HtmxHttpRequest) -> HttpResponse:
    """Check the choices, then hand the previewed file to the worker to import as a new project, once."""
    site = SiteSettings.load()
    require(site.may_start_projects(request.user))
    try:
        data = signing.loads(request.POST.get("payload", ""), salt=SALT, max_age=MAX_AGE)
        token, filename = str(data["token"]), str(data["filename"])
        if data["user"] != request.user.pk or not token.replace("-", "").replace("_", "").isalnum():
            raise signing.BadSignature("not this user's preview")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        messages.error(request, "The preview expired or was altered; upload the project file again.")
        return redirect("project_import")
    path = upload_dir() / token
    try:
        prepared = _prepare(path, filename)
    except FileNotFoundError:
        messages.error(request, "This preview was already imported, or it expired; nothing more was imported.")
        return redirect("project_list")
    except ImportRefused as refusal:
        path.unlink(missing_ok=True)
        messages.error(request, f"Nothing was imported: {refusal.message}")
        return redirect("project_import")
    form = ProjectCreateForm(request.POST)
    chosen, mapping, bad = _chosen_accounts(request, prepared)
    if bad:
        form.is_valid()
        form.add_error(None, "Choose for each user in the file one of the accounts offered.")
    if form.is_valid():
        # Claimed by renaming, so a double-submitted or replayed confirm finds nothing to import;
        # then handed to the worker, which writes the project in the background and removes it.
        claimed = upload_dir() / f"{token}.importing-{secrets.token_hex(4)}"
        try:
            os.replace(path, claimed)
        except FileNotFoundError:
            messages.error(request, "This preview was already imported, or it expired; nothing more was imported.")
            return redirect("project_list")
        jobs_dir = Path(settings.JOBS_DIR)
        jobs_dir.mkdir(parents=True, exist_ok=True)
        upload = f"import-{secrets.token_hex(12)}{Path(filename).suffix[:10]}"
        shutil.move(claimed, jobs_dir / upload)
        job = actions.start_project_import(
            upload,
            by=request.user,
            source=filename,
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            description=form.cleaned_data["description"],
            mapping={guid: account.pk for guid, account in mapping.items()},
        )
        return job_started(request, job)
    context = {"site": site, "may_start": True, **_preview_context(request, prepared, token, form, chosen)}
    return render(request, TEMPLATE, context)
