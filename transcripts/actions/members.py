"""Projects, members and accounts: who may do what, and how they log in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import audit
from ..models import Membership, Project, TranscriptAssignment


@transaction.atomic
def set_role(project: Project, user, role: str, *, by) -> Membership:
    membership, created = Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    before = None if created else {"role": membership.role}
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    audit.record(
        "member.added" if created else "member.role_changed",
        by=by,
        project=project,
        obj=membership,
        object_repr=user.get_username(),
        before=before,
        after={"user": user.get_username(), "role": role},
    )
    return membership


def _refuse_losing_the_last_lead(membership: Membership) -> None:
    if membership.role == Membership.Role.LEAD and not (
        Membership.objects.filter(project_id=membership.project_id, role=Membership.Role.LEAD)
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ValidationError("A project needs at least one lead: make someone else a lead first.")


@transaction.atomic
def change_role(membership: Membership, role: str, *, by) -> Membership:
    """Give a member another role; the last lead keeps theirs."""
    if role not in Membership.Role.values:
        raise ValidationError("Choose lead, coder or reader.")
    if role == membership.role:
        return membership
    _refuse_losing_the_last_lead(membership)
    return set_role(membership.project, membership.user, role, by=by)


@transaction.atomic
def remove_member(membership: Membership, *, by) -> None:
    """Take someone off a project: access ends with their next request.

    Their coding stays (it is research data, attributed to them); their unfinished assignments
    go; and they are logged out everywhere, so no open page of theirs keeps showing the project.
    """
    _refuse_losing_the_last_lead(membership)
    user = membership.user
    open_assignments = TranscriptAssignment.objects.filter(
        transcript__project_id=membership.project_id, coder=user, done_at__isnull=True
    )
    n_open = open_assignments.count()
    open_assignments.delete()
    audit.record(
        "member.removed",
        by=by,
        project=membership.project_id,
        obj=membership,
        object_repr=user.get_username(),
        before={"user": user.get_username(), "role": membership.role},
        after={"open_assignments_removed": n_open},
    )
    membership.delete()
    # Sessions are few (they expire after a short idle time), so reading each one is cheap.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()


@transaction.atomic
def create_account(project: Project, *, username: str, first_name: str, last_name: str, role: str, by):
    """A new account with no usable password, added to the project; the lead hands over a
    one-time link to set the password (views.set_password)."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError("That user name is taken; add the existing account instead.")
    user = User(username=username, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    user.save()
    audit.record(
        "account.created", by=by, project=project, obj=user, object_repr=username, after={"username": username}
    )
    set_role(project, user, role, by=by)
    return user


@transaction.atomic
def confirm_second_factor(device, *, by) -> None:
    """Count a TOTP device once its owner has entered a right code; drop any other pending one."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).exclude(pk=device.pk).delete()
    audit.record("account.2fa_enabled", by=by, obj=device.user, object_repr=device.user.get_username())


@transaction.atomic
def remove_second_factor(user, *, by) -> None:
    """Delete every TOTP device of the user, confirmed or pending."""
    TOTPDevice.objects.filter(user=user).delete()
    audit.record("account.2fa_disabled", by=by, obj=user, object_repr=user.get_username())
