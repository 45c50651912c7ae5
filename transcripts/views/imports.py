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
        for upload in files:
            data = _read_capped(upload)
            if data is None:
                results.append(actions.FileResult(name=upload.name, error=_too_big(upload.name)))
                continue
            results.append(actions.import_transcript_file(project, upload.name, data, by=request.user))
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
