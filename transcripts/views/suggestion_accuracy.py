"""How often the code suggestions are right on this project: the figures evaluate_suggestions prints, for leads.

A lead starts the measurement; it runs as a background job (jobs.write_accuracy) with the jobs'
progress bar, and the figures are kept on the team's model row until the next measurement.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import actions
from ..access import get_project_for_member, require
from ..http import HtmxHttpRequest
from ..models import Job, SuggestionModel
from ..suggestions.evaluation import Evaluation
from ..suggestions.learning import FEWEST_EXAMPLES, LOWEST_PRECISION
from .jobs import job_started


def rows_of(evaluation: Evaluation, names: dict[int, str]) -> list[dict]:
    """One row per learned code, by name, saying whether a coder is shown its suggestions."""
    shown = set(evaluation.shown)
    rows = [
        {"name": names.get(code, "(a deleted code)"), "units": evaluation.examples[code],
         "figures": evaluation.per_code[code], "shown": code in shown}
        for code in evaluation.suggested
    ]
    return sorted(rows, key=lambda row: row["name"].lower())


@login_required
@require_GET
def suggestion_accuracy(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    row = SuggestionModel.objects.filter(project=project, learner=None).defer("data").first()
    evaluation = Evaluation.from_json(row.accuracy) if row and row.accuracy else None
    names = dict(project.codes.values_list("pk", "name"))
    context = {
        "project": project,
        "membership": membership,
        "measured_at": row.accuracy_measured_at if evaluation else None,
        "evaluation": evaluation,
        "rows": rows_of(evaluation, names) if evaluation else [],
        "shown": evaluation.together(evaluation.shown) if evaluation else None,
        "shown_units": sum(evaluation.examples[c] for c in evaluation.shown) if evaluation else 0,
        "all_units": sum(evaluation.examples[c] for c in evaluation.suggested) if evaluation else 0,
        "too_few": sorted(
            ((names.get(code, "(a deleted code)"), evaluation.examples[code]) for code in evaluation.too_few),
            key=lambda pair: pair[0].lower(),
        ) if evaluation else [],
        "job": Job.objects.for_user(request.user)
        .filter(project=project, kind=Job.Kind.SUGGESTIONS_ACCURACY, finished_at__isnull=True)
        .first(),
        "fewest_examples": FEWEST_EXAMPLES,
        "lowest_precision": LOWEST_PRECISION,
    }
    return render(request, "transcripts/suggestion_accuracy.html", context)


@login_required
@require_POST
def measure_suggestions(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """A lead starts measuring the suggestions in the background."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage() and project.suggestions_on)
    name = f"{project.slug}-suggestion-accuracy-{timezone.localdate().isoformat()}.csv"
    job = actions.start_job(project, Job.Kind.SUGGESTIONS_ACCURACY, by=request.user, download_name=name)
    return job_started(request, job)
