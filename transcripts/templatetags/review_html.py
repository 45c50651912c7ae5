"""The review pages' long repeated markup: quote cards, heat tables, long option lists.

Built in Python rather than in template files: a page shows 200 quote cards, and the template
engine spent about 0.4 ms on each, the whole budget of the page; a matrix has a cell per code
and participant (or code and code), thousands in a large study.

Every value passes through esc() on its way into an f-string, and only the finished markup is
marked safe. format_html() would do the same, but it costs several times the markup it builds
(each value passes through wrappers that look for lazy strings, and the pattern is parsed
again for every card): 200 cards took two to three times as long as they do here.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator

from django import template
from django.template.backends.utils import csrf_input
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.safestring import SafeString

from ..models import Attribute, Project
from ..review import CONTEXT_SIZES, Context, Cooccurrence, Matrix, Quote

register = template.Library()
escape = html.escape  # what Django's escape() and autoescaping call


def esc(value) -> str:
    """A value as HTML text: escaped, unless it is already safe (has __html__); ints as they are."""
    kind = type(value)
    if kind is str:
        return escape(value)
    if kind is int:
        return str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


class Escaped(dict):
    """esc(value) by value, worked out the first time: a heat table's classes, counts and column
    queries repeat from row to row, and a dictionary lookup costs less than a call."""

    def __missing__(self, value) -> str:
        self[value] = escaped = esc(value)
        return escaped


def id_url(name: str, *args) -> Callable[[int], str]:
    """reverse() once for a URL whose last argument is an id; the result formats ids in."""
    marker = "2147483647"
    head, tail = reverse(name, args=[*args, int(marker)]).rsplit(marker, 1)
    return lambda pk: f"{head}{pk}{tail}"


# Filter lists ----------------------------------------------------------------------------------


@register.simple_tag
def filter_options(items: Iterable[tuple]) -> SafeString:
    """The <option>s of a filter list box, one per (value, label, chosen) item."""
    return SafeString(
        "".join(
            f'<option value="{esc(value)}"{" selected" if chosen else ""}>{esc(text)}</option>' for value, text, chosen in items
        )
    )


# Quote cards -----------------------------------------------------------------------------------


def exemplar_button(app, url: str, csrf: str, back: str, labels: dict[bool, str] | None = None) -> str:
    """The form that marks (or unmarks) an application as an exemplar of its code; leads only.

    `app` is a CodeApplication or a review.QuoteCode (pk, code, is_exemplar); `url`, `csrf` and
    `back` come already escaped; `labels`, the buttons' label patterns for this page.
    """
    labels = labels if labels is not None else EXEMPLAR_LABELS
    pk, marked = esc(app.pk), app.is_exemplar
    return (
        f'<form id="exemplar-{pk}" class="inline-form" method="post" action="{url}"'
        f' hx-post="{url}" hx-target="#exemplar-{pk}" hx-swap="outerHTML">{csrf}'
        f'<input type="hidden" name="exemplar" value="{"0" if marked else "1"}">'
        f'<input type="hidden" name="back" value="{back}">'
        f'<button type="submit" class="button small exemplar-button{" on" if marked else ""}"'
        f' aria-pressed="{"true" if marked else "false"}">{labels[marked]}{esc(app.code.name)}</button></form>'
    )


EXEMPLAR_LABELS = {True: "★ Exemplar of ", False: "☆ Mark as exemplar of "}


@register.simple_tag(takes_context=True)
def exemplar_form(context, app, project: Project, back: str) -> SafeString:
    """exemplar_button for one application, as the exemplar view sends it back."""
    url = esc(reverse("review_exemplar", args=[project.slug, app.pk]))
    return SafeString(exemplar_button(app, url, csrf_input(context.request), esc(back)))


def context_link(url: str, n: int, pk: str, label: str) -> str:
    """A button that shows n characters around quote `pk` (url and pk already escaped)."""
    return (
        f'<a class="button small" href="{url}?n={n}" hx-get="{url}?n={n}"'
        f' hx-target="#context-{pk}" hx-swap="outerHTML">{label}</a>'
    )


@register.simple_tag
def excerpt_context(excerpt_id: int, url: str, n: int, around: Context | None = None) -> SafeString:
    """The text around a quote (n characters each side; 0 for none) and the buttons that change n."""
    return SafeString(context_box(esc(excerpt_id), esc(url), n, around))


def context_box(pk: str, url: str, n: int, around: Context | None = None) -> str:
    """excerpt_context with the id and url already escaped."""
    text = more = hide = ""
    if around is not None:
        text = (
            f'<p class="context-text">{"…" if around.clipped_before else ""}{esc(around.before)}'
            f'<mark>{esc(around.quote)}</mark>{esc(around.after)}{"…" if around.clipped_after else ""}</p>'
        )
    if n < CONTEXT_SIZES[-1]:
        more = context_link(url, CONTEXT_SIZES[CONTEXT_SIZES.index(n) + 1], pk, "More context" if n else "Show context")
    if n:
        hide = context_link(url, 0, pk, "Hide context")
    return f'<div id="context-{pk}" class="excerpt-context">{text}<div class="toolbar">{more}{hide}</div></div>'


@register.simple_tag(takes_context=True)
def quote_cards(context, quotes: list[Quote], project: Project, *, can_mark: bool = False, back: str = "") -> SafeString:
    """One card per quote: the quote, its citation, codes and memo, and the buttons to open it in
    its transcript, copy it with its citation, mark it an exemplar (leads) and show the text around it."""
    open_url = id_url("transcript_detail")
    context_url = id_url("review_context", project.slug)
    exemplar_url = id_url("review_exemplar", project.slug)
    csrf = csrf_input(context.request) if can_mark else ""
    back = esc(back)
    # Code names, titles and coders repeat from card to card: each is escaped once a page.
    escaped, cards = Escaped(), []
    for quote in quotes:
        pk, text, cite = esc(quote.pk), esc(quote.quote), esc(quote.cite)
        marks = []
        for app in quote.matched:
            if can_mark:
                marks.append(exemplar_button(app, esc(exemplar_url(app.pk)), csrf, back))
            elif app.is_exemplar:
                marks.append(f'<span class="badge">★ exemplar of {escaped[app.code.name]}</span>')
        tags = "".join(
            f'<span class="tag c-{escaped[app.code.pk]}">{escaped[app.code.name]}{" ★" if app.is_exemplar else ""}</span> '
            for app in quote.codes
        )
        speaker = f" · speaker {esc(quote.speaker)}" if quote.speaker else ""
        memo = f'<p class="memo"><span class="muted">Memo:</span> {esc(linebreaksbr(quote.memo))}</p>' if quote.memo else ""
        cards.append(
            f'<article class="quote-card{" exemplar" if quote.exemplar else ""}" id="quote-{pk}">'
            f'<blockquote class="quote">{text}</blockquote>'
            f'<p class="citation"><strong>{cite}</strong> · {escaped[quote.transcript_title]}{speaker}'
            f" · coded by {escaped[quote.coder_name]}</p>"
            f'<p class="codes">{tags}</p>{memo}'
            '<div class="toolbar quote-tools">'
            f'<a class="button small" href="{esc(open_url(quote.transcript_id))}?excerpt={pk}">Open in transcript</a>'
            f' <button type="button" class="button small copy-quote" data-copy="“{text}” ({cite})">Copy with citation</button>'
            f' {"".join(marks)}</div>{context_box(pk, esc(context_url(quote.pk)), 0)}</article>\n'
        )
    return SafeString("".join(cards))


# Heat tables -----------------------------------------------------------------------------------


@register.simple_tag
def matrix_table(matrix: Matrix, project: Project, attribute: Attribute | None) -> SafeString:
    """Codes × participants (or values of `attribute`); each cell opens its quotes."""
    quotes_url = id_url("review_quotes", project.slug)
    head = "".join(f'<th scope="col" class="col-head">{esc(column.label)}</th>' for column in matrix.columns)
    escaped, rows = Escaped(), []
    for code, cells in matrix.rows:
        url = esc(quotes_url(code.pk))
        tds = []
        for cell in cells:
            if cell["n"]:
                people = f'<span class="people">/{escaped[cell["people"]]}</span>' if attribute else ""
                tds.append(
                    f'<td class="heat {escaped[cell["heat"]]}"><a href="{url}?{escaped[cell["query"]]}">'
                    f'{escaped[cell["n"]]}{people}</a></td>'
                )
            else:
                tds.append(f'<td class="heat {escaped[cell["heat"]]}"></td>')
        rows.append(
            f'<tr class="depth-{esc(code.depth)}"><th scope="row"><span class="swatch c-{esc(code.pk)}"></span>{esc(code.name)}</th>'
            f'{"".join(tds)}</tr>\n'
        )
    return SafeString(
        f'<table class="heat-table"><thead><tr><th scope="col">Code</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def cooccurrence_table(result: Cooccurrence, project: Project, query: str) -> Iterator[str]:
    """Code × code pair counts, the diagonal hatched, each other cell opening the shared passages;
    in pieces, a row at a time, for the page to stream (200 codes make a 4 MB table)."""
    marker_a, marker_b = 2147483646, 2147483647
    pattern = reverse("review_cooccurrence_detail", args=[project.slug, marker_a, marker_b])
    head_a, rest = pattern.split(str(marker_a), 1)
    middle, tail = rest.split(str(marker_b), 1)
    head_a, middle, suffix = esc(head_a), esc(middle), esc(f"{tail}?{query}" if query else tail)
    pks = {code.pk: esc(code.pk) for code in result.codes}
    names = {code.pk: esc(code.name) for code in result.codes}
    head = "".join(
        f'<th scope="col" class="col-head"><span class="swatch c-{pks[code.pk]}"></span>{names[code.pk]}</th>'
        for code in result.codes
    )
    yield f'<table class="heat-table cooccurrence"><thead><tr><th scope="col">Code</th>{head}</tr></thead><tbody>'
    escaped = Escaped()
    for code, cells in result.rows():
        pk, name, tds = pks[code.pk], names[code.pk], []
        for cell in cells:
            if cell["same"]:
                tds.append('<td class="heat same" aria-label="same code"></td>')
            elif cell["n"]:
                other = cell["other"].pk
                tds.append(
                    f'<td class="heat {escaped[cell["heat"]]}"><a href="{head_a}{pk}{middle}{pks[other]}{suffix}"'
                    f' title="{name} with {names[other]}">{escaped[cell["n"]]}</a></td>'
                )
            else:
                tds.append(f'<td class="heat {escaped[cell["heat"]]}"></td>')
        yield f'<tr><th scope="row"><span class="swatch c-{pk}"></span>{name}</th>{"".join(tds)}</tr>\n'
    yield "</tbody></table>"
