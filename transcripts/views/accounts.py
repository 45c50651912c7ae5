"""The second factor: setting up an authenticator app, removing it, and the code step of logging in."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import actions
from ..forms import OneTimeCodeForm
from ..http import HtmxHttpRequest, safe_redirect_target
from ..middleware import SECOND_FACTOR_KEY, second_factor_not_required
from ..models import Membership, Project


def _confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _check_code(user, device: TOTPDevice, form: OneTimeCodeForm) -> TOTPDevice | None:
    """Return the device if the form's code is right; otherwise add the reason to the form.

    django-otp's throttling makes the device wait 1, 2, 4... seconds after each wrong code and
    refuses every code, right or wrong, until then."""
    if not form.is_valid():
        return None
    allowed, _ = device.verify_is_allowed()
    if allowed:
        verified = verify_token(user, device.persistent_id, form.cleaned_data["code"])
        if verified is not None:
            return verified
        form.add_error("code", "That code is not right, or it was used already. Wait for the next one and try again.")
    else:
        form.add_error("code", "Too many wrong codes. Wait a little, then enter the code your app shows now.")
    return None


def _safe_next(request: HtmxHttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next")
    return safe_redirect_target(request, next_url, settings.LOGIN_REDIRECT_URL)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def two_factor(request: HtmxHttpRequest) -> HttpResponse:
    """Set up an authenticator app (confirmed by a right code), or see the one that is set up."""
    user = request.user
    required_by = Project.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.LEAD, leads_need_two_factor=True
    ).order_by("name")
    context = {"required_by": required_by}
    device = _confirmed_device(user)
    if device is not None:
        if request.method == "POST":
            return redirect("two_factor")
        context.update(device=device, remove_form=OneTimeCodeForm())
        return render(request, "transcripts/two_factor.html", context)

    # A pending device holds the secret between showing it and its confirmation.
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST":
        verified = _check_code(user, pending, form)
        if verified is not None:
            actions.confirm_second_factor(verified, by=user)
            otp_login(request, verified)
            request.session[SECOND_FACTOR_KEY] = True
            messages.success(request, "Your authenticator app is set up. From now on, log in with a code from it.")
            return redirect("two_factor")
    secret = b32encode(pending.bin_key).decode("ascii")
    context.update(
        form=form,
        secret=_grouped(secret),
        qr_data_uri=segno.make(pending.config_url, error="m").svg_data_uri(scale=5, border=2),
    )
    return render(request, "transcripts/two_factor.html", context)


@login_required
@never_cache
@sensitive_post_parameters("code")
@require_POST
def two_factor_remove(request: HtmxHttpRequest) -> HttpResponse:
    """Remove the authenticator app; a current code proves it is the owner asking."""
    device = _confirmed_device(request.user)
    if device is None:
        return redirect("two_factor")
    form = OneTimeCodeForm(request.POST)
    if _check_code(request.user, device, form) is not None:
        actions.remove_second_factor(request.user, by=request.user)
        request.session[SECOND_FACTOR_KEY] = False
        messages.success(request, "Your authenticator app is removed. You log in with your password alone.")
        return redirect("two_factor")
    required_by = Project.objects.filter(
        memberships__user=request.user, memberships__role=Membership.Role.LEAD, leads_need_two_factor=True
    ).order_by("name")
    context = {"device": device, "remove_form": form, "required_by": required_by}
    return render(request, "transcripts/two_factor.html", context)


@second_factor_not_required
@login_required
@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def login_verify(request: HtmxHttpRequest) -> HttpResponse:
    """The second step of logging in: a current code from the user's authenticator app."""
    next_url = _safe_next(request)
    device = _confirmed_device(request.user)
    if device is None or request.user.is_verified():
        return redirect(next_url)
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST":
        verified = _check_code(request.user, device, form)
        if verified is not None:
            # A new session key for the session that now carries more trust.
            request.session.cycle_key()
            otp_login(request, verified)
            request.session[SECOND_FACTOR_KEY] = True
            return redirect(next_url)
    return render(request, "registration/login_verify.html", {"form": form, "next": next_url})
