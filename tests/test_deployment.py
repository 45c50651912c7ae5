"""Production settings pass Django's deployment checks, and gunicorn serves the app."""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

ROOT = Path(settings.BASE_DIR)


def production_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
    env.update(
        PRODUCTION="1",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1,peercoding.example.org",
        DATA_DIR=str(data_dir),
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DeploymentTests(SimpleTestCase):
    def manage(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    def test_check_deploy_reports_nothing_with_production_settings(self):
        data = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-deploy-")))
        result = self.manage(production_env(data), "check", "--deploy", "--fail-level", "WARNING")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("no issues", result.stdout)

    def test_production_refuses_to_start_without_a_secret_key(self):
        data = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-deploy-")))
        env = production_env(data)
        env.pop("SECRET_KEY")
        result = self.manage(env, "check")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SECRET_KEY must be set", result.stderr)

    def test_nonsense_flags_fail_loudly(self):
        data = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-deploy-")))
        env = dict(production_env(data), PRODUCTION="yes")
        result = self.manage(env, "check")
        self.assertIn("PRODUCTION must be 0 or 1", result.stderr)

    def test_settings_that_make_no_sense_stop_the_app_with_a_message(self):
        data = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-deploy-")))
        cases = [
            ("UPLOAD_MAX_MB", "0", "UPLOAD_MAX_MB must be at least 1"),
            ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT must be at least 1"),
            ("LOGIN_LOCKOUT_MINUTES", "0", "LOGIN_LOCKOUT_MINUTES must be at least 1"),
            ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES must be at least 1"),
            ("SESSION_ABSOLUTE_HOURS", "0", "SESSION_ABSOLUTE_HOURS must be at least 1"),
            ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT must not be negative"),
            ("TRUSTED_PROXY_COUNT", "one", "TRUSTED_PROXY_COUNT must be a whole number"),
        ]
        for name, value, message in cases:
            with self.subTest(name=name, value=value):
                result = self.manage(dict(production_env(data), **{name: value}), "check")
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(message, result.stderr)

    def test_production_trusts_one_proxy_unless_told_otherwise(self):
        data = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-deploy-")))
        show = ["shell", "-c", "from django.conf import settings; print(settings.TRUSTED_PROXY_COUNT)"]
        for env, expected in [
            (production_env(data), "1"),
            (dict(production_env(data), TRUSTED_PROXY_COUNT="2"), "2"),
            (dict(production_env(data), PRODUCTION="0", TRUSTED_PROXY_COUNT=""), "0"),
        ]:
            result = self.manage(env, *show)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.strip().splitlines()[-1], expected)

    def test_gunicorn_serves_the_login_page_and_a_static_file(self):
        data = Path(self.enterContext(tempfile.TemporaryDirectory(prefix="peercoding-deploy-")))
        env = production_env(data)
        for args in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            result = self.manage(env, *args)
            self.assertEqual(result.returncode, 0, result.stderr)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "peercoding.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            headers = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy sends it
            login = _get(f"http://127.0.0.1:{port}/login/", headers)
            self.assertEqual(login.status, 200)
            body = login.read().decode()
            self.assertIn("Log in", body)
            self.assertIn("Strict-Transport-Security", login.headers)
            start = body.index("/static/css/app.")
            href = body[start : body.index('"', start)]
            self.assertRegex(href, r"/static/css/app\.[0-9a-f]{12}\.css")  # hashed by the manifest storage
            css = _get(f"http://127.0.0.1:{port}{href}", headers)
            self.assertEqual(css.status, 200)
            self.assertIn(b"--accent", css.read())
            self.assertIn("max-age", css.headers["Cache-Control"])
        finally:
            server.terminate()
            server.wait(timeout=20)


def _get(url: str, headers: dict[str, str], attempts: int = 100):
    request = urllib.request.Request(url, headers=headers)
    for _ in range(attempts):
        try:
            return urllib.request.urlopen(request, timeout=5)
        except (ConnectionRefusedError, urllib.error.URLError):
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer {url}")

