from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .. import audit
from ..access import get_project_for_member, require
from ..forms import ProjectSettingsForm
from ..http import HtmxHttpRequest
from ..models import Membership


@login_required
@require_GET
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("project")
        .annotate(n_transcripts=Count("project__transcripts", distinct=True))
        .order_by("project__name")
    )
    return render(request, "transcripts/project_list.html", {"memberships": memberships})


@login_required
@require_GET
def project_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    transcripts = project.transcripts.for_list(membership)
    context = {
        "project": project,
        "membership": membership,
        "transcripts": transcripts,
        "n_participants": project.participants.count(),
        "n_codes": project.codes.count(),
    }
    return render(request, "transcripts/project_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    fields = ["name", "description", "only_leads_create_codes", "leads_need_two_factor"]
    before = {field: getattr(project, field) for field in fields}
    lead_verified = getattr(request.user, "is_verified", lambda: False)()
    form = ProjectSettingsForm(request.POST or None, instance=project, lead_verified=lead_verified)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            after = {field: getattr(project, field) for field in fields}
            if after != before:
                audit.record("project.changed", by=request.user, project=project, obj=project, before=before, after=after)
        messages.success(request, "Project settings saved.")
        if project.leads_need_two_factor and not before["leads_need_two_factor"]:
            messages.info(request, "Leads without a second factor will be asked to set one up before they open this project.")
        return redirect("project_detail", project.slug)
    return render(request, "transcripts/project_settings.html", {"project": project, "membership": membership, "form": form})
