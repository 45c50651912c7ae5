from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import actions
from ..access import get_transcript_for_member, require
from ..http import HtmxHttpRequest


@login_required
@require_http_methods(["GET", "POST"])
def transcript_delete(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    transcript, membership = get_transcript_for_member(request.user, transcript_id, defer_text=True)
    require(membership.can_manage())
    n_excerpts = transcript.excerpts.count()
    if request.method == "POST":
        confirmed = request.POST.get("confirm") == str(n_excerpts)
        try:
            actions.delete_transcript(transcript, by=request.user, confirmed=confirmed)
        except actions.ConfirmationRequired as refusal:
            messages.error(request, f"{refusal} Tick the confirmation to go ahead.")
            return redirect("transcript_delete", transcript.pk)
        messages.success(request, f"“{transcript.title}” deleted.")
        return redirect("project_detail", transcript.project.slug)
    return render(
        request,
        "transcripts/transcript_delete.html",
        {"project": transcript.project, "transcript": transcript, "n_excerpts": n_excerpts},
    )
