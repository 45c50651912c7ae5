"""Quotes: the excerpts of a code as plain values, exemplars first, with citation and context."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db.models import Exists, IntegerField, Max, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from .. import spans
from ..models import Code, CodeApplication, Project, SpeakerTurn
from .filters import ReviewFilters, Tree

def speaker_at_start(prefix: str = "") -> Subquery:
    """The speaker of the turn that covers the excerpt's first character; the excerpt is reached
    through `prefix`, as in ReviewFilters.conditions ("excerpt__" from a code application)."""
    return Subquery(
        SpeakerTurn.objects.filter(
            transcript_id=OuterRef(f"{prefix}transcript_id"),
            start__lte=OuterRef(f"{prefix}start"),
            end__gt=OuterRef(f"{prefix}start"),
        )
        .order_by("-start")
        .values("speaker")[:1]
    )


def _quote_order(excerpts: QuerySet, code_ids: list[int] | None = None) -> QuerySet:
    """Transcript order; with `code_ids`, exemplars of those codes first (`.exemplar`)."""
    order = ["transcript__title", "transcript_id", "start", "end", "pk"]
    if code_ids is not None:
        excerpts = excerpts.annotate(
            exemplar=Exists(
                CodeApplication.objects.filter(excerpt_id=OuterRef("pk"), code_id__in=code_ids, is_exemplar=True)
            )
        )
        order = ["-exemplar", *order]
    return excerpts.order_by(*order)


@dataclass(slots=True)
class QuoteCode:
    """One code on a quote (an application), as a quote card shows it."""

    pk: int
    code: Code
    is_exemplar: bool

    @property
    def code_id(self) -> int:
        return self.code.pk


@dataclass(slots=True)
class Quote:
    """An excerpt as the quote cards show it: plain values, no model instances."""

    pk: int
    transcript_id: int
    transcript_title: str
    who: str  # the participant's label, or the transcript's title when it has no participant
    start: int
    end: int
    quote: str
    memo: str
    coder_id: int
    coder: str  # user name
    coder_name: str  # full name, or user name
    speaker: str | None
    line: int
    exemplar: bool = False
    codes: list[QuoteCode] = field(default_factory=list)  # in codebook order
    matched: list[QuoteCode] = field(default_factory=list)  # of the code asked for (quotes_for_code)

    @property
    def cite(self) -> str:
        """How a quote is cited: participant label (or transcript title) and line."""
        return f"{self.who}, line {self.line}"


def load_quotes(excerpts: QuerySet, tree: Tree | None, code_ids: list[int] | None = None) -> list[Quote]:
    """The excerpts as Quotes in transcript order (with `code_ids`, exemplars of those codes
    first): two queries, one without `tree` (then `codes` stays empty).

    Built from value rows rather than model instances, and the line comes from the transcript's
    stored line breaks (a binary search), never from its text: a page of 200 quotes costs
    little more than its rows.
    """
    rows = _quote_order(
        excerpts.annotate(speaker=speaker_at_start(), breaks=Cast("transcript__line_breaks", TextField())),
        code_ids,
    ).values_list(
        "pk", "transcript_id", "transcript__title", "transcript__participant__label", "start", "end", "quote", "memo",
        "coder_id", "coder__username", "coder__first_name", "coder__last_name", "speaker", "breaks",
        *(["exemplar"] if code_ids is not None else []),
    )
    breaks: dict[int, list[int]] = {}
    quotes = []
    for row in rows:
        pk, transcript_id, title, label, start, end, text, memo, coder_id, username, first, last, speaker, raw = row[:14]
        if transcript_id not in breaks:
            breaks[transcript_id] = json.loads(raw) if raw else []
        quotes.append(
            Quote(
                pk, transcript_id, title, label or title, start, end, text, memo, coder_id, username,
                f"{first} {last}".strip() or username, speaker, spans.line_at(breaks[transcript_id], start),
                exemplar=bool(row[14]) if code_ids is not None else False,
            )
        )
    if tree is not None and quotes:
        by_pk = {quote.pk: quote for quote in quotes}
        for excerpt_id, pk, code_id, is_exemplar in CodeApplication.objects.filter(
            excerpt__in=excerpts.order_by().values("pk")
        ).values_list("excerpt_id", "pk", "code_id", "is_exemplar"):
            if excerpt_id in by_pk and code_id in tree.by_id:
                by_pk[excerpt_id].codes.append(QuoteCode(pk, tree.by_id[code_id], is_exemplar))
        for quote in quotes:
            quote.codes.sort(key=lambda app: (app.code.order, app.code.name, app.pk))
    return quotes


def quotes_for_code(
    project: Project, filters: ReviewFilters, tree: Tree, code: Code, *, subthemes: bool, only: list[int] | None = None
) -> list[Quote]:
    """The excerpts coded with `code` (or a code below it), exemplars first, then in transcript order.

    Each quote's `.matched` holds its applications of the code or its subthemes. With `only`
    (a page of quote_ids), just those excerpts.
    """
    code_ids = tree.subtree(code.pk) if subthemes else [code.pk]
    excerpts = _coded_with(project, filters, code_ids)
    if only is not None:
        excerpts = excerpts.filter(pk__in=only)
    found = load_quotes(excerpts, tree, code_ids)
    wanted = set(code_ids)
    for quote in found:
        quote.matched = [app for app in quote.codes if app.code.pk in wanted]
    return found


def _coded_with(project: Project, filters: ReviewFilters, code_ids: list[int]) -> QuerySet:
    return filters.excerpt_queryset(project).filter(
        Exists(CodeApplication.objects.filter(excerpt_id=OuterRef("pk"), code_id__in=code_ids))
    )


def quote_ids(project: Project, filters: ReviewFilters, tree: Tree, code: Code, *, subthemes: bool) -> list[int]:
    """The ids of quotes_for_code's excerpts in its order (one query).

    Bare ids are cheap to order and count, so a page of quotes loads only its own excerpts. Read
    from the applications of these codes, grouped by excerpt (an exemplar when any of them is),
    rather than by testing every excerpt of the project for one: under half the time on SQLite.
    """
    code_ids = tree.subtree(code.pk) if subthemes else [code.pk]
    return list(
        filters.application_queryset(project)
        .filter(code_id__in=code_ids)
        .values("excerpt_id")
        .annotate(exemplar=Max(Cast("is_exemplar", IntegerField())))
        .order_by(
            "-exemplar", "excerpt__transcript__title", "excerpt__transcript_id", "excerpt__start", "excerpt__end",
            "excerpt_id",
        )
        .values_list("excerpt_id", flat=True)
    )


def citation(quote: Quote) -> str:
    """How a quote is cited: participant label (or transcript title) and line."""
    return quote.cite


# The text around a quote comes in these sizes (characters each side); 0 shows none.
CONTEXT_SIZES = (0, 300, 1000)


@dataclass
class Context:
    before: str
    quote: str
    after: str
    clipped_before: bool
    clipped_after: bool


def context_around(text: str, start: int, end: int, n: int) -> Context:
    """±n characters of text around [start, end)."""
    left, right = max(0, start - n), min(len(text), end + n)
    return Context(text[left:start], text[start:end], text[end:right], left > 0, right < len(text))
