"""Render a transcript's text so that the element's textContent is exactly the stored text.

Built in Python rather than in a template: a template's whitespace handling could add or drop
characters between tags, and every character counts for the offsets.
"""

import html

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def transcript_text(paragraphs, excerpt_classes: dict | None = None) -> SafeString:
    """`excerpt_classes` maps an excerpt id to extra CSS classes (its code colour, its coder...)."""
    excerpt_classes = excerpt_classes or {}
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
            text = html.escape(segment.text)  # &, <, >, " and ' (the same as Django's escape)
            if segment.excerpts:
                top = segment.excerpts[-1]
                extra = excerpt_classes.get(top, "")
                depth = min(len(segment.excerpts), 4)
                ids = " ".join(str(i) for i in segment.excerpts)
                text = f'<mark class="hl depth-{depth} {extra}" data-excerpts="{ids}">{text}</mark>'
            if segment.label:
                text = f'<span class="speaker">{text}</span>'
            out.append(text)
        if paragraph.has_newline:
            out.append("\n")
        out.append("</div>")
    return mark_safe("".join(out))
