"""A background job's page: its progress while it runs, its file when ready.

Only the member who started a job sees it: anyone else, even a lead of the same project, gets
404, so a job's number reveals nothing. The page polls its own status region while the job runs.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django.views.decorators.http import require_GET, require_POST

from .. import actions
from ..access import get_job_for_requester
from ..http import HtmxHttpRequest
from ..models import Job


def job_started(request: HtmxHttpRequest, job: Job) -> HttpResponse:
    """After a page starts a job: its status in place for htmx, else the job's own page."""
    if request.htmx:
        return render(request, "transcripts/job_detail.html#job-status", {"job": job})
    return redirect("job_detail", job.pk)


@login_required
@require_GET
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job, membership = get_job_for_requester(request.user, job_id)
    if job.kind == Job.Kind.PROJECT_PREVIEW:
        # A preview has a page of its own, which shows it once ready: the poll moves there then.
        if not request.htmx:
            return redirect("project_import_preview", job.pk)
        if job.finished:
            return HttpResponseClientRedirect(reverse("project_import_preview", args=[job.pk]))
    template = "transcripts/job_detail.html"
    if request.htmx and request.htmx.target == f"job-{job.pk}":
        template += "#job-status"
    return render(request, template, {"job": job, "project": job.project, "membership": membership})


@login_required
@require_GET
def job_download(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job, _ = get_job_for_requester(request.user, job_id)
    if job.status != Job.Status.DONE or job.path is None:
        raise Http404("This file is not ready.")
    try:
        handle = open(job.path, "rb")
    except FileNotFoundError:
        raise Http404("This file has been removed.") from None
    return FileResponse(handle, content_type=job.content_type, as_attachment=True, filename=job.download_name)


@login_required
@require_POST
def restart_job(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """Start a failed or stopped job again with what it asked for; any other job is left as it is."""
    job, _ = get_job_for_requester(request.user, job_id)
    if job.restartable:
        job = actions.restart_job(job, by=request.user)
    return job_started(request, job)
