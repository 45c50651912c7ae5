"""Setting up an authenticator app in Chromium, then logging in with a code from it."""

from __future__ import annotations

import time
from base64 import b32decode

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.base import PASSWORD, make_project, make_user
from tests.browser.base import BrowserTestCase


def code_from(secret_text: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app given the key shown on the page would display."""
    totp = TOTP(b32decode(secret_text.replace(" ", "")))
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


class TwoFactorFlowTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = make_user("alice")
        self.project = make_project(self.alice)

    def test_a_user_sets_up_an_app_and_logs_in_with_a_code(self):
        page = self.new_page(self.alice)
        page.goto(self.url(reverse("two_factor")))
        qr = page.locator(".two-factor-qr img")
        qr.wait_for()
        assert page.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())
        secret = page.inner_text("#totp-secret")
        self.screenshot(page, "two-factor-setup")

        page.fill("#id_code", code_from(secret))
        page.click("button:has-text('Confirm')")
        page.wait_for_selector("text=Your authenticator app is set up")
        assert TOTPDevice.objects.get(user=self.alice).confirmed
        self.screenshot(page, "two-factor-done")

        login = self.new_page()
        login.goto(self.url(reverse("project_detail", args=[self.project.slug])))
        login.fill("#id_username", "alice")
        login.fill("#id_password", PASSWORD)
        login.click("button:has-text('Log in')")
        login.wait_for_selector("h1:has-text('Enter your code')")
        self.screenshot(login, "two-factor-code-step")
        # The code used to confirm the app cannot be used again: the app's next one can.
        login.fill("#id_code", code_from(secret, steps_ahead=1))
        login.click("button:has-text('Continue')")
        login.wait_for_url(self.url(reverse("project_detail", args=[self.project.slug])))
        assert login.locator("h1").first.inner_text() == self.project.name
        self.assertNoConsoleErrors()
