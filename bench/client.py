"""A logged-in browser stand-in over real HTTP, for the benchmark and the load test."""

from __future__ import annotations

import http.cookiejar
import time
import urllib.error
import urllib.parse
import urllib.request


class LoopbackPolicy(http.cookiejar.DefaultCookiePolicy):
    """Send the production settings' secure cookies over loopback HTTP, as the TLS proxy would."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class Client:
    """A logged-in browser stand-in: session and CSRF cookies, htmx headers."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar(policy=LoopbackPolicy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"X-Forwarded-Proto": "https"}

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def get(self, path: str, htmx: bool = False) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if htmx:
            headers["HX-Request"] = "true"
        request = urllib.request.Request(self.base + path, headers=headers)
        with self.opener.open(request, timeout=60) as response:
            return response.status, response.read()

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers, **{"HX-Request": "true", "X-CSRFToken": self.csrf(), "Referer": self.base.replace("http://", "https://") + "/"}, **(headers or {}))
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def login(self, username: str, password: str) -> None:
        self.get("/login/")
        status, body = self.post("/login/", {"username": username, "password": password})
        if status >= 400 or not any(cookie.name == "sessionid" for cookie in self.jar):
            raise SystemExit(f"benchmark login failed ({status})")


def timed(fn, repeat: int) -> list[float]:
    """Milliseconds each of `repeat` calls of fn (which returns (status, body)) took; stops on an error status."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        status, _ = fn()
        samples.append((time.perf_counter() - start) * 1000)
        if status >= 400:
            raise SystemExit(f"request failed with {status}")
    return samples
