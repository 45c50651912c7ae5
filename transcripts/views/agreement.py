"""Inter-coder agreement with the disagreements behind it, and reconciliation into a consensus."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models.functions import Length
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import actions
from ..access import get_project_for_member, get_transcript_for_member, parse_id, require
from ..agreement import units
from ..agreement.loading import coders_by_transcript, load_codings
from ..coding_page import initials
from ..forms import ConsensusForm
from ..http import HtmxHttpRequest
from ..models import Transcript

MAX_DISAGREEMENTS = 300


@dataclass
class AgreementChoice:
    """What the user asked for, read from the query string and checked against the project."""

    transcript: str  # "all" or a transcript id
    coders: list[int]
    threshold: int  # percent
    code: str  # "" (no list), "all", or a code id

    def query(self, **changes) -> str:
        values = {"transcript": self.transcript, "coders": self.coders, "threshold": self.threshold, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)}, doseq=True)


def _read_choice(request, coded: dict[int, dict[int, int]], known_coders: set[int]) -> AgreementChoice:
    transcript = request.GET.get("transcript", "all")
    if transcript != "all":
        transcript = str(pk) if (pk := parse_id(transcript)) in coded else "all"
    coders = [pk for c in request.GET.getlist("coders") if (pk := parse_id(c)) in known_coders]
    coders = list(dict.fromkeys(coders))
    if not request.GET.getlist("coders"):
        # By default the two people who double-coded the most transcripts together.
        pairs: dict[tuple[int, int], int] = {}
        for by_coder in coded.values():
            ids = sorted(by_coder)
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    pairs[a, b] = pairs.get((a, b), 0) + 1
        if pairs:
            coders = list(max(pairs.items(), key=lambda item: (item[1], -item[0][0], -item[0][1]))[0])
    threshold = request.GET.get("threshold", "50")
    threshold = parse_id(threshold)
    threshold = threshold if threshold is not None and 1 <= threshold <= 100 else 50
    code = request.GET.get("code", "")
    if code != "all":
        code = str(pk) if (pk := parse_id(code)) is not None else ""
    return AgreementChoice(transcript=transcript, coders=coders, threshold=threshold, code=code)


def _percent(figure) -> str:
    return f"{100 * figure.value:.1f}%" if figure.defined else ""


def _display(row, link: str) -> dict:
    return {
        "row": row,
        "percent": _percent(row.percent),
        "segments": _percent(row.segments.agreement),
        "kappa_band": _band(row.kappa),
        "alpha_band": _band(row.alpha),
        "link": link,
    }


def _band(figure) -> str:
    """A rough band for colouring kappa and alpha (after Landis & Koch 1977); not a verdict."""
    if figure is None or not figure.defined:
        return "none"
    if figure.value < 0.4:
        return "low"
    if figure.value < 0.6:
        return "mid"
    if figure.value < 0.8:
        return "good"
    return "high"


@login_required
@require_GET
def agreement(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Agreement between two or more coders, per code and pooled, at character and segment level."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_view_agreement())
    coded = coders_by_transcript(project)
    coder_ids = {coder for by_coder in coded.values() for coder in by_coder}
    people = {u.pk: u for u in get_user_model().objects.filter(pk__in=coder_ids).order_by("username")}
    choice = _read_choice(request, coded, set(people))
    all_transcripts = list(project.transcripts.defer("text").annotate(length=Length("text")).order_by("title", "pk"))
    double_coded = [t for t in all_transcripts if len(coded.get(t.pk, {})) >= 2]
    context = {
        "project": project,
        "membership": membership,
        "choice": choice,
        "people": list(people.values()),
        "double_coded": double_coded,
        "report": None,
    }
    if len(choice.coders) < 2:
        context["problem"] = "Choose at least two coders."
        return render(request, "transcripts/agreement.html", context)
    if choice.transcript == "all":
        chosen = [t for t in double_coded if all(c in coded.get(t.pk, {}) for c in choice.coders)]
    else:
        chosen = [t for t in all_transcripts if t.pk == int(choice.transcript)]
    if not chosen:
        context["problem"] = "No transcript was coded by all of the chosen coders."
        return render(request, "transcripts/agreement.html", context)
    codings = load_codings(chosen, choice.coders)
    report = units.compare(codings, choice.coders, threshold=choice.threshold / 100)
    codes = {code.pk: code for code in project.codes.in_tree_order()}
    order = {pk: index for index, pk in enumerate(codes)}
    rows = [
        {**_display(row, "?" + choice.query(code=row.code_id) + "#disagreements"), "code": codes.get(row.code_id)}
        for row in sorted(report.rows, key=lambda r: order.get(r.code_id, len(order)))
    ]
    context.update(
        report=report,
        rows=rows,
        pooled=_display(report.pooled, "?" + choice.query(code="all") + "#disagreements"),
        chosen=chosen,
        without_turns=[t for t in chosen if not report.participant_only[t.pk]],
        coder_names=[people[c].get_full_name() or people[c].get_username() for c in choice.coders],
        coders_present=[people[c] for c in choice.coders],
    )
    if choice.code:
        wanted = list(codes) if choice.code == "all" else [int(choice.code)]
        found = units.disagreements(codings, choice.coders, wanted, threshold=choice.threshold / 100)
        context.update(
            disagreements=_describe(found[:MAX_DISAGREEMENTS], chosen, codes, people),
            n_disagreements=len(found),
            focus_code=codes.get(int(choice.code)) if choice.code != "all" else None,
        )
    return render(request, "transcripts/agreement.html", context)


def _describe(found: list, transcripts: list, codes: dict, people: dict) -> list[dict]:
    """Disagreements with their quotes and links: one query for the texts involved."""
    ids = {d.transcript_id for d in found}
    texts = dict(Transcript.objects.filter(pk__in=ids).values_list("pk", "text"))
    titles = {t.pk: t.title for t in transcripts}
    out = []
    for d in found:
        quote = texts[d.transcript_id][d.start : d.end]
        out.append(
            {
                "d": d,
                "title": titles.get(d.transcript_id, ""),
                "code": codes.get(d.code_id),
                "quote": quote,
                "who": [people[c].get_full_name() or people[c].get_username() for c in d.coders if c in people],
                "link": reverse("transcript_detail", args=[d.transcript_id]) + f"?excerpt={d.excerpt_id}",
            }
        )
    return out


# Reconciliation ---------------------------------------------------------------------------------


@login_required
@require_GET
def reconcile(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Coders' excerpts side by side, disagreements first, each with a way to settle it."""
    transcript, membership = get_transcript_for_member(request.user, transcript_id, defer_text=True)
    require(membership.can_manage())
    originals = list(transcript.excerpts.filter(is_consensus=False).for_transcript_page())
    everyone = sorted({e.coder for e in originals}, key=lambda u: u.get_username())
    wanted = [pk for c in request.GET.getlist("coders") if (pk := parse_id(c)) is not None]
    coders = [u for u in everyone if u.pk in wanted] if len(wanted) >= 2 else everyone
    coder_ids = [u.pk for u in coders]
    by_id = {e.pk: e for e in originals}
    spans = [
        units.Span(e.pk, e.coder_id, e.start, e.end, tuple(a.code_id for a in e.applications.all()))
        for e in originals
        if e.coder_id in coder_ids
    ]
    consensus = list(transcript.excerpts.filter(is_consensus=True).for_transcript_page())
    groups = []
    for cluster in units.clusters(spans, coder_ids):
        settled = [c for c in consensus if c.start < cluster.end and cluster.start < c.end]
        columns = [
            {"coder": u, "excerpts": [by_id[s.excerpt_id] for s in cluster.spans if s.coder == u.pk]} for u in coders
        ]
        groups.append(
            {
                "cluster": cluster,
                "columns": columns,
                "settled": settled,
                "ids": ",".join(map(str, cluster.excerpt_ids)),
                "missing": any(not column["excerpts"] for column in columns),
            }
        )
    # Unsettled disagreements first, then settled ones, then passages where the coders agree.
    groups.sort(key=lambda g: (not g["cluster"].differs, bool(g["settled"]), units.STATUS_ORDER[g["cluster"].status], g["cluster"].start))
    context = {
        "project": transcript.project,
        "membership": membership,
        "transcript": transcript,
        "coders": coders,
        "everyone": everyone,
        "groups": groups,
        "consensus": consensus,
        "codes": transcript.project.codes.active().in_tree_order(),
        "n_open": sum(1 for g in groups if g["cluster"].differs and not g["settled"]),
        "initials": {u.pk: initials(u) for u in everyone},
    }
    return render(request, "transcripts/reconcile.html", context)


@login_required
@require_POST
def reconcile_settle(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Write one disagreement's consensus: accept a coder's version, merge them, or a new one."""
    transcript, membership = get_transcript_for_member(request.user, transcript_id)
    require(membership.can_manage())
    form = ConsensusForm(request.POST, transcript=transcript)
    back = reverse("reconcile", args=[transcript.pk])
    kept = [pk for c in request.POST.getlist("keep_coders") if (pk := parse_id(c)) is not None]
    if kept:
        back += "?" + urlencode({"coders": kept}, doseq=True)
    try:
        if not form.is_valid():
            raise ValidationError([m for messages_ in form.errors.values() for m in messages_])
        actions.settle_consensus(
            transcript,
            originals=form.cleaned_data["excerpts"],
            versions=form.versions(),
            choice=form.cleaned_data["choice"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(request, "Written into the consensus coding.")
    return redirect(back)
