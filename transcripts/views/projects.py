from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import get_project_for_member
from ..http import HtmxHttpRequest
from ..models import Membership, Project


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
    transcripts = project.transcripts.for_list()
    context = {
        "project": project,
        "membership": membership,
        "transcripts": transcripts,
        "n_participants": project.participants.count(),
        "n_codes": project.codes.count(),
    }
    return render(request, "transcripts/project_detail.html", context)
