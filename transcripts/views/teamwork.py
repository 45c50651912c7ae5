"""Members and accounts, assignments and the coder's queue, blind coding switches."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import actions, audit
from ..access import get_assignment_for_member, get_project_for_member, get_transcript_for_member, require
from ..forms import AccountForm, AssignForm, MemberAddForm, RoleForm
from ..http import HtmxHttpRequest
from ..models import Membership, TranscriptAssignment

# Members ----------------------------------------------------------------------------------------


def _members_page(request, project, membership, *, add_form=None, account_form=None, new_account=None, status=200):
    members = project.memberships.select_related("user").order_by("user__username")
    context = {
        "project": project,
        "membership": membership,
        "members": members,
        "roles": Membership.Role.choices,
        "add_form": add_form or MemberAddForm(project=project, initial={"role": Membership.Role.CODER}),
        "account_form": account_form or AccountForm(initial={"role": Membership.Role.CODER}),
        "new_account": new_account,
    }
    return render(request, "transcripts/member_list.html", context, status=status)


def _member_for_manager(request, slug: str, membership_id: int) -> tuple:
    """(project, one of its memberships) for a member who may manage the project; 404 or 403 otherwise."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    return project, get_object_or_404(project.memberships.select_related("user"), pk=membership_id)


@login_required
@require_http_methods(["GET", "POST"])
def member_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Everyone in the project sees who else is; leads add existing accounts here."""
    project, membership = get_project_for_member(request.user, slug)
    if request.method == "GET":
        return _members_page(request, project, membership)
    require(membership.can_manage())
    form = MemberAddForm(request.POST, project=project)
    if not form.is_valid():
        return _members_page(request, project, membership, add_form=form)
    user = form.cleaned_data["username"]
    actions.set_role(project, user, form.cleaned_data["role"], by=request.user)
    messages.success(request, f"{user.get_username()} added as {form.cleaned_data['role']}.")
    return redirect("member_list", project.slug)


@login_required
@require_POST
def member_role(request: HtmxHttpRequest, slug: str, membership_id: int) -> HttpResponse:
    project, member = _member_for_manager(request, slug, membership_id)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choose lead, coder or reader.")
        actions.change_role(member, form.cleaned_data["role"], by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{member.user.get_username()} is now a {form.cleaned_data['role']}.")
    return redirect("member_list", project.slug)


@login_required
@require_POST
def member_remove(request: HtmxHttpRequest, slug: str, membership_id: int) -> HttpResponse:
    project, member = _member_for_manager(request, slug, membership_id)
    try:
        actions.remove_member(member, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("member_list", project.slug)
    messages.success(request, f"{member.user.get_username()} no longer has access to this project.")
    if member.user_id == request.user.pk:
        return redirect("project_list")
    return redirect("member_list", project.slug)


@login_required
@require_POST
@never_cache
def member_account(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Create an account for someone without e-mail; show the one-time link to set a password, once."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = AccountForm(request.POST)
    if not form.is_valid():
        return _members_page(request, project, membership, account_form=form)
    try:
        user = actions.create_account(project, by=request.user, **form.cleaned_data)
    except ValidationError as error:
        form.add_error("username", error)
        return _members_page(request, project, membership, account_form=form)
    # A path, not an absolute URL: the Host header is the client's to choose, so the lead
    # prepends the site address they know.
    link = reverse(
        "set_password", args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)]
    )
    return _members_page(request, project, membership, new_account={"user": user, "link": link})


@login_not_required
@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def set_password(request: HtmxHttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The one-time link: valid until a password is set (the token covers the password hash)."""
    user = _user_from(uidb64)
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "registration/set_password.html", {"valid": False})
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record("account.password_set", by=user, obj=user, object_repr=user.get_username())
        messages.success(request, "Your password is set. Log in with your user name and the new password.")
        return redirect("login")
    return render(request, "registration/set_password.html", {"valid": True, "form": form, "account": user})


def _user_from(uidb64: str):
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        return get_user_model().objects.filter(pk=int(pk), is_active=True).first()
    except (ValueError, TypeError, OverflowError):
        return None


# Assignments ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def assignment_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Leads assign transcripts to coders, with a random double-coded share."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    form = AssignForm(request.POST or None, project=project, initial={"overlap": 30})
    if request.method == "POST" and form.is_valid():
        seed = form.cleaned_data["seed"]
        if seed is None:
            seed = secrets.randbelow(2**31)
        try:
            created = actions.assign_with_overlap(
                project,
                list(form.cleaned_data["transcripts"]),
                list(form.cleaned_data["coders"]),
                share=form.cleaned_data["overlap"] / 100,
                seed=seed,
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{len(created)} assignment{'s' if len(created) != 1 else ''} made (seed {seed}).")
            return redirect("assignment_list", project.slug)
    transcripts = list(project.transcripts.defer("text").select_related("participant").order_by("title", "pk"))
    by_transcript: dict[int, list] = {}
    for assignment in TranscriptAssignment.objects.filter(transcript__project=project).select_related("coder"):
        by_transcript.setdefault(assignment.transcript_id, []).append(assignment)
    rows = [(t, sorted(by_transcript.get(t.pk, []), key=lambda a: a.coder.username)) for t in transcripts]
    context = {
        "project": project,
        "membership": membership,
        "form": form,
        "rows": rows,
        "n_double": sum(1 for _, assigned in rows if len(assigned) >= 2),
    }
    return render(request, "transcripts/assignment_list.html", context)


@login_required
@require_POST
def assignment_delete(request: HtmxHttpRequest, assignment_id: int) -> HttpResponse:
    assignment, membership = get_assignment_for_member(request.user, assignment_id)
    require(membership.can_manage())
    actions.remove_assignment(assignment, by=request.user)
    messages.success(request, "Assignment removed.")
    return redirect("assignment_list", membership.project.slug)


@login_required
@require_GET
def queue(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """My queue: the transcripts assigned to me, open ones first, with how much I coded in each."""
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_code())
    assignments = (
        TranscriptAssignment.objects.filter(transcript__project=project, coder=request.user)
        .for_queue()
        .annotate(
            n_mine=Count(
                "transcript__excerpts",
                filter=Q(transcript__excerpts__coder=request.user, transcript__excerpts__is_consensus=False),
            )
        )
    )
    context = {"project": project, "membership": membership, "assignments": assignments}
    return render(request, "transcripts/queue.html", context)


@login_required
@require_POST
def assignment_done(request: HtmxHttpRequest, assignment_id: int) -> HttpResponse:
    """The coder (or a lead) says the coding is done, or opens it again (done=0)."""
    assignment, membership = get_assignment_for_member(request.user, assignment_id)
    require(membership.can_manage() or (membership.can_code() and assignment.coder_id == request.user.pk))
    done = request.POST.get("done", "1") == "1"
    if (assignment.done_at is not None) != done:
        actions.set_assignment_done(assignment, done, by=request.user)
    messages.success(request, f"“{assignment.transcript.title}” {'marked done' if done else 'opened again'}.")
    if assignment.coder_id == request.user.pk:
        return redirect("queue", membership.project.slug)
    return redirect("assignment_list", membership.project.slug)


# Blind coding -----------------------------------------------------------------------------------


@login_required
@require_POST
def project_blinding(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    actions.set_blinding(
        project,
        blind_coding=request.POST.get("blind_coding") == "1",
        comparison_open=request.POST.get("comparison_open") == "1",
        by=request.user,
    )
    messages.success(request, "Blind coding settings saved.")
    return redirect("assignment_list", project.slug)


@login_required
@require_POST
def transcript_blinding(request: HtmxHttpRequest, transcript_id: int) -> HttpResponse:
    transcript, membership = get_transcript_for_member(request.user, transcript_id, defer_text=True)
    require(membership.can_manage())
    actions.set_transcript_blinding(transcript, request.POST.get("blind_coding") == "1", by=request.user)
    return redirect("assignment_list", transcript.project.slug)
