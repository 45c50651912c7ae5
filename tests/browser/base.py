"""Browser tests: Django's live server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class BrowserTestCase(StaticLiveServerTestCase):
    browser: Browser

    @classmethod
    def setUpClass(cls) -> None:
        if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
            raise RuntimeError(f"Chromium is needed at {CHROMIUM} for the browser tests (make test installs it).")
        super().setUpClass()
        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.browser.close()
        cls.playwright.stop()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        self.console_errors: list[str] = []

    def new_page(self, user=None) -> Page:
        """A page in a fresh browser context, logged in as `user` if given."""
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        self.addCleanup(context.close)
        if user is not None:
            context.add_cookies([self.session_cookie(user)])
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        return page

    def session_cookie(self, user) -> dict:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": self.live_server_url}

    def url(self, path: str) -> str:
        return self.live_server_url + path

    def screenshot(self, page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # caret="initial": Playwright otherwise injects a style tag, which the CSP rightly blocks.
        page.screenshot(path=str(path), full_page=False, caret="initial")
        return path

    def assertNoConsoleErrors(self) -> None:
        self.assertEqual(self.console_errors, [], "The page logged errors (CSP violations show up here too).")
