from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import actions
from ..access import get_project_for_member, require
from ..forms import AttributeLabelForm, ParticipantForm, SheetUploadForm
from ..http import HtmxHttpRequest
from ..interop.readers import ImportRefused, ParticipantSheet, SheetColumn, SheetRow
from ..models import Attribute

SHEET_SALT = "peercoding.participant-sheet"


def _participant_table(project):
    attributes = list(project.attributes.all())
    participants = list(project.participants.prefetch_related("values").order_by("label"))
    n_transcripts = dict(
        project.transcripts.values("participant").annotate(n=Count("pk")).values_list("participant", "n")
    )
    rows = []
    for participant in participants:
        by_attribute = {value.attribute_id: value.value for value in participant.values.all()}
        rows.append((participant, [by_attribute.get(a.pk, "") for a in attributes], n_transcripts.get(participant.pk, 0)))
    return attributes, rows


@login_required
@require_GET
def participant_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    form = ParticipantForm(project=project) if membership.can_manage() else None
    return _participant_page(request, project, membership, form)


def _participant_page(request, project, membership, form) -> HttpResponse:
    attributes, rows = _participant_table(project)
    context = {
        "project": project,
        "membership": membership,
        "attributes": attributes,
        "rows": rows,
        "form": form,
        "sheet_form": SheetUploadForm() if membership.can_manage() else None,
    }
    return render(request, "transcripts/participant_list.html", context)


@login_required
@require_POST
def attribute_label(request: HtmxHttpRequest, slug: str, attribute_id: int) -> HttpResponse:
    """Rename what people read for an attribute (its key stays, for exports and commands)."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    attribute = get_object_or_404(project.attributes, pk=attribute_id)
    form = AttributeLabelForm(request.POST)
    if form.is_valid():
        actions.change_attribute_label(attribute, form.cleaned_data["label"], by=request.user)
        messages.success(request, f"{attribute.name} now reads “{attribute.label}”.")
    else:
        for error in form.errors.get("label", []):
            messages.error(request, f"{attribute.label}: {error}")
    return redirect(f"{reverse('participant_list', args=[project.slug])}#attribute-labels")


@login_required
@require_POST
def participant_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = ParticipantForm(request.POST, project=project)
    if form.is_valid():
        try:
            participant = actions.create_participant(
                project, form.cleaned_data["label"], form.attribute_values(), by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Participant {participant.label} added.")
            return redirect("participant_list", project.slug)
    return _participant_page(request, project, membership, form)


@login_required
@require_http_methods(["POST"])
def participant_sheet_preview(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Read an uploaded sheet and show what would be imported, with the types editable."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = SheetUploadForm(request.POST, request.FILES)
    error = ""
    sheet = None
    if form.is_valid():
        upload = form.cleaned_data["sheet"]
        data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
        try:
            if len(data) > settings.UPLOAD_MAX_BYTES:
                raise ImportRefused(f"{upload.name} is larger than the upload limit.")
            sheet = actions.read_participant_sheet(upload.name, data)
        except ImportRefused as refusal:
            error = str(refusal)
    else:
        error = "Choose a .csv or .xlsx file to import."
    if sheet is None:
        messages.error(request, error)
        return redirect("participant_list", project.slug)
    payload = signing.dumps(_sheet_to_json(sheet), salt=SHEET_SALT, compress=True)
    existing = {p.lower() for p in project.participants.values_list("label", flat=True)}
    context = {
        "project": project,
        "membership": membership,
        "sheet": sheet,
        "payload": payload,
        "kinds": Attribute.Kind.choices,
        "n_new": sum(1 for row in sheet.rows if row.label.lower() not in existing),
        "n_existing": sum(1 for row in sheet.rows if row.label.lower() in existing),
        "preview_rows": [(row.label, [row.values.get(c.name, "") for c in sheet.columns]) for row in sheet.rows[:50]],
    }
    return render(request, "transcripts/participant_sheet_preview.html", context)


@login_required
@require_POST
def participant_sheet_import(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    try:
        sheet = _sheet_from_json(signing.loads(request.POST.get("payload", ""), salt=SHEET_SALT, max_age=3600))
    except signing.BadSignature:
        messages.error(request, "The preview expired or was altered; upload the sheet again.")
        return redirect("participant_list", project.slug)
    kinds = {column.name: request.POST.get(f"kind_{index}", column.kind) for index, column in enumerate(sheet.columns)}
    try:
        result = actions.import_participant_sheet(project, sheet, by=request.user, kinds=kinds)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        messages.error(request, "Nothing was imported; fix the sheet or the column types and try again.")
        return redirect("participant_list", project.slug)
    messages.success(
        request,
        f"{result.created} participants added, {result.updated} updated"
        + (f", {result.linked_transcripts} transcripts matched." if result.linked_transcripts else "."),
    )
    return redirect("participant_list", project.slug)


def _sheet_to_json(sheet: ParticipantSheet) -> dict:
    return {
        "columns": [[c.name, c.kind, c.choices] for c in sheet.columns],
        "rows": [[r.label, r.values] for r in sheet.rows],
        "label_column": sheet.label_column,
    }


def _sheet_from_json(data: dict) -> ParticipantSheet:
    return ParticipantSheet(
        columns=[SheetColumn(name, kind, choices) for name, kind, choices in data["columns"]],
        rows=[SheetRow(label, values) for label, values in data["rows"]],
        label_column=data.get("label_column", ""),
    )
