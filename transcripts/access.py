"""How views load project data: outsiders get 404, members without the role get 403.

Every view that touches project data goes through one of these, so an id from another
project reveals nothing about it.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import (
    Code,
    Excerpt,
    Job,
    Membership,
    Memo,
    Participant,
    Project,
    Transcript,
    TranscriptAssignment,
    visible_excerpts_q,
)

T = TypeVar("T", bound=Model)


class SecondFactorRequired(Exception):
    """A lead of a project that requires a second factor has not logged in with one.
    SecondFactorMiddleware turns it into a redirect to the set-up page."""


def get_membership(user, project_id: int) -> Membership:
    """Return the user's membership; Http404 for non-members, SecondFactorRequired for a lead
    without a verified second factor when the project asks leads for one."""
    if not user.is_authenticated:
        raise Http404
    # The join costs no extra query and tells whether this project asks leads for a second factor.
    membership = Membership.objects.filter(project_id=project_id, user=user).select_related("project").first()
    if membership is None:
        raise Http404("No such project.")
    membership.user = user  # the row just matched: spares the query when a page reads it
    if membership.is_lead() and membership.project.leads_need_two_factor:
        # OTPMiddleware gives request.user is_verified(); a user loaded any other way is not verified.
        if not getattr(user, "is_verified", lambda: False)():
            raise SecondFactorRequired
    return membership


def get_for_member(user, queryset: QuerySet[T], *, project: str = "project", **lookup) -> tuple[T, Membership]:
    """Return the one object `lookup` finds in `queryset` and the user's membership of its project;
    Http404 for a missing object and for non-members.

    `project` is the path from the object to its project ("transcript__project"), or "" when the
    object is the project; `queryset` should select_related that path, so membership costs one query.
    """
    obj = get_object_or_404(queryset, **lookup)
    owner = obj
    for step in filter(None, project.split("__")):
        owner = getattr(owner, step)
    membership = get_membership(user, owner.pk)
    membership.project = owner
    return obj, membership


def get_project_for_member(user, slug: str) -> tuple[Project, Membership]:
    return get_for_member(user, Project.objects.all(), project="", slug=slug)


def get_job_for_requester(user, job_id: int) -> tuple[Job, Membership | None]:
    """Return the job and the user's membership of its project (None for a project import that has
    made no project); Http404 unless the user asked for the job, is still a member of its project,
    and the job has not expired."""
    if not user.is_authenticated:
        raise Http404
    job = get_object_or_404(Job.objects.for_user(user).select_related("project"), pk=job_id)
    if job.project_id is None:
        return job, None
    membership = get_membership(user, job.project_id)
    membership.project = job.project
    return job, membership


def get_transcript_for_member(user, transcript_id: int, *, defer_text: bool = False) -> tuple[Transcript, Membership]:
    """Return the transcript and the user's membership; Http404 for non-members."""
    queryset = Transcript.objects.select_related("project", "participant")
    if defer_text:
        queryset = queryset.defer("text")
    return get_for_member(user, queryset, pk=transcript_id)


def get_code_for_member(user, code_id: int) -> tuple[Code, Membership]:
    return get_for_member(user, Code.objects.select_related("project"), pk=code_id)


def get_excerpt_for_member(user, excerpt_id: int) -> tuple[Excerpt, Membership]:
    """Return the excerpt and the user's membership; Http404 for non-members and for an
    excerpt that blind coding hides from this member."""
    excerpt, membership = get_for_member(
        user, Excerpt.objects.select_related("transcript__project", "coder"), project="transcript__project", pk=excerpt_id
    )
    rule = visible_excerpts_q(membership)
    if rule is not None and not Excerpt.objects.filter(rule, pk=excerpt.pk).exists():
        raise Http404("No such excerpt.")
    return excerpt, membership


def get_participant_for_member(user, participant_id: int) -> tuple[Participant, Membership]:
    return get_for_member(user, Participant.objects.select_related("project"), pk=participant_id)


def get_memo_for_member(user, memo_id: int) -> tuple[Memo, Membership]:
    return get_for_member(user, Memo.objects.select_related("project"), pk=memo_id)


def get_assignment_for_member(user, assignment_id: int) -> tuple[TranscriptAssignment, Membership]:
    """Return an assignment and the user's membership; Http404 for non-members."""
    queryset = TranscriptAssignment.objects.select_related("transcript__project", "coder").defer("transcript__text")
    return get_for_member(user, queryset, project="transcript__project", pk=assignment_id)


def require(allowed: bool) -> None:
    """Raise PermissionDenied (403) unless the member's role allows the action."""
    if not allowed:
        raise PermissionDenied


MAX_ID = 2**63 - 1  # the largest value of a 64-bit id column, on SQLite and PostgreSQL alike


def parse_id(raw: str | None) -> int | None:
    """`raw` as a whole number from 0 to MAX_ID, or None for anything else.

    Only ASCII digits count: str.isdigit() also says yes to "²", which int() refuses, and a
    number beyond 64 bits makes SQLite raise OverflowError when it reaches a query.
    """
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_ID)):
        return None
    number = int(raw)
    return number if number <= MAX_ID else None
