"""gunicorn on a free loopback port, started the way production starts it, for the benchmark
and for the tests that drive the app over real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str
    process: subprocess.Popen


@contextmanager
def gunicorn(
    env: dict, *, workers: int = 2, threads: int = 1, timeout: int = 30, stderr=subprocess.DEVNULL, root: Path = ROOT
) -> Iterator[Server]:
    """Serve peercoding (the code in `root`) with `env`; yield once it answers, stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "peercoding.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--timeout", str(timeout)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(base + "/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield Server(base, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
