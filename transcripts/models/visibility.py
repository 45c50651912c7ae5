"""The blind-coding rule: which excerpts a member may see. Models of coding and of transcripts
both filter by it, so it lives apart from either of them."""

from __future__ import annotations

from django.db import models


def visible_excerpts_q(membership, prefix: str = "") -> models.Q | None:
    """The blind-coding rule, as a filter on excerpts reached through `prefix`; None when nothing is hidden.

    The one place the rule lives. A transcript is blind when its project or the transcript itself
    has blind coding on, until a lead opens comparison for the project. While it is blind, leads
    see everyone's coding, coders only their own original coding (not the consensus), readers none.
    Use it on any query that shows coding: `Excerpt.objects.visible_to(membership)`, or
    `Count("applications", filter=visible_excerpts_q(membership, "applications__excerpt__"))`.
    `membership.project` must be the project the excerpts belong to.
    """
    project = membership.project
    if membership.is_lead() or project.comparison_open:
        return None
    if membership.can_code():
        own = models.Q(**{f"{prefix}coder_id": membership.user_id, f"{prefix}is_consensus": False})
    else:
        own = models.Q(**{f"{prefix}coder__isnull": True})  # never true: every excerpt has a coder
    if project.blind_coding:
        return own
    return models.Q(**{f"{prefix}transcript__blind_coding": False}) | own
