"""The audit trail for leads: read, filter, export. Nothing here changes or removes a record."""

from __future__ import annotations

import csv
import datetime
import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..access import get_project_for_member, require
from ..http import HtmxHttpRequest
from ..models import AuditEvent
from ..review.reports import spreadsheet_safe

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label="Person", required=False)
    object_type = forms.ChoiceField(label="Object", required=False)
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        events = AuditEvent.objects.filter(project_id=project.pk).order_by()
        actors = sorted(set(events.values_list("actor_id", "actor_name")), key=lambda pair: pair[1].lower())
        self.fields["actor"].choices = [("", "anyone")] + [(str(pk or "system"), name) for pk, name in actors]
        types = sorted(set(events.values_list("object_type", flat=True)) - {""})
        self.fields["object_type"].choices = [("", "anything")] + [(t, t) for t in types]

    def filter(self, events):  # noqa: ANN001, ANN201
        if not self.is_valid():
            return events
        data = self.cleaned_data
        if data["actor"] == "system":
            events = events.filter(actor_id__isnull=True)
        elif data["actor"]:
            events = events.filter(actor_id=int(data["actor"]))
        if data["object_type"]:
            events = events.filter(object_type=data["object_type"])
        zone = timezone.get_current_timezone()
        if data["since"]:
            events = events.filter(created_at__gte=datetime.datetime.combine(data["since"], datetime.time.min, zone))
        if data["until"]:
            next_day = data["until"] + datetime.timedelta(days=1)
            events = events.filter(created_at__lt=datetime.datetime.combine(next_day, datetime.time.min, zone))
        return events


def changes(before: dict | None, after: dict | None) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) as text for every field whose value differs, in name order;
    None where the field is absent on that side."""
    before, after = before or {}, after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("", _shown(before), _shown(after))]
    missing = object()
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, missing), after.get(key, missing)
        if old != new:
            out.append((key, None if old is missing else _shown(old), None if new is missing else _shown(new)))
    return out


def _shown(value) -> str:  # noqa: ANN001
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value or "(empty)"
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def _events(request, project):
    form = AuditFilterForm(request.GET or None, project=project)
    events = form.filter(AuditEvent.objects.filter(project_id=project.pk)).order_by("-pk")
    return form, events


@login_required
@require_GET
def audit_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Every recorded change to the project's data, newest first, 50 a page."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form, events = _events(request, project)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"event": event, "changes": changes(event.before, event.after)} for event in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "project": project,
        "membership": membership,
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
    }
    return render(request, "transcripts/audit_list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_export(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The filtered trail as CSV, one row an event, oldest first."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    _, events = _events(request, project)
    writer = csv.writer(_Echo())
    header = ["id", "time", "person", "verb", "object_type", "object_id", "object", "before", "after", "hash"]

    def cell(value) -> str:
        if isinstance(value, (dict, list)):
            value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
        return spreadsheet_safe("" if value is None else str(value))

    lines = [writer.writerow(header)]
    for event in events.order_by("pk").iterator(chunk_size=2000):
        lines.append(
            writer.writerow(
                [
                    cell(value)
                    for value in (
                        event.pk,
                        event.created_at.isoformat(),
                        event.actor_name,
                        event.verb,
                        event.object_type,
                        event.object_id,
                        event.object_repr,
                        event.before,
                        event.after,
                        event.hash,
                    )
                ]
            )
        )
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-audit-{stamp}.csv"'
    return response
