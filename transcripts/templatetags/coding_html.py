"""The transcript page's markup repeated for every code: the filter's options, the code panel's
tree, the excerpt panel's checkboxes and the code picker's list.

Built in Python for the reason review_html.py gives: with twelve codes these four lists were
three fifths of the template engine's work on the page (each code's dozen variables and a
reverse() apiece), and the page draws them on every visit and after every coding action.
Every value passes through esc() on its way in; only the finished markup is marked safe.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from .review_html import esc

register = template.Library()


@register.simple_tag
def code_filter_options(codes, selected: int | None) -> SafeString:
    """The <option>s of the "of [code]" filter, indented by depth."""
    return mark_safe(
        "".join(
            f'<option value="{code.pk}"{" selected" if code.pk == selected else ""}>'
            f"{'– ' * code.depth}{esc(code.name)}</option>"
            for code in codes
        )
    )


@register.simple_tag
def code_tree_items(page, can_code: bool) -> SafeString:
    """The code panel's <li>s: each usable code, its count here and the link to its definition."""
    if not page.codes:
        return mark_safe('<li class="muted">The codebook is empty.</li>')
    query = page.filters.as_query()
    here = "?" + (f"{esc(query)}&amp;" if query else "")
    panel = reverse("transcript_detail", args=[page.transcript.pk]) + "?partial=code-panel"
    panel += f"&amp;{esc(query)}" if query else ""
    title = "Apply to the selection, or show its definition" if can_code else "Show its definition"
    items = []
    for code in page.codes:
        if code.archived:
            continue
        name = esc(code.name)
        focused = " focused" if page.focus == code else ""
        items.append(
            f'<li class="depth-{code.depth}{focused}">'
            f'<button type="button" class="code-button" data-code-id="{code.pk}" data-code-name="{name}" title="{title}">'
            f'<span class="swatch c-{code.pk}"></span><span class="code-name">{name}</span></button> '
            f'<span class="count">{code.n_here}</span> '
            f'<a class="focus-link" href="{here}focus={code.pk}" hx-get="{panel}&amp;focus={code.pk}" '
            f'hx-target="#code-panel" hx-swap="outerHTML" aria-label="Definition of {name}">i</a></li>'
        )
    return mark_safe("\n".join(items))


@register.simple_tag
def code_checks(codes, applied) -> SafeString:
    """The excerpt panel's checkboxes: usable codes, and archived ones the excerpt still has."""
    applied = set(applied)
    return mark_safe(
        "\n".join(
            f'<label class="code-check depth-{code.depth}"><input type="checkbox" value="{code.pk}" class="excerpt-code"'
            f'{" checked" if code.pk in applied else ""}> <span class="swatch c-{code.pk}"></span> {esc(code.name)}</label>'
            for code in codes
            if not code.archived or code.pk in applied
        )
    )


@register.simple_tag
def code_picker_items(codes) -> SafeString:
    """The code picker's options: usable codes, searchable by name and definition."""
    items = []
    for code in codes:
        if code.archived:
            continue
        definition = code.definition
        short = f'<span class="pick-definition">{esc(Truncator(definition).chars(90))}</span>' if definition else ""
        items.append(
            f'<li role="option" id="pick-{code.pk}" aria-selected="false" data-code-id="{code.pk}" '
            f'data-search="{esc(code.name.lower())} {esc(definition.lower())}" class="depth-{code.depth}">'
            f'<span class="pick-number"></span><span class="swatch c-{code.pk}"></span>'
            f'<span class="pick-name">{esc(code.name)}</span>{short}</li>'
        )
    return mark_safe("\n".join(items))
