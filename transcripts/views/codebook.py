"""The codebook page and its actions; the tree is one htmx partial re-rendered after each change."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from .. import actions, codebook
from ..access import get_code_for_member, get_project_for_member, parse_id, require
from ..codebook_forms import CodebookUploadForm, CodeFieldsForm, ExportForm, MergeForm, MoveForm, NewCodeForm
from ..http import HtmxHttpRequest
from .jobs import job_started
from ..interop import refi
from ..interop.codebook import TEXT_FIELDS, Theme
from ..interop.readers import ImportRefused
from ..interop.readers.codebook_sheet import parse_codebook_sheet
from ..models import Code, Job, visible_excerpts_q

TEMPLATE = "transcripts/codebook.html"
EXCERPTS_PER_PAGE = 100  # on a code's page: a busy code carries thousands at institution scale
IMPORT_SALT = "peercoding.codebook-import"


def _render_codebook(request, project, membership, *, status: int = 200, **extra) -> HttpResponse:
    codes = codebook.load_tree(project, membership)
    context = {
        "project": project,
        "membership": membership,
        "codes": codes,
        "can_edit": membership.can_edit_codebook(),
        "can_create": membership.can_create_codes(),
        "is_lead": membership.is_lead(),
        "new_form": extra.pop("new_form", None) or NewCodeForm(project=project),
        "move_form": extra.pop("move_form", None) or MoveForm(project=project),
        "merge_form": extra.pop("merge_form", None) or MergeForm(project=project),
        "export_form": ExportForm(),
        "upload_form": CodebookUploadForm(),
        "totals": {
            "codes": len(codes),
            "archived": sum(1 for code in codes if code.archived),
        },
        **extra,
    }
    template = TEMPLATE + "#codebook-tree" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


def _changed(request, project, membership, message: str) -> HttpResponse:
    """After a change: the fresh tree for htmx, a redirect otherwise."""
    if not request.htmx:
        messages.success(request, message)
        return redirect("codebook", project.slug)
    response = _render_codebook(request, project, membership)
    trigger_client_event(response, "codes-changed", {})
    trigger_client_event(response, "notify", {"level": "success", "message": message})
    return response


def _refused(request, project, membership, message: str, **extra) -> HttpResponse:
    """A change that could not be made: the tree again with the reason, status 200 so htmx swaps it."""
    if not request.htmx and not extra:
        messages.error(request, message)
        return redirect("codebook", project.slug)
    return _render_codebook(request, project, membership, error=message, **extra)


def _excerpts(n: int) -> str:
    return f"{n} excerpt" + ("" if n == 1 else "s")


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def codebook_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    return _render_codebook(request, project, membership)


@login_required
@require_POST
def code_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_create_codes())
    form = NewCodeForm(request.POST, project=project)
    if not form.is_valid():
        return _render_codebook(request, project, membership, new_form=form, open_new=True)
    data = form.cleaned_data
    try:
        code = actions.create_code(
            project, by=request.user, parent=data["parent"], name=data["name"], color=data["color"],
            **{name: data[name].strip() for name in TEXT_FIELDS},
        )
    except ValidationError as error:
        form.add_error(None, _errors(error))
        return _render_codebook(request, project, membership, new_form=form, open_new=True)
    return _changed(request, project, membership, f"Code “{code.name}” created.")


@login_required
@require_POST
def code_update(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    code, membership = get_code_for_member(request.user, code_id)
    project = code.project
    require(membership.can_edit_codebook())
    form = CodeFieldsForm(request.POST)
    if form.is_valid():
        try:
            code = actions.change_code(code, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            return _changed(request, project, membership, f"“{code.name}” saved.")
    return _render_codebook(request, project, membership, edit_form=form, edit_code_id=code.pk)


@login_required
@require_POST
def code_move(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Move a code under another parent: the menu form, and the drag-and-drop script, post here."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_edit_codebook())
    form = MoveForm(request.POST, project=project)
    if form.is_valid():
        code, parent = form.cleaned_data["code"], form.cleaned_data["parent"]
        try:
            actions.move_code(code, parent, by=request.user)
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            where = f"under “{parent.name}”" if parent else "to the top level"
            return _changed(request, project, membership, f"“{code.name}” moved {where}.")
    return _render_codebook(request, project, membership, move_form=form)


@login_required
@require_POST
def code_reorder(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    code, membership = get_code_for_member(request.user, code_id)
    require(membership.can_edit_codebook())
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        return _refused(request, code.project, membership, "Move a code up or down.")
    actions.reorder_code(code, direction, by=request.user)
    return _changed(request, code.project, membership, f"“{code.name}” moved {direction}.")


@login_required
@require_POST
def code_archive(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    code, membership = get_code_for_member(request.user, code_id)
    require(membership.is_lead())
    archived = request.POST.get("archived", "1") == "1"
    actions.archive_code(code, archived, by=request.user)
    verb = "archived" if archived else "brought back"
    return _changed(request, code.project, membership, f"“{code.name}” {verb}.")


@login_required
@require_POST
def code_merge(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.is_lead())
    form = MergeForm(request.POST, project=project)
    if form.is_valid():
        source, target = form.cleaned_data["source"], form.cleaned_data["target"]
        try:
            result = actions.merge_codes(source, target, by=request.user)
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            return _changed(
                request, project, membership,
                f"“{source.name}” merged into “{target.name}”: {_excerpts(result.moved)} moved, "
                f"{result.already_there} already had both; “{target.name}” is now on {_excerpts(result.excerpts_after)}.",
            )
    return _render_codebook(request, project, membership, merge_form=form)


@login_required
@require_POST
def code_delete(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    """Delete a code; a code in use needs a lead, who first sees how many excerpts it touches."""
    code, membership = get_code_for_member(request.user, code_id)
    project = code.project
    require(membership.can_edit_codebook())
    confirmed = request.POST.get("confirm") == "1"
    if confirmed:
        require(membership.is_lead())
    try:
        actions.delete_code(code, by=request.user, confirmed=confirmed)
    except actions.ConfirmationRequired as needed:
        confirm = {"code": code, "n_excerpts": needed.n_excerpts, "n_lost": codebook.excerpts_lost_with(code), "message": str(needed)}
        return _render_codebook(request, project, membership, confirm_delete=confirm)
    except ValidationError as error:
        return _refused(request, project, membership, _errors(error), failed_code_id=code.pk)
    return _changed(request, project, membership, f"“{code.name}” deleted.")


@login_required
@require_GET
def code_detail(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    """A code with its excerpts (quote, participant, coder); leads mark the exemplars here."""
    code, membership = get_code_for_member(request.user, code_id)
    return _render_code_detail(request, code, membership)


def _render_code_detail(request, code: Code, membership) -> HttpResponse:
    counted = code.project.codes.with_counts(visible_excerpts_q(membership, "applications__excerpt__")).get(pk=code.pk)
    applications = (
        code.applications.filter(visible_excerpts_q(membership, "excerpt__") or Q())
        .select_related("excerpt__transcript__participant", "excerpt__coder")
        .defer("excerpt__transcript__text")
        .order_by("-is_exemplar", "excerpt__transcript__title", "excerpt__start", "pk")
    )
    page = Paginator(applications, EXCERPTS_PER_PAGE).get_page(request.GET.get("page") or request.POST.get("page"))
    context = {"project": code.project, "membership": membership, "code": counted, "applications": page.object_list,
               "page": page, "is_lead": membership.is_lead()}
    template = "transcripts/code_detail.html"
    if request.htmx:
        template += "#code-excerpts"
    return render(request, template, context)


@login_required
@require_POST
def code_exemplar(request: HtmxHttpRequest, code_id: int) -> HttpResponse:
    code, membership = get_code_for_member(request.user, code_id)
    require(membership.is_lead())
    application = get_object_or_404(code.applications, pk=parse_id(request.POST.get("application")) or 0)
    marked = request.POST.get("exemplar") == "1"
    actions.set_exemplar(application, marked, by=request.user)
    if not request.htmx:
        messages.success(request, "Exemplar marked." if marked else "Exemplar mark removed.")
        return redirect("code_detail", code.pk)
    return _render_code_detail(request, code, membership)


@login_required
@require_GET
def codebook_history(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    entries = codebook.history(project)
    context = {"project": project, "membership": membership, "entries": entries, "export_form": ExportForm()}
    return render(request, "transcripts/codebook_history.html", context)


@login_required
@require_POST
def codebook_export(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The codebook as .qdc at once (codes and definitions only, small at any size), or as .docx,
    which carries quotes and counts, started as a background job; now or as on a past date."""
    project, membership = get_project_for_member(request.user, slug)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(message for errors in form.errors.values() for message in errors))
        return redirect("codebook", project.slug)
    options = form.cleaned_data
    stem = f"{project.slug}-codebook" + (f"-{options['as_of'].isoformat()}" if options["as_of"] else "")
    if options["format"] == "docx":
        job = actions.start_job(
            project, Job.Kind.CODEBOOK_DOCX, by=request.user, download_name=f"{stem}.docx",
            params={"quotes": options["quotes"], "counts": options["counts"],
                    "as_of": options["as_of"].isoformat() if options["as_of"] else None},
        )
        return job_started(request, job)
    document = codebook.codebook_document(project, quotes=False, counts=False, as_of=options["as_of"], membership=membership)
    response = HttpResponse(refi.write_qdc(document.themes), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "-", stem)}.qdc"'
    return response


# Import -------------------------------------------------------------------------------------------------


def read_codebook_upload(name: str, data: bytes) -> tuple[list[Theme], list[str]]:
    """Themes and notes from an uploaded .qdc/.qde/.qdpx or .csv/.xlsx; ImportRefused otherwise."""
    lowered = name.lower()
    if lowered.endswith((".csv", ".xlsx")):
        return parse_codebook_sheet(name, data)
    if lowered.endswith(refi.ACCEPTED):
        imported = refi.read_codebook(name, data)
        origin = [f"Written by {imported.origin}."] if imported.origin else []
        return imported.themes, origin + imported.notes
    raise ImportRefused("A codebook can be imported from .qdc, .qdpx, .qde, .csv or .xlsx files.")


def _themes_to_json(themes: list[Theme]) -> list:
    return [
        [t.name, t.color, t.guid, t.archived, [getattr(t, f) for f in TEXT_FIELDS], _themes_to_json(t.children)]
        for t in themes
    ]


def _themes_from_json(data: list) -> list[Theme]:
    return [
        Theme(name, color, guid, *texts, archived=archived, children=_themes_from_json(children))
        for name, color, guid, archived, texts, children in data
    ]


@login_required
@require_http_methods(["GET", "POST"])
def codebook_import(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Upload a codebook and see what importing it would create or change; nothing is saved yet."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_import())
    form = CodebookUploadForm(request.POST or None, request.FILES or None)
    context = {"project": project, "membership": membership, "form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
        try:
            if len(data) > settings.UPLOAD_MAX_BYTES:
                raise ImportRefused(f"“{upload.name}” is larger than the upload limit.")
            themes, notes = read_codebook_upload(upload.name, data)
        except ImportRefused as refusal:
            form.add_error("file", refusal.message)
        else:
            plan = actions.plan_import(project, themes)
            context.update(
                previewed=True,
                plan=plan,
                notes=notes,
                source=upload.name,
                n_create=sum(1 for p in plan if p.action == "create"),
                n_update=sum(1 for p in plan if p.action == "update"),
                n_same=sum(1 for p in plan if p.action == "same"),
                payload=signing.dumps({"source": upload.name, "themes": _themes_to_json(themes)}, salt=IMPORT_SALT, compress=True),
            )
    return render(request, "transcripts/codebook_import.html", context)


@login_required
@require_POST
def codebook_import_confirm(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_import())
    try:
        data = signing.loads(request.POST.get("payload", ""), salt=IMPORT_SALT, max_age=3600)
        themes = _themes_from_json(data["themes"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        messages.error(request, "The preview expired or was altered; upload the codebook again.")
        return redirect("codebook_import", project.slug)
    try:
        created, updated = actions.apply_import(project, themes, by=request.user, source=data["source"])
    except ValidationError as error:
        messages.error(request, f"Nothing was imported: {_errors(error)}")
        return redirect("codebook_import", project.slug)
    messages.success(request, f"Codebook imported: {created} codes created, {updated} updated.")
    return redirect("codebook", project.slug)
