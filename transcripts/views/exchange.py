"""Whole projects leaving peercoding: the REFI-QDA .qdpx export for leads, written in the background."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import actions
from ..access import get_project_for_member, require
from ..export_forms import ProjectExportForm
from ..http import HtmxHttpRequest
from ..models import Job
from .jobs import job_started


@login_required
@require_POST
def project_export(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Start the project's .qdpx, every coder's coding or the consensus only, all transcripts or those chosen."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = ProjectExportForm(request.POST, project=project)
    if not form.is_valid():
        messages.error(request, "; ".join(message for errors in form.errors.values() for message in errors))
        return redirect("project_detail", project.slug)
    options = form.options()
    name = f"{project.slug}{'-consensus' if options.consensus_only else ''}-{timezone.localdate().isoformat()}.qdpx"
    job = actions.start_job(
        project, Job.Kind.PROJECT_QDPX, by=request.user, download_name=name,
        params={"consensus_only": options.consensus_only, "transcript_ids": list(options.transcript_ids)},
    )
    return job_started(request, job)
