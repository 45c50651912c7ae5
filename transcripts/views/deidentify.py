from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import actions, audit
from ..access import get_project_for_member, get_transcript_for_member, require
from ..forms import PseudonymForm
from ..http import HtmxHttpRequest
from ..models import TranscriptTextLocked


@login_required
@require_http_methods(["GET", "POST"])
def pseudonym_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The project's replacement list. Leads only: it holds the real names."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = PseudonymForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        pseudonym = form.save(commit=False)
        pseudonym.project = project
        pseudonym.save()
        # The trail records that the list changed, never the real name itself.
        audit.record("pseudonym.added", by=request.user, project=project, obj=pseudonym, object_repr=pseudonym.replacement,
                     after={"replacement": pseudonym.replacement})
        messages.success(request, f"Added a replacement with “{pseudonym.replacement}”.")
        return redirect("pseudonym_list", project.slug)
    transcripts = project.transcripts.for_list()
    return render(
        request,
        "transcripts/pseudonym_list.html",
        {"project": project, "membership": membership, "form": form, "pseudonyms": project.pseudonyms.all(),
         "transcripts": transcripts},
    )


@login_required
@require_POST
def pseudonym_delete(request: HtmxHttpRequest, slug: str, pseudonym_id: int) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    pseudonym = get_object_or_404(project.pseudonyms, pk=pseudonym_id)
    audit.record("pseudonym.removed", by=request.user, project=project, obj=pseudonym, object_repr=pseudonym.replacement,
                 before={"replacement": pseudonym.replacement})
    pseudonym.delete()
    messages.success(request, "Replacement removed.")
    return redirect("pseudonym_list", project.slug)


@login_required
@require_http_methods(["GET", "POST"])
def transcript_deidentify(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Preview every replacement in a transcript, then apply them all at once."""
    transcript, membership = get_transcript_for_member(request.user, transcript_id)
    require(membership.can_manage())
    if request.method == "POST":
        try:
            n = actions.deidentify_transcript(transcript, by=request.user, expected_hash=request.POST.get("hash", ""))
        except (TranscriptTextLocked, actions.StaleEdit) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            return redirect("transcript_deidentify", transcript.pk)
        except ValidationError:
            # A replacement saved before the form normalized them would break the text's form.
            messages.error(request, "A replacement on the list has a line break or an unusual accent, so nothing "
                           "was applied. Remove it from the list, add it again, and retry.")
            return redirect("transcript_deidentify", transcript.pk)
        messages.success(request, f"{n} replacement{'s' if n != 1 else ''} applied to “{transcript.title}”.")
        return redirect("transcript_detail", transcript.pk)
    replacements = actions.deidentify_preview(transcript)
    text = transcript.text
    previews = []
    for item in replacements:
        line_start = text.rfind("\n", 0, item.start) + 1
        line_end = text.find("\n", item.end)
        line_end = len(text) if line_end == -1 else line_end
        before = text[max(line_start, item.start - 60) : item.start]
        after = text[item.end : min(line_end, item.end + 60)]
        previews.append({"item": item, "before": before, "after": after, "line": text.count("\n", 0, item.start) + 1})
    return render(
        request,
        "transcripts/transcript_deidentify.html",
        {
            "project": transcript.project,
            "transcript": transcript,
            "previews": previews,
            "locked": transcript.is_locked(),
        },
    )
