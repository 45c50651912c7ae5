"""Render a transcript's text so that the element's textContent is exactly the stored text.

Built in Python rather than in a template: a template's whitespace handling could add or drop
characters between tags, and every character counts for the offsets.
"""

import html

from django import template
from django.core.cache import caches
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def coding_text(page) -> SafeString:
    """The transcript page's text (a coding_page.CodingPage), kept in the "transcript-text"
    cache under page.text_key, which changes with anything the markup is drawn from."""
    store = caches["transcript-text"]
    key = f"coding-text:{page.text_key}"
    markup = store.get(key)
    if markup is None:
        markup = str(transcript_text(page.paragraphs, page.excerpt_classes))
        store.set(key, markup)
    return mark_safe(markup)


@register.simple_tag
def transcript_text(paragraphs, excerpt_classes: dict | None = None) -> SafeString:
    """`excerpt_classes` maps an excerpt id to extra CSS classes (its code colour, its coder...)."""
    excerpt_classes = excerpt_classes or {}
    escape = html.escape  # &, <, >, " and ' (the same as Django's escape)
    marks: dict[tuple[int, ...], str] = {}  # covering excerpts -> the <mark> that opens their run
    out: list[str] = []
    for paragraph in paragraphs:
        classes = ["para"]
        if paragraph.turn_start:
            classes.append("turn-start")
        if paragraph.speaker_role:
            classes.append(f"role-{paragraph.speaker_role}")
        if not paragraph.segments:
            classes.append("empty")
        out.append(f'<div class="{" ".join(classes)}" data-start="{paragraph.start}" id="para-{paragraph.number}">')
        for segment in paragraph.segments:
            text = escape(segment.text)
            covering = segment.excerpts
            if covering:
                mark = marks.get(covering)
                if mark is None:
                    # Coloured after the newest excerpt; the depth says how many overlap.
                    extra = excerpt_classes.get(covering[-1], "")
                    depth = min(len(covering), 4)
                    ids = " ".join(map(str, covering))
                    mark = marks[covering] = f'<mark class="hl depth-{depth} {extra}" data-excerpts="{ids}">'
                text = f"{mark}{text}</mark>"
            if segment.label:
                text = f'<span class="speaker">{text}</span>'
            out.append(text)
        if paragraph.has_newline:
            out.append("\n")
        out.append("</div>")
    return mark_safe("".join(out))
