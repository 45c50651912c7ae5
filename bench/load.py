"""Concurrent coders over real HTTP: every coding stored exactly once, no lost memo edits, no 500s.

    python bench/run.py --load          (prepares a study, runs 20 coders for 60 s, checks)

Each simulated coder logs in, opens transcripts, codes new selections and changes memos every
few seconds, and reads quotes; every coding request is sent twice with the same client token,
as a double click or a retry would. All coders also edit one shared excerpt's memo, each
sending the version it last saw. The run is bounded in requests and time and only ever talks
to the given loopback address. Used by `make bench` at full size and by the test suite at a
small size (tests/test_concurrency.py).
"""

from __future__ import annotations

import random
import re
import secrets
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from bench.client import Client


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # client tokens that got a 200
    shared_saves: int = 0
    shared_conflicts: int = 0
    last_shared_memo: dict = field(default_factory=dict)  # version -> memo written
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, call):
        start = time.perf_counter()
        status, body = call()
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            self.latencies.append(elapsed)
            if status >= 500:
                self.errors.append(f"{status}")
        return status, body


def coder_loop(base: str, username: str, password: str, transcripts: list[int], code: int, shared: int,
               deadline: float, max_requests: int, pause: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(base)
    client.login(username, password)
    sent = 0
    mine: list[tuple[int, int]] = []  # (excerpt id, version)
    while time.monotonic() < deadline and sent < max_requests:
        transcript = rng.choice(transcripts)
        tally.timed(lambda: client.get(f"/transcripts/{transcript}/"))
        start = rng.randrange(0, 3000)
        token = secrets.token_hex(12)
        data = {"start": start, "end": start + rng.randrange(20, 200), "codes": str(code), "client_token": token}
        for _ in range(2):  # the same action sent twice
            status, body = tally.timed(lambda: client.post(f"/transcripts/{transcript}/excerpts/", data))
        if status == 200:
            with tally.lock:
                tally.tokens.append(token)
            match = re.search(rb'data-excerpt-id="(\d+)"', body)
            if match:
                mine.append((int(match.group(1)), 1))
        if mine and rng.random() < 0.5:
            index = rng.randrange(len(mine))
            pk, version = mine[index]
            status, _ = tally.timed(lambda: client.post(f"/excerpts/{pk}/edit/", {"version": version, "memo": f"{username} {version}"}))
            if status == 200:
                mine[index] = (pk, version + 1)
        # The shared memo: read the current version, then try to write it.
        status, body = tally.timed(lambda: client.get(f"/excerpts/{shared}/", htmx=True))
        match = re.search(rb'name="version" value="(\d+)"', body)
        if match:
            version = int(match.group(1))
            memo = f"{username} wrote over v{version}"
            status, _ = tally.timed(lambda: client.post(f"/excerpts/{shared}/edit/", {"version": version, "memo": memo}))
            with tally.lock:
                if status == 200:
                    tally.shared_saves += 1
                    tally.last_shared_memo[version + 1] = memo
                elif status == 409:
                    tally.shared_conflicts += 1
                else:
                    tally.errors.append(f"shared memo {status}")
        sent += 6
        time.sleep(pause * rng.random())


def run(base: str, users: list[tuple[str, str]], transcripts: list[int], code: int, shared: int,
        seconds: float, max_requests: int, pause: float) -> Tally:
    host = urlparse(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load test only talks to this machine's loopback address")
    tally = Tally()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=coder_loop,
            args=(base, username, password, transcripts, code, shared, deadline, max_requests, pause, tally, n),
        )
        for n, (username, password) in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return tally


def summary(tally: Tally) -> str:
    samples = sorted(tally.latencies)
    p95 = samples[max(0, int(round(0.95 * len(samples))) - 1)] if samples else 0
    return (
        f"{len(samples)} requests, median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, "
        f"{len(tally.errors)} errors, {len(tally.tokens)} codings, shared memo: {tally.shared_saves} saves, "
        f"{tally.shared_conflicts} refused as stale"
    )

