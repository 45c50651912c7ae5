"""The second factor: setting up an authenticator app, the code step of logging in, throttling,
and projects that require it of their leads."""

from __future__ import annotations

import time
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.base import PASSWORD, BaseTestCase
from transcripts.models import AuditEvent


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's app would show now (or a step or so later)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    accepted = {code_for(device, steps_ahead=n) for n in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in accepted)


class TwoFactorTestCase(BaseTestCase):
    def make_device(self, user) -> TOTPDevice:
        return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)

    def log_in_with_code(self, user, device: TOTPDevice) -> None:
        self.client.force_login(user)
        response = self.client.post(reverse("login_verify"), {"code": code_for(device)})
        assert response.status_code == 302, response.content


class EnrolmentTests(TwoFactorTestCase):
    url = reverse("two_factor")

    def test_the_page_shows_the_key_as_text_and_as_a_qr_code(self):
        self.client.force_login(self.bob)
        response = self.client.get(self.url)
        self.assertContains(response, 'id="totp-secret"')
        self.assertContains(response, 'src="data:image/svg+xml')
        device = TOTPDevice.objects.get(user=self.bob)
        assert not device.confirmed
        secret = response.content.decode().split('id="totp-secret" class="totp-secret">')[1].split("<")[0]
        from base64 import b32decode

        assert b32decode(secret.replace(" ", "")) == device.bin_key
        # Reloading keeps the same key, so a half-done set-up in the app still works.
        self.client.get(self.url)
        assert TOTPDevice.objects.filter(user=self.bob).count() == 1

    def test_a_wrong_code_is_refused_and_a_right_code_confirms_the_device(self):
        self.client.force_login(self.bob)
        self.client.get(self.url)
        device = TOTPDevice.objects.get(user=self.bob)
        response = self.client.post(self.url, {"code": wrong_code_for(device)})
        self.assertContains(response, "That code is not right", status_code=200)
        device.refresh_from_db()
        assert not device.confirmed
        device.throttling_failure_timestamp = timezone.now() - timedelta(minutes=5)
        device.save()

        response = self.client.post(self.url, {"code": code_for(device)})
        self.assertRedirects(response, self.url)
        device.refresh_from_db()
        assert device.confirmed
        event = AuditEvent.objects.get(verb="account.2fa_enabled")
        assert event.project_id is None and event.actor == self.bob
        # This session counts as verified: no code step follows.
        assert self.client.get(reverse("project_list")).status_code == 200

    def test_a_code_that_is_not_six_digits_is_refused_politely(self):
        self.client.force_login(self.bob)
        self.client.get(self.url)
        response = self.client.post(self.url, {"code": "12ab"})
        self.assertContains(response, "Enter the 6 digits")

    def test_removing_the_device_needs_a_current_code(self):
        device = self.make_device(self.bob)
        self.log_in_with_code(self.bob, device)
        remove = reverse("two_factor_remove")
        response = self.client.post(remove, {"code": wrong_code_for(device)})
        self.assertContains(response, "not right")
        assert TOTPDevice.objects.filter(user=self.bob, confirmed=True).exists()
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None, throttling_failure_count=0)

        response = self.client.post(remove, {"code": code_for(device, steps_ahead=1)})
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        assert not TOTPDevice.objects.filter(user=self.bob).exists()
        event = AuditEvent.objects.get(verb="account.2fa_disabled")
        assert event.project_id is None and event.actor == self.bob
        # Password alone is enough again.
        self.client.logout()
        self.client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
        assert self.client.get(reverse("project_list")).status_code == 200


class LoginTests(TwoFactorTestCase):
    def setUp(self) -> None:
        self.device = self.make_device(self.bob)

    def log_in_with_password(self, next_url: str = "") -> None:
        data = {"username": "bob", "password": PASSWORD}
        if next_url:
            data["next"] = next_url
        response = self.client.post(reverse("login"), data)
        assert response.status_code == 302

    def test_a_user_with_a_device_must_enter_a_code_before_any_page_works(self):
        self.log_in_with_password()
        page = reverse("project_detail", args=[self.project.slug])
        for url in (reverse("project_list"), page, reverse("two_factor")):
            response = self.client.get(url)
            self.assertRedirects(response, f"{reverse('login_verify')}?next={url}", fetch_redirect_response=False)
        response = self.client.post(reverse("login_verify"), {"code": code_for(self.device), "next": page})
        self.assertRedirects(response, page)
        assert self.client.get(reverse("project_list")).status_code == 200

    def test_users_without_a_device_are_not_asked_for_a_code(self):
        self.client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
        assert self.client.get(reverse("project_list")).status_code == 200
        self.assertRedirects(self.client.get(reverse("login_verify")), reverse("project_list"))

    def test_wrong_codes_are_refused_and_throttled(self):
        self.log_in_with_password()
        url = reverse("login_verify")
        response = self.client.post(url, {"code": wrong_code_for(self.device)})
        self.assertContains(response, "That code is not right")
        # Straight after a wrong code even the right one is refused, without counting as a try.
        response = self.client.post(url, {"code": code_for(self.device)})
        self.assertContains(response, "Too many wrong codes")
        self.device.refresh_from_db()
        assert self.device.throttling_failure_count == 1
        assert self.client.get(reverse("project_list")).status_code == 302

        # Each wrong code doubles the wait.
        for expected in (2, 3):
            TOTPDevice.objects.filter(pk=self.device.pk).update(
                throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
            )
            self.client.post(url, {"code": wrong_code_for(self.device)})
            self.device.refresh_from_db()
            assert self.device.throttling_failure_count == expected
        allowed, info = self.device.verify_is_allowed()
        assert not allowed and info["locked_until"] >= self.device.throttling_failure_timestamp + timedelta(seconds=4)

        TOTPDevice.objects.filter(pk=self.device.pk).update(
            throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
        )
        self.assertRedirects(self.client.post(url, {"code": code_for(self.device)}), reverse("project_list"))

    def test_a_code_works_only_once(self):
        self.log_in_with_password()
        code = code_for(self.device)
        self.client.post(reverse("login_verify"), {"code": code})
        self.client.logout()
        self.log_in_with_password()
        TOTPDevice.objects.filter(pk=self.device.pk).update(throttling_failure_timestamp=None)
        self.assertContains(self.client.post(reverse("login_verify"), {"code": code}), "not right")

    def test_next_stays_on_the_site(self):
        self.log_in_with_password()
        response = self.client.post(
            reverse("login_verify"), {"code": code_for(self.device), "next": "https://elsewhere.example/steal"}
        )
        self.assertRedirects(response, reverse("project_list"))
        self.client.logout()
        self.log_in_with_password()
        response = self.client.post(
            f"{reverse('login_verify')}?next=//elsewhere.example/", {"code": code_for(self.device, steps_ahead=1)}
        )
        self.assertRedirects(response, reverse("project_list"))

    def test_an_htmx_request_from_an_unverified_user_gets_a_401(self):
        self.log_in_with_password()
        url = reverse("excerpt_create", args=[self.transcript.pk])
        response = self.client.post(url, {"start": 0, "end": 5, "codes": self.code.pk}, headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert "authenticator app" in response["HX-Trigger"]
        assert not self.transcript.excerpts.exists()

    def test_an_unverified_user_can_still_log_out(self):
        self.log_in_with_password()
        response = self.client.post(reverse("logout"))
        self.assertRedirects(response, reverse("login"))
        assert "_auth_user_id" not in self.client.session


class ProjectRequirementTests(TwoFactorTestCase):
    def setUp(self) -> None:
        self.project.leads_need_two_factor = True
        self.project.save(update_fields=["leads_need_two_factor"])
        self.page = reverse("project_detail", args=[self.project.slug])

    def test_a_lead_without_a_verified_second_factor_is_sent_to_set_one_up(self):
        self.client.force_login(self.alice)
        for url in (
            self.page,
            reverse("transcript_detail", args=[self.transcript.pk]),
            reverse("code_detail", args=[self.code.pk]),
        ):
            response = self.client.get(url)
            self.assertRedirects(response, reverse("two_factor"), fetch_redirect_response=False)
        response = self.client.get(self.page, follow=True)
        self.assertContains(response, "This project requires a second factor for leads. Set one up to continue.")
        htmx = self.client.get(self.page, headers={"HX-Request": "true"})
        assert htmx["HX-Redirect"] == reverse("two_factor")
        # Other projects are not affected, and the list of projects still opens.
        self.client.force_login(self.oscar)
        assert self.client.get(reverse("project_detail", args=[self.other_project.slug])).status_code == 200

    def test_a_lead_with_a_device_must_have_used_it_in_this_session(self):
        device = self.make_device(self.alice)
        self.client.force_login(self.alice)
        # Logged in with the password only: the code step comes first.
        response = self.client.get(self.page)
        assert response["Location"].startswith(reverse("login_verify"))
        self.client.post(reverse("login_verify"), {"code": code_for(device)})
        assert self.client.get(self.page).status_code == 200

    def test_coders_and_readers_are_not_affected(self):
        for user in (self.bob, self.rita):
            self.client.force_login(user)
            assert self.client.get(self.page).status_code == 200
            assert self.client.get(reverse("transcript_detail", args=[self.transcript.pk])).status_code == 200


class ProjectSettingTests(TwoFactorTestCase):
    def setUp(self) -> None:
        self.url = reverse("project_settings", args=[self.project.slug])
        self.data = {"name": self.project.name, "description": "", "leads_need_two_factor": "on"}

    def test_a_lead_without_a_verified_device_cannot_turn_it_on(self):
        self.client.force_login(self.alice)
        response = self.client.post(self.url, self.data)
        self.assertContains(response, "Set up an authenticator app for your own account", status_code=200)
        self.project.refresh_from_db()
        assert not self.project.leads_need_two_factor

    def test_a_lead_who_logged_in_with_a_code_can_turn_it_on(self):
        self.log_in_with_code(self.alice, self.make_device(self.alice))
        response = self.client.post(self.url, self.data)
        self.assertRedirects(response, reverse("project_detail", args=[self.project.slug]))
        self.project.refresh_from_db()
        assert self.project.leads_need_two_factor
        event = AuditEvent.objects.filter(verb="project.changed").latest("pk")
        assert event.after["leads_need_two_factor"] is True
        # The lead who turned it on keeps working.
        assert self.client.get(reverse("project_detail", args=[self.project.slug])).status_code == 200
