"""Review pages for the PI: theme summary, quotes, matrices, co-occurrence, AND/NOT, search, reports.

Every member may read them; marking exemplars is for leads, coding search hits for coders and leads.
Each page renders the shared filter form outside `#review-body`; htmx swaps that region when
the filters change, so the view picks the partial from the request's target.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from .. import actions, colours, review
from ..access import get_excerpt_for_member, get_project_for_member, parse_id, require
from ..http import HtmxHttpRequest, safe_redirect_target
from ..models import Attribute, CodeApplication, Job, Membership, Project, visible_excerpts_q
from ..templatetags.review_html import cooccurrence_table, id_url
from .jobs import job_started
# A theme's quotes come a page at a time ("Show more"), so a page's cost does not grow with the study.
# 50 fill two screens; building and sending cards was most of the first view's time at 200.
QUOTES_PER_PAGE = 50
# The participant matrix shows this many participants at a time, so its size does not grow with the study.
MATRIX_COLUMNS_PER_PAGE = 50


@dataclass
class Review:
    """What every review page starts from."""

    project: Project
    membership: Membership
    options: review.FilterOptions
    filters: review.ReviewFilters
    tree: review.Tree

    def context(self, **more) -> dict:
        return {
            "project": self.project,
            "membership": self.membership,
            "options": self.options,
            "filters": self.filters,
            "query": self.filters.as_query(),
            "tree": self.tree,
            "colours_version": colours.rules_version((code.pk, code.color) for code in self.tree.codes),
            "filter_groups": filter_groups(self.options, self.filters),
            **more,
        }


def _load(request, slug: str) -> Review:
    project, membership = get_project_for_member(request.user, slug)
    options = review.FilterOptions.load(project)
    filters = review.ReviewFilters.from_query(request.GET, options, visible=visible_excerpts_q(membership))
    return Review(project, membership, options, filters, review.Tree.load(project))


def filter_groups(options: review.FilterOptions, filters: review.ReviewFilters) -> list[dict]:
    """The filter form's fields with their current state, so the template only draws them."""
    groups = []
    for attribute in options.attributes:
        current = filters.attribute_filter(attribute.pk)
        key = f"a{attribute.pk}"
        if attribute.kind in (Attribute.Kind.NUMBER, Attribute.Kind.DATE):
            groups.append(
                {
                    "kind": "range",
                    "label": attribute.label,
                    "input": "number" if attribute.kind == Attribute.Kind.NUMBER else "date",
                    "low": (key + "_min", review.query_value(current.low) if current and current.low is not None else ""),
                    "high": (key + "_max", review.query_value(current.high) if current and current.high is not None else ""),
                    "open": current is not None,
                }
            )
        else:
            chosen = set(current.values) if current else set()
            items = [(v, v, v in chosen) for v in options.values.get(attribute.pk, [])]
            groups.append({**_choices(attribute.label, key, items), "open": bool(chosen)})
    coders = [(u.pk, u.get_full_name() or u.get_username(), u.pk in filters.coders) for u in options.coders]
    participants = [(p.pk, p.label, p.pk in filters.participants) for p in options.participants]
    transcripts = [(t.pk, t.title, t.pk in filters.transcripts) for t in options.transcripts]
    groups.append(_choices("Coder", "coder", coders))
    groups.append(_choices("Participants", "participant", participants))
    groups.append(_choices("Transcripts", "transcript", transcripts))
    return groups


# Longer lists than this are drawn as one <select multiple> rather than a checkbox each: a study
# of 1,000 interviews would otherwise put 2,000 checkboxes on every review page.
MAX_CHECKBOXES = 30


def _choices(label: str, name: str, items: list[tuple]) -> dict:
    """A filter group of (value, label, chosen) items: checkboxes, or a compact list box when there
    are many (its options drawn by the filter_options tag: the template engine would spend tens of
    milliseconds on a thousand of them)."""
    group = {"kind": "checks", "label": label, "name": name, "items": items, "open": any(c for _, _, c in items)}
    if len(items) > MAX_CHECKBOXES:
        group["kind"] = "select"
        group["size"] = min(12, len(items))
    return group


def _render(request, template: str, context: dict) -> HttpResponse:
    """The whole page, or only #review-body when htmx asks for that region."""
    if request.htmx and request.htmx.target == "review-body":
        template += "#review-body"
    return render(request, template, context)


# Theme summary ----------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_summary(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    page = _load(request, slug)
    sort = request.GET.get("sort", "codebook")
    if sort.lstrip("-") not in review.SORT_KEYS:
        sort = "codebook"
    n_participants = review.scope_participants(page.project, page.filters)
    rows = review.sort_rows(review.theme_summary(page.project, page.filters, page.tree, out_of=n_participants), sort)
    quotes_url = id_url("review_quotes", page.project.slug)
    query = page.filters.as_query()
    for row in rows:  # reversed once, not six times a row in the template
        row.url = f"{quotes_url(row.code.pk)}?{query}&subthemes=" if query else f"{quotes_url(row.code.pk)}?subthemes="
    columns = [
        (name, name.title(), f"-{name}" if sort != f"-{name}" else name) for name in review.MEASURES
    ]
    context = page.context(
        rows=rows,
        sort=sort,
        columns=columns,
        name_sort="-name" if sort == "name" else "name",
        n_participants=n_participants,
        keep=[("sort", sort)],
    )
    return _render(request, "transcripts/review_summary.html", context)


# Quotes ------------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_quotes(request: HtmxHttpRequest, slug: str, code_id: int) -> HttpResponse:
    page = _load(request, slug)
    code = page.tree.by_id.get(code_id)
    if code is None:
        raise Http404("No such code in this project.")
    subthemes = request.GET.get("subthemes", "1") == "1"
    ids = review.quote_ids(page.project, page.filters, page.tree, code, subthemes=subthemes)
    pages = max(1, -(-len(ids) // QUOTES_PER_PAGE))
    number = parse_id(request.GET.get("page")) or 1
    number = min(max(number, 1), pages)
    first = (number - 1) * QUOTES_PER_PAGE
    shown = ids[first : first + QUOTES_PER_PAGE]
    quotes = review.quotes_for_code(page.project, page.filters, page.tree, code, subthemes=subthemes, only=shown)
    back = request.get_full_path()
    keep = [("subthemes", "1" if subthemes else "0")]
    context = page.context(
        code=code,
        path=page.tree.path(code.pk),
        subthemes=subthemes,
        has_children=page.tree.has_children(code.pk),
        quotes=quotes,
        can_mark=page.membership.is_lead(),
        back=back,
        n_quotes=len(ids),
        first=first + 1,
        last=first + len(quotes),
        next_query=page.filters.as_query(subthemes="1" if subthemes else "0", page=number + 1) if number < pages else "",
        keep=keep,
    )
    if request.htmx and request.htmx.target == "more-quotes":
        return render(request, "transcripts/review_quotes.html#quote-page", context)
    return _render(request, "transcripts/review_quotes.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def review_context(request: HtmxHttpRequest, slug: str, excerpt_id: int) -> HttpResponse:
    """±n characters around an excerpt (n = 0, 300 or 1000), as a fragment of the quotes page."""
    excerpt, membership = get_excerpt_for_member(request.user, excerpt_id)
    if excerpt.transcript.project.slug != slug:
        raise Http404("No such excerpt in this project.")
    if not request.htmx:
        return redirect(f"{reverse('transcript_detail', args=[excerpt.transcript_id])}?excerpt={excerpt.pk}")
    n = parse_id(request.GET.get("n", "300"))
    n = 300 if n is None else n
    n = min(review.CONTEXT_SIZES, key=lambda size: abs(size - n))
    around = review.context_around(excerpt.transcript.text, excerpt.start, excerpt.end, n) if n else None
    context = {"excerpt_id": excerpt.pk, "url": reverse("review_context", args=[slug, excerpt.pk]), "n": n, "around": around}
    return render(request, "transcripts/review_quotes.html#excerpt-context", context)


@login_required
@require_POST
def review_exemplar(request: HtmxHttpRequest, slug: str, application_id: int) -> HttpResponse:
    """Mark (exemplar=1) or unmark (exemplar=0) an excerpt as an exemplar of a code. Leads only."""
    project, membership = get_project_for_member(request.user, slug)
    application = get_object_or_404(
        CodeApplication.objects.select_related("code"), pk=application_id, code__project=project
    )
    require(membership.is_lead())
    application = actions.set_exemplar(application, request.POST.get("exemplar") == "1", by=request.user)
    fallback = reverse("review_quotes", args=[project.slug, application.code_id])
    back = safe_redirect_target(request, request.POST.get("back"), fallback)
    if not request.htmx:
        return redirect(back)
    context = {"application": application, "project": project, "back": back}
    response = render(request, "transcripts/review_quotes.html#exemplar-form", context)
    word = "Marked" if application.is_exemplar else "Unmarked"
    trigger_client_event(response, "notify", {"level": "success", "message": f"{word} as an exemplar of {application.code.name}."})
    return response


# Matrices, co-occurrence, AND / NOT ------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_matrix(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    page = _load(request, slug)
    attribute_id = request.GET.get("attribute", "")
    attribute = next((a for a in page.options.attributes if str(a.pk) == attribute_id), None)
    if attribute is None:
        number = parse_id(request.GET.get("page")) or 1
        matrix = review.participant_matrix(
            page.project, page.filters, page.tree, page.options, page=number, per_page=MATRIX_COLUMNS_PER_PAGE
        )
    else:
        matrix = review.attribute_matrix(page.project, page.filters, page.tree, attribute)
    turn = {}  # the links to the previous and next page of participants
    if matrix.page > 1:
        turn["previous"] = page.filters.as_query(page=matrix.page - 1)
    if matrix.page < matrix.pages:
        turn["next"] = page.filters.as_query(page=matrix.page + 1)
    context = page.context(
        matrix=matrix,
        attribute=attribute,
        last_column=matrix.first + len(matrix.columns) - 1,
        turn=turn,
        keep=[("attribute", attribute.pk if attribute else "")],
    )
    return _render(request, "transcripts/review_matrix.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_cooccurrence(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    page = _load(request, slug)
    result = review.cooccurrence(page.project, page.filters, page.tree)
    # The page is drawn around a slot that the table then streams into, a row at a time: held
    # whole, 200 codes' 4 MB table was copied at each level of the templates (112 MB a worker).
    slot = "<!-- co-occurrence table -->"
    context = page.context(result=result, keep=[], table_slot=mark_safe(slot))
    drawn = _render(request, "transcripts/review_cooccurrence.html", context)
    before, slotted, after = drawn.content.decode().partition(slot)
    table = cooccurrence_table(result, page.project, context["query"]) if slotted else ()
    return StreamingHttpResponse(chain([before], table, [after]), content_type=drawn["Content-Type"])


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_cooccurrence_detail(request: HtmxHttpRequest, slug: str, a_id: int, b_id: int) -> HttpResponse:
    page = _load(request, slug)
    a, b = page.tree.by_id.get(a_id), page.tree.by_id.get(b_id)
    if a is None or b is None:
        raise Http404("No such code in this project.")
    passages = review.shared_passages(page.project, page.filters, a, b)
    context = page.context(a=a, b=b, passages=passages, keep=[])
    return _render(request, "transcripts/review_cooccurrence_detail.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_query(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Text coded A AND B, or A but NOT B (the rule is in transcripts/review/matrices.py and on the page)."""
    page = _load(request, slug)
    a = page.tree.by_id.get(parse_id(request.GET.get("a")))
    b = page.tree.by_id.get(parse_id(request.GET.get("b")))
    negate = request.GET.get("op") == "not"
    subthemes = request.GET.get("subthemes") == "1"
    results = None
    if a is not None and b is not None:
        results = review.coded_a_and_b(page.project, page.filters, page.tree, a, b, negate=negate, subthemes=subthemes)
    keep = [("a", a.pk if a else ""), ("b", b.pk if b else ""), ("op", "not" if negate else "and")]
    if subthemes:
        keep.append(("subthemes", "1"))
    context = page.context(a=a, b=b, negate=negate, subthemes=subthemes, results=results, keep=keep)
    return _render(request, "transcripts/review_query.html", context)


# Search ------------------------------------------------------------------------------------------


def _search(request, page: Review, data) -> dict:
    query = data.get("q", "").strip()[:200]
    whole_words = data.get("match", "words") != "substring"
    code = None
    if (code_id := parse_id(data.get("code"))) is not None:
        code = page.tree.by_id.get(code_id)
    hits = review.search(page.project, page.filters, query, whole_words=whole_words) if query else []
    too_many = len(hits) > review.MAX_HITS
    hits = hits[: review.MAX_HITS]
    if code is not None:
        review.mark_coded(hits, code, request.user)
    return {
        "q": query,
        "match": "words" if whole_words else "substring",
        "code": code,
        "hits": hits,
        "too_many": too_many,
        "digest": review.hits_digest(hits),
        "n_new": sum(1 for hit in hits if not hit.coded),
        "n_done": sum(1 for hit in hits if hit.coded),
        "can_code": page.membership.can_code(),
        "keep": [("q", query), ("match", "words" if whole_words else "substring"), ("code", code.pk if code else "")],
    }


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def review_search(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Keyword in context across the project's transcripts; with a code chosen, a preview of coding every hit."""
    page = _load(request, slug)
    return _render(request, "transcripts/review_search.html", page.context(**_search(request, page, request.GET)))


@login_required
@require_POST
def review_search_code(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Code every hit of the previewed search; refused if the hits changed since the preview."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_code())
    options = review.FilterOptions.load(project)
    page = Review(project, membership, options, review.ReviewFilters.from_query(request.POST, options), review.Tree.load(project))
    found = _search(request, page, request.POST)
    code = found["code"]
    error = ""
    if code is None or code.archived:
        error = "Choose a code to apply."
    elif not found["hits"] or found["too_many"]:
        error = "There is nothing to code: search again."
    elif request.POST.get("digest") != found["digest"]:
        error = "The hits changed since the preview; look at them again before coding."
    else:
        try:
            created, skipped = actions.code_search_hits(project, found["hits"], code, by=request.user, query=found["q"])
        except ValidationError as problem:
            error = " ".join(problem.messages)
    url = f"{reverse('review_search', args=[project.slug])}?{page.filters.as_query(q=found['q'], match=found['match'], code=code.pk if code else None)}"
    message = error or f"Coded {created} hit{'s' if created != 1 else ''} with {code.name}" + (
        f"; {skipped} were already coded." if skipped else "."
    )
    if not request.htmx:
        (messages.error if error else messages.success)(request, message)
        return redirect(url)
    found = _search(request, page, request.POST)
    response = render(request, "transcripts/review_search.html#review-body", page.context(**found, error=error))
    trigger_client_event(response, "notify", {"level": "error" if error else "success", "message": message})
    return response


# Reports -------------------------------------------------------------------------------------------


@login_required
@require_POST
def review_report(request: HtmxHttpRequest, slug: str, fmt: str) -> HttpResponse:
    """Start the .docx report, or the coded excerpts as .csv or .xlsx, with the page's filters, as a
    background job: a big project's report takes longer than a request should."""
    kind = f"report.{fmt}"
    if kind not in {Job.Kind.REPORT_DOCX, Job.Kind.REPORT_CSV, Job.Kind.REPORT_XLSX}:
        raise Http404("Reports come as .docx, .csv or .xlsx.")
    page = _load(request, slug)  # the filters are checked now; the job reads them again as it runs
    exemplars_only = request.GET.get("exemplars") == "1"
    job = actions.start_job(
        page.project, kind, by=request.user, download_name=f"{page.project.slug}-review.{fmt}",
        params={"query": page.filters.as_query(), "exemplars": exemplars_only},
    )
    return job_started(request, job)
