"""The review pages' long repeated markup: quote cards, heat tables, long option lists.

Built in Python rather than in template files: a page shows 200 quote cards, and the template
engine spent about 0.4 ms on each, the whole budget of the page; a matrix has a cell per code
and participant (or code and code), thousands in a large study. Every value is escaped on the way in.

Django's format_html() would do, but it costs several times the markup it builds (each value
passes through two wrappers that look for lazy strings; 200 cards took 4-5 times as long), so
the builders use html_format(), which escapes every value the same way without them. A value
that repeats (a code's tag, a transcript's link, a heat class) is also escaped once a page.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from django import template
from django.template.backends.utils import csrf_input
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from ..models import Attribute, Project
from ..review import CONTEXT_SIZES, Context, Cooccurrence, Matrix, Quote

register = template.Library()


def id_url(name: str, *args) -> Callable[[int], str]:
    """reverse() once for a URL whose last argument is an id; the result formats ids in."""
    marker = "2147483647"
    head, tail = reverse(name, args=[*args, int(marker)]).rsplit(marker, 1)
    return lambda pk: f"{head}{pk}{tail}"


# As conditional_escape(): a safe value (one with __html__) as it is, anything else escaped. Spelt
# out in each comprehension below rather than called: a call a value is most of the cost.


def html_format(pattern: str, *args, **kwargs) -> SafeString:
    """format_html() without its lazy-string checks: every value is escaped unless already safe."""
    return SafeString(
        pattern.format(
            *[v.__html__() if hasattr(v, "__html__") else html.escape(str(v)) for v in args],
            **{k: v.__html__() if hasattr(v, "__html__") else html.escape(str(v)) for k, v in kwargs.items()},
        )
    )


def html_join(pattern: str, rows) -> SafeString:
    """format_html_join("", pattern, rows) without them."""
    return SafeString(
        "".join(
            pattern.format(*[v.__html__() if hasattr(v, "__html__") else html.escape(str(v)) for v in row]) for row in rows
        )
    )


def _joined(pieces: list[SafeString]) -> SafeString:
    """Pieces that are each already escaped (html_format results), as one."""
    return SafeString("".join(pieces))


class _Once(dict):
    """html_format(pattern, key...) for each key, built the first time that key is asked for."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = pattern

    def __missing__(self, key) -> SafeString:
        value = self[key] = html_format(self.pattern, *(key if isinstance(key, tuple) else (key,)))
        return value


NOTHING = mark_safe("")
SELECTED = mark_safe(" selected")


# Filter lists ----------------------------------------------------------------------------------


@register.simple_tag
def filter_options(items: list[tuple]) -> SafeString:
    """The <option>s of a filter list box, one per (value, label, chosen) item."""
    return html_join(
        '<option value="{}"{}>{}</option>', ((value, SELECTED if chosen else NOTHING, text) for value, text, chosen in items)
    )


# Quote cards -----------------------------------------------------------------------------------

EXEMPLAR_FORM = (
    '<form id="exemplar-{pk}" class="inline-form" method="post" action="{url}"'
    ' hx-post="{url}" hx-target="#exemplar-{pk}" hx-swap="outerHTML">{csrf}'
    '<input type="hidden" name="exemplar" value="{value}">'
    '<input type="hidden" name="back" value="{back}">'
    '<button type="submit" class="button small exemplar-button{on}" aria-pressed="{pressed}">{label}</button></form>'
)
MARKED = {True: (mark_safe("0"), mark_safe(" on"), mark_safe("true")), False: (mark_safe("1"), NOTHING, mark_safe("false"))}


def exemplar_button(app, url: str, csrf: SafeString, back: str, labels: dict | None = None) -> SafeString:
    """The form that marks (or unmarks) an application as an exemplar of its code; leads only.

    `app` is a CodeApplication or a review.QuoteCode (pk, code, is_exemplar); `labels`, the
    buttons' labels already built for this page.
    """
    labels = labels if labels is not None else _exemplar_labels()
    value, on, pressed = MARKED[app.is_exemplar]
    return html_format(
        EXEMPLAR_FORM, pk=app.pk, url=url, csrf=csrf, value=value, back=back, on=on, pressed=pressed,
        label=labels[app.is_exemplar][app.code.name],
    )


def _exemplar_labels() -> dict[bool, _Once]:
    """The exemplar buttons' labels by state and code name."""
    return {True: _Once("★ Exemplar of {}"), False: _Once("☆ Mark as exemplar of {}")}


@register.simple_tag(takes_context=True)
def exemplar_form(context, app, project: Project, back: str) -> SafeString:
    """exemplar_button for one application, as the exemplar view sends it back."""
    url = reverse("review_exemplar", args=[project.slug, app.pk])
    return exemplar_button(app, url, csrf_input(context.request), back)


CONTEXT_LINK = '<a class="button small" href="{url}?n={n}" hx-get="{url}?n={n}" hx-target="#context-{pk}" hx-swap="outerHTML">{label}</a>'
CONTEXT = '<div id="context-{pk}" class="excerpt-context">{text}<div class="toolbar">{more}{hide}</div></div>'
# What a quote card starts with: no text around the quote, and the button that shows it.
CONTEXT_CLOSED = CONTEXT.format(
    pk="{pk}", text="", more=CONTEXT_LINK.format(url="{url}", n=CONTEXT_SIZES[1], pk="{pk}", label="Show context"), hide=""
)


@register.simple_tag
def excerpt_context(excerpt_id: int, url: str, n: int, around: Context | None = None) -> SafeString:
    """The text around a quote (n characters each side; 0 for none) and the buttons that change n."""
    if n == 0 and around is None:
        return html_format(CONTEXT_CLOSED, pk=excerpt_id, url=url)
    text = NOTHING
    if around is not None:
        text = html_format(
            '<p class="context-text">{}{}<mark>{}</mark>{}{}</p>', "…" if around.clipped_before else "", around.before,
            around.quote, around.after, "…" if around.clipped_after else "",
        )
    more = hide = NOTHING
    if n < CONTEXT_SIZES[-1]:
        larger = CONTEXT_SIZES[CONTEXT_SIZES.index(n) + 1]
        more = html_format(CONTEXT_LINK, url=url, n=larger, pk=excerpt_id, label="More context" if n else "Show context")
    if n:
        hide = html_format(CONTEXT_LINK, url=url, n=0, pk=excerpt_id, label="Hide context")
    return html_format(CONTEXT, pk=excerpt_id, text=text, more=more, hide=hide)


QUOTE_CARD = (
    '<article class="quote-card{exemplar}" id="quote-{pk}">'
    '<blockquote class="quote">{text}</blockquote>'
    '<p class="citation"><strong>{cite}</strong> · {title}{speaker} · coded by {coder}</p>'
    '<p class="codes">{tags}</p>{memo}'
    '<div class="toolbar quote-tools">'
    '<a class="button small" href="{open}?excerpt={pk}">Open in transcript</a>'
    ' <button type="button" class="button small copy-quote" data-copy="“{text}” ({cite})">Copy with citation</button>'
    " {marks}</div>{context}</article>\n"
)
EXEMPLAR = {True: mark_safe(" exemplar"), False: NOTHING}


@register.simple_tag(takes_context=True)
def quote_cards(context, quotes: list[Quote], project: Project, *, can_mark: bool = False, back: str = "") -> SafeString:
    """One card per quote: the quote, its citation, codes and memo, and the buttons to open it in
    its transcript, copy it with its citation, mark it an exemplar (leads) and show the text around it."""
    open_url = id_url("transcript_detail")
    context_url = id_url("review_context", project.slug)
    exemplar_url = id_url("review_exemplar", project.slug)
    csrf = csrf_input(context.request) if can_mark else NOTHING
    # Escaped once a page: these repeat from card to card.
    tags = _Once('<span class="tag c-{}">{}{}</span> ')
    badges, labels = _Once('<span class="badge">★ exemplar of {}</span>'), _exemplar_labels()
    titles, coders, speakers = _Once("{}"), _Once("{}"), _Once(" · speaker {}")
    opens, back = _Once("{}"), html_format("{}", back)
    cards = []
    for quote in quotes:
        pk, marks = html_format("{}", quote.pk), []
        for app in quote.matched:
            if can_mark:
                marks.append(exemplar_button(app, exemplar_url(app.pk), csrf, back, labels))
            elif app.is_exemplar:
                marks.append(badges[app.code.name])
        cards.append(
            html_format(
                QUOTE_CARD,
                exemplar=EXEMPLAR[quote.exemplar],
                pk=pk,
                text=quote.quote,
                cite=quote.cite,
                title=titles[quote.transcript_title],
                speaker=speakers[quote.speaker] if quote.speaker else NOTHING,
                coder=coders[quote.coder_name],
                tags=_joined([tags[(app.code.pk, app.code.name, " ★" if app.is_exemplar else "")] for app in quote.codes]),
                memo=html_format('<p class="memo"><span class="muted">Memo:</span> {}</p>', linebreaksbr(quote.memo))
                if quote.memo else NOTHING,
                open=opens[open_url(quote.transcript_id)],
                marks=_joined(marks),
                context=excerpt_context(pk, context_url(quote.pk), 0),
            )
        )
    return _joined(cards)


# Heat tables -----------------------------------------------------------------------------------


@register.simple_tag
def matrix_table(matrix: Matrix, project: Project, attribute: Attribute | None) -> SafeString:
    """Codes × participants (or values of `attribute`); each cell opens its quotes."""
    quotes_url = id_url("review_quotes", project.slug)
    head = html_join('<th scope="col" class="col-head">{}</th>', ((column.label,) for column in matrix.columns))
    empty, escaped = _Once('<td class="heat {}"></td>'), _Once("{}")  # heat classes and column queries repeat
    rows = []
    for code, cells in matrix.rows:
        url = html_format("{}", quotes_url(code.pk))
        tds = []
        for cell in cells:
            if cell["n"]:
                people = html_format('<span class="people">/{}</span>', cell["people"]) if attribute else NOTHING
                tds.append(
                    html_format(
                        '<td class="heat {}"><a href="{}?{}">{}{}</a></td>',
                        escaped[cell["heat"]], url, escaped[cell["query"]], cell["n"], people,
                    )
                )
            else:
                tds.append(empty[cell["heat"]])
        rows.append(
            html_format(
                '<tr class="depth-{}"><th scope="row"><span class="swatch c-{}"></span>{}</th>{}</tr>\n',
                code.depth, code.pk, code.name, _joined(tds),
            )
        )
    return html_format(
        '<table class="heat-table"><thead><tr><th scope="col">Code</th>{}</tr></thead><tbody>{}</tbody></table>',
        head, _joined(rows),
    )


SAME_CODE = mark_safe('<td class="heat same" aria-label="same code"></td>')


@register.simple_tag
def cooccurrence_table(result: Cooccurrence, project: Project, query: str) -> SafeString:
    """Code × code pair counts; the diagonal is hatched, each other cell opens the shared passages."""
    marker_a, marker_b = 2147483646, 2147483647
    pattern = reverse("review_cooccurrence_detail", args=[project.slug, marker_a, marker_b])
    head_a, rest = pattern.split(str(marker_a), 1)
    middle, tail = rest.split(str(marker_b), 1)
    suffix = f"{tail}?{query}" if query else tail
    names = {code.pk: html_format("{}", code.name) for code in result.codes}
    head = html_join(
        '<th scope="col" class="col-head"><span class="swatch c-{}"></span>{}</th>',
        ((code.pk, names[code.pk]) for code in result.codes),
    )
    empty, heats = _Once('<td class="heat {}"></td>'), _Once("{}")
    rows = []
    for code, cells in zip(result.codes, result.cells):
        tds = []
        for cell in cells:
            if cell["same"]:
                tds.append(SAME_CODE)
            elif cell["n"]:
                other = cell["other"].pk
                tds.append(
                    html_format(
                        '<td class="heat {}"><a href="{}" title="{} with {}">{}</a></td>',
                        heats[cell["heat"]], f"{head_a}{code.pk}{middle}{other}{suffix}", names[code.pk], names[other], cell["n"],
                    )
                )
            else:
                tds.append(empty[cell["heat"]])
        rows.append(
            html_format(
                '<tr><th scope="row"><span class="swatch c-{}"></span>{}</th>{}</tr>\n', code.pk, names[code.pk], _joined(tds)
            )
        )
    return html_format(
        '<table class="heat-table cooccurrence"><thead><tr><th scope="col">Code</th>{}</tr></thead><tbody>{}</tbody></table>',
        head, _joined(rows),
    )
