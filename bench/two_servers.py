"""Two app servers, one PostgreSQL: a coder on one, a colleague on the other.

    python tests/with_postgres.py -- python bench/run.py --scales study --postgres --two-servers

Starts two gunicorn instances on the generated study's database, as tests/test_app_servers.py
does, with one browser logged in on each. The coder codes through server one; the colleague's
transcript polls server two's live-update endpoint as fast as it can, and the time from the
coding's answer to server two reporting the change is what the database adds between servers
(the coding page itself asks every POLL_SECONDS, so a person sees it within that plus this).
Then the same requests, one at a time, through each server.
"""

from __future__ import annotations

import json
import re
import secrets
import time

from bench.client import Client, timed
from bench.server import gunicorn

# static/js/coding.js asks for the transcript's state this often.
POLL_SECONDS = 4.0


def seen_after(coder: Client, colleague: Client, transcript: int, code: int, start: int, length: int = 80) -> tuple[float, float]:
    """Code a selection through the coder's server; the coding's own time, and the time from its
    answer until the colleague's server reports the transcript changed, in ms."""
    state = f"/transcripts/{transcript}/state/"
    before = json.loads(colleague.get(state)[1])["state"]
    sent = time.perf_counter()
    status, body = coder.post(
        f"/transcripts/{transcript}/excerpts/",
        {"start": start, "end": start + length, "codes": str(code), "snap": "1", "client_token": secrets.token_hex(8)},
    )
    answered = time.perf_counter()
    if status != 200 or b"data-excerpt-id" not in body:
        raise SystemExit(f"coding through server one failed ({status}): {body[:300]!r}")
    while json.loads(colleague.get(state)[1])["state"] == before:
        if time.perf_counter() - answered > 30:
            raise SystemExit("server two did not see the coding within 30 s")
    return (answered - sent) * 1000, (time.perf_counter() - answered) * 1000


def run(env: dict, repeat: int) -> list[tuple[str, list[float]]]:
    """The scenario's timings, (action, samples in ms) each, on the study already in env's database."""
    if "DATABASE_URL" not in env:
        raise SystemExit("--two-servers needs PostgreSQL: run it under tests/with_postgres.py with --postgres")
    results = []
    with gunicorn(env) as one, gunicorn(env) as two:
        coder, colleague = Client(one.base), Client(two.base)
        for browser in (coder, colleague):
            browser.login("bench-lead", "bench-password-not-secret")
        status, body = coder.get("/projects/bench/")
        ids = [int(i) for i in re.findall(rb'href="/transcripts/(\d+)/"', body)]
        transcript = ids[len(ids) // 2]
        status, body = coder.get(f"/transcripts/{transcript}/")
        code = [int(i) for i in re.findall(rb'data-code-id="(\d+)"', body)][-1]
        colleague.get(f"/transcripts/{transcript}/")  # warm up both
        coded, seen = [], []
        for n in range(repeat):
            own, other = seen_after(coder, colleague, transcript, code, 500 + n * 97)
            coded.append(own)
            seen.append(other)
        results.append(("two servers: code on one (the request)", coded))
        results.append(("two servers: until the other reports it", seen))
        pages = [
            ("open a transcript page", f"/transcripts/{transcript}/"),
            ("live-update poll", f"/transcripts/{transcript}/state/"),
            ("theme summary", "/projects/bench/review/"),
        ]
        for label, path in pages:
            for name, browser in (("one", coder), ("two", colleague)):
                browser.get(path)
                results.append((f"two servers: {label} through {name}", timed(lambda: browser.get(path), repeat)))
    return results
