"""Transcript files brought into a project: many at once, or large ones, in the background."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import actions
from ..access import get_project_for_member, get_transcript_for_member, require
from ..forms import SpeakerRolesForm, TranscriptUploadForm
from ..http import HtmxHttpRequest
from ..interop.readers import ACCEPTED_FORMATS

# Past either, an upload is imported by the worker while its page shows progress: a request
# stays short, and the page's script (one file a request) sends only big files there.
BACKGROUND_ABOVE_FILES = 5
BACKGROUND_ABOVE_BYTES = 2 * 1024 * 1024


@login_required
@require_http_methods(["GET", "POST"])
def import_transcripts(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Upload transcripts: one file per request from the page's script, or many from the plain form."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_import())
    results = []
    form = TranscriptUploadForm()
    if request.method == "POST":
        files = request.FILES.getlist("files")
        if not files:
            form = TranscriptUploadForm(request.POST, request.FILES)
            form.is_valid()
        accepted = []
        for upload in files:
            data = _read_capped(upload)
            if data is None:
                results.append(actions.FileResult(name=upload.name, error=_too_big(upload.name)))
            else:
                accepted.append((upload.name, data))
        if len(accepted) > BACKGROUND_ABOVE_FILES or sum(len(data) for _, data in accepted) > BACKGROUND_ABOVE_BYTES:
            job = actions.start_transcripts_import(project, _keep_for_the_worker(accepted), by=request.user)
            if not request.htmx:
                for result in results:
                    messages.error(request, f"{result.name}: {result.error}")
                return redirect("job_detail", job.pk)
            return render(request, "transcripts/import_transcripts.html#import-result-rows", {"results": results, "job": job})
        results += [actions.import_transcript_file(project, name, data, by=request.user) for name, data in accepted]
    context = {
        "project": project,
        "membership": membership,
        "form": form,
        "results": results,
        "accepted": ", ".join(ACCEPTED_FORMATS),
    }
    template = "transcripts/import_transcripts.html"
    if request.htmx:
        template += "#import-result-rows"
    return render(request, template, context)


def _keep_for_the_worker(files: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """Write the uploads into JOBS_DIR under random names: (uploaded name, stored name) each."""
    folder = Path(settings.JOBS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for name, data in files:
        stored = f"import-{secrets.token_hex(12)}"
        (folder / stored).write_bytes(data)
        kept.append((name, stored))
    return kept


def _read_capped(upload) -> bytes | None:
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        return None
    data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
    return None if len(data) > settings.UPLOAD_MAX_BYTES else data


def _too_big(name: str) -> str:
    return f"{name} is larger than the {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB upload limit."


@login_required
@require_http_methods(["GET", "POST"])
def transcript_speakers(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Map the speaker labels found at import to interviewer, participant or other."""
    transcript, membership = get_transcript_for_member(request.user, transcript_id, defer_text=True)
    require(membership.can_import())
    labels = list(transcript.turns.order_by("speaker").values_list("speaker", "role").distinct())
    form = SpeakerRolesForm(request.POST or None, labels=labels)
    if request.method == "POST" and form.is_valid():
        actions.set_speaker_roles(transcript, form.roles(), by=request.user)
        messages.success(request, f"Speakers of “{transcript.title}” saved.")
        return redirect("transcript_detail", transcript.pk)
    counts = dict(
        (label, n) for label, n in _turn_counts(transcript)
    )
    rows = [(form[f"role_{i}"], label, counts.get(label, 0)) for i, (label, _) in enumerate(labels)]
    return render(
        request,
        "transcripts/transcript_speakers.html",
        {"project": transcript.project, "transcript": transcript, "form": form, "rows": rows},
    )


def _turn_counts(transcript):
    return transcript.turns.values("speaker").annotate(n=Count("pk")).values_list("speaker", "n")
