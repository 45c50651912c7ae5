"""Whole projects leaving peercoding: the REFI-QDA .qdpx download for leads."""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..access import get_project_for_member, require
from ..export_forms import ProjectExportForm
from ..http import HtmxHttpRequest
from ..project_export import export_project


@login_required
@require_GET
@never_cache
def project_export(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The project as a .qdpx, every coder's coding or the consensus only, all transcripts or those chosen."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = ProjectExportForm(request.GET, project=project)
    if not form.is_valid():
        messages.error(request, "; ".join(message for errors in form.errors.values() for message in errors))
        return redirect("project_detail", project.slug)
    options = form.options()
    # Written to a temporary file and sent from there: a big project never sits in memory.
    archive = tempfile.TemporaryFile()
    try:
        export_project(project, archive, options=options, by=request.user)
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    name = f"{project.slug}{'-consensus' if options.consensus_only else ''}-{timezone.localdate().isoformat()}.qdpx"
    return FileResponse(archive, content_type="application/zip", as_attachment=True, filename=name)
