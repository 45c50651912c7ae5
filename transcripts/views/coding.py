"""The transcript page: read, select, code, change, undo. htmx swaps its regions in place."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from .. import actions, coding_page, colours, spans
from ..access import get_excerpt_for_member, get_project_for_member, get_transcript_for_member, parse_id, require
from ..http import HtmxHttpRequest
from ..middleware import not_activity
from ..models import Code, Excerpt

TEMPLATE = "transcripts/transcript_detail.html"
PARTIALS = {"coding-area", "code-panel", "excerpt-panel"}


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _render_page(request, transcript, membership, *, partial: str | None = None, status=200, **options):
    """The page or one of its partials (options: see _page_context)."""
    template = TEMPLATE
    if partial:
        template += f"#{partial}"
    context = _page_context(request, transcript, membership, partial=partial, **options)
    return render(request, template, context, status=status)


def _page_context(
    request,
    transcript,
    membership,
    *,
    partial: str | None = None,
    query: QueryDict | None = None,
    excerpt=None,
    applied: list[int] | None = None,
    codebook: list[Code] | None = None,
    error="",
    kept_memo=None,
) -> dict:
    """What the page or one of its partials is drawn from. `query` holds the filters and focus
    (the request's own by default); `applied` (the excerpt's code ids) and `codebook` (the
    project's codes in tree order) spare the queries when a write already has them."""
    query = request.GET if query is None else query
    filters = coding_page.Filters.from_query(query)
    focus_id = _int(query.get("focus"))
    if excerpt is None and (selected := _int(query.get("excerpt"))):
        excerpt = transcript.excerpts.visible_to(membership).filter(pk=selected).select_related("coder").first()
    if excerpt is not None and applied is None:
        applied = list(excerpt.applications.values_list("code_id", flat=True))
    if partial == "excerpt-panel":
        if excerpt is None:  # the empty panel lists no codes
            codebook = []
        page = coding_page.load_excerpt_panel(transcript, membership, filters, codebook)
    else:
        page = coding_page.load_coding_page(
            transcript, membership, filters, focus_id, codebook if partial == "code-panel" else None
        )
    return {
        "project": transcript.project,
        "membership": membership,
        "transcript": transcript,
        "page": page,
        "filters": filters,
        "state": page.state if partial in (None, "coding-area") else "",
        "selected": excerpt,
        "applied": applied or [],
        "can_code": membership.can_code(),
        "can_create_codes": membership.can_create_codes(),
        "can_change": excerpt is not None and membership.can_change_excerpt(excerpt),
        "error": error,
        "kept_memo": kept_memo,
    }


def _code_panel_out_of_band(request, transcript, membership, codebook: list[Code] | None) -> str:
    """The code panel with its counts and coverage after a write, marked for htmx to swap in
    out of band, so the page needs no second request. The page says in X-Code-Panel the query
    its panel was drawn with (filters, focused code)."""
    query = QueryDict(request.headers.get("X-Code-Panel", ""))
    context = _page_context(request, transcript, membership, partial="code-panel", query=query, codebook=codebook)
    context["out_of_band"] = True
    return render_to_string(f"{TEMPLATE}#code-panel", context, request)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def transcript_detail(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    transcript, membership = get_transcript_for_member(request.user, transcript_id)
    partial = request.GET.get("partial") if request.htmx else None
    if partial not in PARTIALS:
        partial = None
    return _render_page(request, transcript, membership, partial=partial)


@not_activity
@login_required
@require_GET
@never_cache
def transcript_state(request: HtmxHttpRequest, transcript_id: int) -> JsonResponse:
    """A token that changes when the coding changes; the page polls it to show others' work."""
    transcript, membership = get_transcript_for_member(request.user, transcript_id, defer_text=True)
    return JsonResponse({"state": coding_page.state_token(transcript, membership)})


@login_required
@require_GET
def codes_css(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Each code's colour as a CSS class, so pages need no inline styles. Linked with the
    version of the colours it should carry (?v=), it may stay in the browser: colours are no
    interview text, and another version has another address."""
    project, _ = get_project_for_member(request.user, slug)
    pairs = list(project.codes.values_list("pk", "color"))
    body = colours.code_rules(pairs)
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    if request.GET.get("v") == colours.rules_version(pairs):
        response["Cache-Control"] = "private, max-age=31536000, immutable"
        response.may_be_stored = True  # NoStoreMiddleware
    else:
        response["ETag"] = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        response["Cache-Control"] = "private, no-cache"
    return response


def _codes_from(request, codebook: list[Code]) -> list[Code]:
    """The codes the form names, from the project's codebook; ValidationError for a code that is
    not in it (another project's, deleted) or archived."""
    raw = request.POST.get("codes", "")
    ids = [pk for part in raw.split(",") if (pk := parse_id(part)) is not None]
    usable = {code.pk: code for code in codebook if not code.archived}
    codes = [usable[pk] for pk in dict.fromkeys(ids) if pk in usable]
    if len(codes) != len(set(ids)):
        raise ValidationError("A code you chose was deleted or archived meanwhile; pick again from the list.")
    return codes


def _patch(*, count: int, pk: int, version: int, excerpt: dict | None = None, removed: int | None = None) -> dict:
    """What the page needs to show its own write in place: the excerpt as its script reads it, or
    the id of the one removed, and what the write added to the state token's count, sum of ids
    and sum of versions. The page adds that to the token it holds; when the next poll's token is
    another, someone else changed the coding meanwhile and the page refreshes."""
    return {"excerpt": excerpt, "removed": removed, "delta": [count, pk, version]}


def _entry(excerpt, membership, applied: list[int]) -> dict:
    applied = sorted(applied)
    mine = excerpt.coder_id == membership.user_id
    return coding_page.excerpt_entry(
        pk=excerpt.pk,
        start=excerpt.start,
        end=excerpt.end,
        coder=coding_page.initials(excerpt.coder),
        codes=applied,
        cls=coding_page.highlight_class(applied[0] if applied else None, mine=mine, is_consensus=excerpt.is_consensus),
    )


def _done(
    request,
    transcript,
    membership,
    excerpt,
    message: str,
    *,
    patch: dict | None = None,
    applied: list[int] | None = None,
    codebook: list[Code] | None = None,
) -> HttpResponse:
    """After a coding change: the excerpt panel, and either the patch with which the page shows
    the change in place together with the code panel's new counts (out of band), or an event on
    which the text and the code panel refresh themselves."""
    if not request.htmx:
        url = reverse("transcript_detail", args=[transcript.pk])
        return redirect(f"{url}?excerpt={excerpt.pk}" if excerpt and excerpt.pk else url)
    response = _render_page(
        request, transcript, membership, partial="excerpt-panel", excerpt=excerpt, applied=applied, codebook=codebook
    )
    if patch is not None:
        trigger_client_event(response, "coding-saved", patch)
        response.write(_code_panel_out_of_band(request, transcript, membership, codebook))
    else:
        trigger_client_event(response, "coding-changed", {})
    trigger_client_event(response, "notify", {"level": "success", "message": message})
    return response


def _refused(
    request, transcript, membership, message: str, *, status: int = 200, excerpt=None, link: str = ""
) -> HttpResponse:
    """The refusal in the excerpt panel (with `link` to the excerpt it concerns) and as a notice."""
    shown = format_html('{} <a href="{}" class="existing-excerpt">Open that excerpt</a>.', message, link) if link else message
    if not request.htmx:
        messages.error(request, shown)
        return redirect("transcript_detail", transcript.pk)
    response = _render_page(
        request, transcript, membership, partial="excerpt-panel", excerpt=excerpt, status=status, error=shown
    )
    trigger_client_event(response, "notify", {"level": "error", "message": message})
    return response


def _refusal(error: ValidationError) -> dict:
    """The refusal's words, and for a duplicate coding the link to the excerpt already there."""
    refusal = {"message": " ".join(error.messages)}
    if isinstance(error, actions.DuplicateCoding):
        url = reverse("transcript_detail", args=[error.existing.transcript_id])
        refusal["link"] = f"{url}?excerpt={error.existing.pk}"
    return refusal


@login_required
@require_POST
def excerpt_create(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    """Code a selection. Offsets arrive in code points (the page converts from UTF-16)."""
    transcript, membership = get_transcript_for_member(request.user, transcript_id)
    require(membership.can_code())
    start, end = _int(request.POST.get("start")), _int(request.POST.get("end"))
    if start is None or end is None:
        return _refused(request, transcript, membership, "Select some text first.")
    if request.POST.get("snap") == "1":
        start, end = spans.snap_to_words(transcript.text, start, end)
    new_name = request.POST.get("new_code", "").strip()
    try:
        with transaction.atomic():
            codebook = coding_page.load_codebook(transcript.project)
            codes = _codes_from(request, codebook)
            if new_name:
                if not membership.can_create_codes():
                    raise PermissionDenied
                same = new_name.lower()
                existing = next((c for c in codebook if c.parent_id is None and c.name.lower() == same), None)
                codes.append(existing or actions.create_code(transcript.project, name=new_name, by=request.user))
            excerpt = actions.create_excerpt(
                transcript,
                start=start,
                end=end,
                codes=codes,
                by=request.user,
                client_token=request.POST.get("client_token") or None,
            )
    except ValidationError as error:
        return _refused(request, transcript, membership, **_refusal(error))
    applied = [code.pk for code in dict.fromkeys(codes)]
    message = f"Coded with {', '.join(code.name for code in dict.fromkeys(codes))}."
    if new_name:  # a new code has no colour on the page yet: refresh rather than patch
        return _done(request, transcript, membership, excerpt, message, applied=applied)
    patch = _patch(count=1, pk=excerpt.pk, version=1, excerpt=_entry(excerpt, membership, applied))
    return _done(request, transcript, membership, excerpt, message, patch=patch, applied=applied, codebook=codebook)


@login_required
@require_GET
def excerpt_detail(request: HtmxHttpRequest, excerpt_id: int) -> HttpResponse:
    excerpt, membership = get_excerpt_for_member(request.user, excerpt_id)
    transcript = excerpt.transcript
    if not request.htmx:
        return redirect(f"{reverse('transcript_detail', args=[transcript.pk])}?excerpt={excerpt.pk}")
    return _render_page(request, transcript, membership, partial="excerpt-panel", excerpt=excerpt)


@login_required
@require_POST
def excerpt_update(request: HtmxHttpRequest, excerpt_id: int) -> HttpResponse:
    """Change codes, memo or boundaries. A stale version is refused and the user keeps their text."""
    excerpt, membership = get_excerpt_for_member(request.user, excerpt_id)
    transcript = excerpt.transcript
    require(membership.can_change_excerpt(excerpt))
    version = _int(request.POST.get("version"))
    if version is None:
        return _refused(request, transcript, membership, "The form was incomplete; reload and try again.", excerpt=excerpt)
    kwargs: dict = {}
    move = request.POST.get("move", "")
    if move in spans.BOUNDARY_MOVES:
        kwargs["start"], kwargs["end"] = spans.move_boundary(transcript.text, excerpt.start, excerpt.end, move)
    elif request.POST.get("start") is not None and request.POST.get("end") is not None:
        start, end = _int(request.POST.get("start")), _int(request.POST.get("end"))
        if start is None or end is None:
            return _refused(request, transcript, membership, "Select the new extent first.", excerpt=excerpt)
        if request.POST.get("snap") == "1":
            start, end = spans.snap_to_words(transcript.text, start, end)
        kwargs["start"], kwargs["end"] = start, end
    codebook = coding_page.load_codebook(transcript.project)
    if "codes" in request.POST:
        try:
            kwargs["codes"] = _codes_from(request, codebook)
        except ValidationError as error:
            return _refused(request, transcript, membership, " ".join(error.messages), excerpt=excerpt)
    if "memo" in request.POST:
        kwargs["memo"] = request.POST["memo"].replace("\r\n", "\n")
    try:
        excerpt = actions.change_excerpt(excerpt, by=request.user, expected_version=version, **kwargs)
    except actions.StaleEdit as stale:
        return _stale(request, transcript, membership, excerpt, str(stale))
    except ValidationError as error:
        return _refused(request, transcript, membership, excerpt=excerpt, **_refusal(error))
    applied = excerpt.code_ids
    patch = _patch(count=0, pk=0, version=1, excerpt=_entry(excerpt, membership, applied))
    return _done(
        request, transcript, membership, excerpt, "Excerpt saved.", patch=patch, applied=applied, codebook=codebook
    )


def _stale(request, transcript, membership, excerpt, message: str) -> HttpResponse:
    """Show the current excerpt beside what the user typed, so nothing they wrote is lost."""
    current = Excerpt.objects.filter(pk=excerpt.pk).select_related("coder").first()
    if not request.htmx:
        messages.error(request, message)
        return redirect("transcript_detail", transcript.pk)
    response = _render_page(
        request,
        transcript,
        membership,
        partial="excerpt-panel",
        excerpt=current,
        status=409,
        error=message,
        kept_memo=request.POST.get("memo"),
    )
    trigger_client_event(response, "coding-changed", {})
    return response


@login_required
@require_POST
def excerpt_delete(request: HtmxHttpRequest, excerpt_id: int) -> HttpResponse:
    excerpt, membership = get_excerpt_for_member(request.user, excerpt_id)
    transcript = excerpt.transcript
    require(membership.can_change_excerpt(excerpt))
    version = _int(request.POST.get("version"))
    try:
        actions.delete_excerpt(excerpt, by=request.user, expected_version=version)
    except actions.StaleEdit as stale:
        return _stale(request, transcript, membership, excerpt, str(stale))
    version = excerpt.version if version is None else version
    patch = _patch(count=-1, pk=-excerpt.pk, version=-version, removed=excerpt.pk)
    return _done(request, transcript, membership, None, "Excerpt deleted. Ctrl+Z brings it back.", patch=patch)


@login_required
@require_POST
def coding_undo(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    transcript, membership = get_transcript_for_member(request.user, transcript_id)
    require(membership.can_code())
    try:
        message = actions.undo_last(transcript, by=request.user)
    except ValidationError as error:
        return _refused(request, transcript, membership, **_refusal(error))
    return _done(request, transcript, membership, None, message)
