"""How views load project data: outsiders get 404, members without the role get 403.

Every view that touches project data goes through one of these, so an id from another
project reveals nothing about it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Code, Excerpt, Membership, Memo, Participant, Project, Transcript
from .models import visible_excerpts_q


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
    if membership.is_lead() and membership.project.leads_need_two_factor:
        # OTPMiddleware gives request.user is_verified(); a user loaded any other way is not verified.
        if not getattr(user, "is_verified", lambda: False)():
            raise SecondFactorRequired
    return membership


def get_project_for_member(user, slug: str) -> tuple[Project, Membership]:
    project = get_object_or_404(Project, slug=slug)
    membership = get_membership(user, project.pk)
    membership.project = project
    return project, membership


def get_transcript_for_member(user, transcript_id: int, *, defer_text: bool = False) -> tuple[Transcript, Membership]:
    """Return the transcript and the user's membership; Http404 for non-members."""
    queryset = Transcript.objects.select_related("project", "participant")
    if defer_text:
        queryset = queryset.defer("text")
    transcript = get_object_or_404(queryset, pk=transcript_id)
    membership = get_membership(user, transcript.project_id)
    membership.project = transcript.project
    return transcript, membership


def get_code_for_member(user, code_id: int) -> tuple[Code, Membership]:
    code = get_object_or_404(Code.objects.select_related("project"), pk=code_id)
    membership = get_membership(user, code.project_id)
    membership.project = code.project
    return code, membership


def get_excerpt_for_member(user, excerpt_id: int) -> tuple[Excerpt, Membership]:
    """Return the excerpt and the user's membership; Http404 for non-members and for an
    excerpt that blind coding hides from this member."""
    excerpt = get_object_or_404(Excerpt.objects.select_related("transcript__project", "coder"), pk=excerpt_id)
    membership = get_membership(user, excerpt.transcript.project_id)
    membership.project = excerpt.transcript.project
    rule = visible_excerpts_q(membership)
    if rule is not None and not Excerpt.objects.filter(rule, pk=excerpt.pk).exists():
        raise Http404("No such excerpt.")
    return excerpt, membership


def get_participant_for_member(user, participant_id: int) -> tuple[Participant, Membership]:
    participant = get_object_or_404(Participant.objects.select_related("project"), pk=participant_id)
    membership = get_membership(user, participant.project_id)
    membership.project = participant.project
    return participant, membership


def get_memo_for_member(user, memo_id: int) -> tuple[Memo, Membership]:
    memo = get_object_or_404(Memo.objects.select_related("project"), pk=memo_id)
    membership = get_membership(user, memo.project_id)
    membership.project = memo.project
    return memo, membership


def get_assignment_for_member(user, assignment_id: int):
    """Return an assignment and the user's membership; Http404 for non-members."""
    from .models import TranscriptAssignment

    assignment = get_object_or_404(
        TranscriptAssignment.objects.select_related("transcript__project", "coder").defer("transcript__text"),
        pk=assignment_id,
    )
    membership = get_membership(user, assignment.transcript.project_id)
    membership.project = assignment.transcript.project
    return assignment, membership


def require(allowed: bool) -> None:
    """Raise PermissionDenied (403) unless the member's role allows the action."""
    if not allowed:
        raise PermissionDenied
