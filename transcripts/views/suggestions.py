"""Code suggestions on the transcript page: the panel, accepting, rejecting, training on demand; similar passages."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from .. import actions
from ..access import get_excerpt_for_member, get_transcript_for_member, parse_id, require
from ..http import HtmxHttpRequest
from ..models import Membership, SuggestionModel, Transcript
from ..suggestions import tasks
from ..suggestions.loading import learning_scope, model_for, reliable, similar_units, suggestions_for, units_by_transcript

TEMPLATE = "transcripts/_suggestions.html"


class SuggestionForm(forms.Form):
    start = forms.IntegerField(min_value=0)
    end = forms.IntegerField(min_value=1)
    code = forms.ModelChoiceField(queryset=None)
    version = forms.IntegerField(min_value=1)
    probability = forms.FloatField(min_value=0, max_value=1, required=False)

    def __init__(self, *args, transcript: Transcript, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.transcript = transcript
        self.fields["code"].queryset = transcript.project.codes.active()

    def clean(self) -> dict:
        data = super().clean()
        units = units_by_transcript([self.transcript.pk]).get(self.transcript.pk, [])
        if "start" in data and "end" in data and not any(
            (unit.start, unit.end) == (data["start"], data["end"]) for unit in units
        ):
            raise ValidationError("This passage is not one the suggestions are made for.")
        return data


def suggestion_member(user, transcript_id: int) -> tuple[Transcript, Membership]:
    """The transcript for a member who may code and whose project has suggestions on; else 404/403."""
    transcript, membership = get_transcript_for_member(user, transcript_id)
    require(membership.can_code())
    if not transcript.project.suggestions_on:
        raise PermissionDenied
    return transcript, membership


def render_panel(request: HtmxHttpRequest, transcript: Transcript, membership: Membership) -> HttpResponse:
    row = tasks.keep_fresh(transcript.project, model_for(membership), learning_scope(membership))
    found = suggestions_for(transcript, membership, row)
    codes = {code.pk: code for code in transcript.project.codes.all()}
    items = [{"s": s, "code": codes[s.code], "quote": transcript.text[s.start : s.end]} for s in found if s.code in codes]
    too_few = [codes[int(pk)] for pk in (row.examples if row else {}) if int(pk) in codes and pk not in row.precision]
    unreliable = [codes[int(pk)] for pk in (row.precision if row else {}) if int(pk) in codes and not reliable(row, int(pk))]
    measured = [
        {"code": codes[int(pk)], "units": row.examples.get(pk, 0), "precision": precision}
        for pk, precision in (row.precision if row else {}).items()
        if int(pk) in codes
    ]
    context = {
        "transcript": transcript,
        "membership": membership,
        "row": row,
        "measured": sorted(measured, key=lambda m: m["code"].name.lower()),
        "items": items,
        "too_few": too_few,
        "unreliable": unreliable,
        "busy": row is not None and row.state in (SuggestionModel.State.QUEUED, SuggestionModel.State.TRAINING),
    }
    return render(request, TEMPLATE, context)


@login_required
@require_GET
def transcript_suggestions(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    transcript, membership = suggestion_member(request.user, transcript_id)
    return render_panel(request, transcript, membership)


def answered(
    request: HtmxHttpRequest, transcript: Transcript, membership: Membership, message: str, *, level: str = "success"
) -> HttpResponse:
    """The panel again, with `message` as a notice; without htmx, the transcript page with the message."""
    if not request.htmx:
        (messages.error if level == "error" else messages.success)(request, message)
        return redirect("transcript_detail", transcript.pk)
    response = render_panel(request, transcript, membership)
    if level != "error":
        trigger_client_event(response, "coding-changed", {})
    trigger_client_event(response, "notify", {"level": level, "message": message})
    return response


def answer_suggestion(
    request: HtmxHttpRequest, transcript_id: int, act: Callable[[Transcript, dict], str]
) -> HttpResponse:
    """Check the posted suggestion, `act` on it (returning what to tell the researcher), answer with the panel.

    A form that does not name a suggestion (a stale page, a passage since changed) is answered
    with a message saying so, as is an action refused (accepted already, the code gone).
    """
    transcript, membership = suggestion_member(request.user, transcript_id)
    form = SuggestionForm(request.POST, transcript=transcript)
    if not form.is_valid():
        problems = [message for errors in form.errors.values() for message in errors]
        message = "This suggestion could not be used: " + " ".join(problems) + " Reload the page to see the current suggestions."
        return answered(request, transcript, membership, message, level="error")
    try:
        message = act(transcript, form.cleaned_data)
    except ValidationError as error:
        return answered(request, transcript, membership, " ".join(error.messages), level="error")
    return answered(request, transcript, membership, message)


@login_required
@require_POST
def suggestion_accept(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    def accept(transcript: Transcript, data: dict) -> str:
        actions.accept_suggestion(
            transcript, start=data["start"], end=data["end"], code=data["code"], by=request.user,
            model_version=data["version"], probability=data["probability"] or 0.0,
        )
        return f"Coded as {data['code'].name}."

    return answer_suggestion(request, transcript_id, accept)


@login_required
@require_POST
def suggestion_reject(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    def reject(transcript: Transcript, data: dict) -> str:
        actions.reject_suggestion(
            transcript, start=data["start"], end=data["end"], code=data["code"], by=request.user,
            model_version=data["version"],
        )
        return f"Suggestion of {data['code'].name} rejected."

    return answer_suggestion(request, transcript_id, reject)


@login_required
@require_POST
def suggestions_train(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """A lead asks for the model to be fitted again now."""
    transcript, membership = suggestion_member(request.user, transcript_id)
    require(membership.can_manage())
    tasks.request_training(transcript.project, learning_scope(membership))
    if not request.htmx:
        return redirect("transcript_detail", transcript.pk)
    return render_panel(request, transcript, membership)


@login_required
@require_GET
def excerpt_similar(request: HtmxHttpRequest, excerpt_id: int) -> HttpResponse:
    """The uncoded passages across the project most like this excerpt, each with a button to code it so."""
    excerpt, membership = get_excerpt_for_member(request.user, excerpt_id)
    result = similar_units(excerpt, membership, searched_from=parse_id(request.GET.get("from")) or 0)
    found = result.found
    titles = dict(Transcript.objects.filter(pk__in={unit.transcript for unit, _ in found}).values_list("pk", "title"))
    context = {
        "excerpt": excerpt,
        "project": excerpt.transcript.project,
        "can_code": membership.can_code(),
        "codes": ",".join(str(pk) for pk in excerpt.applications.values_list("code_id", flat=True)),
        "found": [{"unit": unit, "score": score, "title": titles[unit.transcript]} for unit, score in found],
        "result": result,
    }
    template = "transcripts/excerpt_similar.html"
    if request.htmx:
        template += "#similar-list"
    return render(request, template, context)
