"""Peak memory of one gunicorn worker serving one page, in a fresh process per page.

    DATA_DIR=/copy/of/an/institution python bench/page_memory.py [/projects/bench/review/cooccurrence/ ...]

The database is DATA_DIR's (or DATABASE_URL's), generated before with bench/generate.py; each page
is served by a new single-worker gunicorn, so a page's peak is its own, not the largest page's the
worker served before it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.client import Client  # noqa: E402
from bench.run import children, peak_memory_mb  # noqa: E402
from bench.server import gunicorn  # noqa: E402

PAGES = [
    "/projects/bench/review/",
    "/projects/bench/review/matrix/",
    "/projects/bench/review/cooccurrence/",
]


def main() -> None:
    pages = sys.argv[1:] or PAGES
    env = dict(os.environ, PRODUCTION="1", SECURE_SSL_REDIRECT="0", SECRET_KEY=secrets.token_urlsafe(64),
               ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="ERROR")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    for page in pages:
        with gunicorn(env, workers=1, timeout=120) as server:
            client = Client(server.base)
            client.login("bench-lead", "bench-password-not-secret")
            workers = children(server.process.pid)
            before = peak_memory_mb(workers)
            start = time.perf_counter()
            status, body = client.get(page)
            took = (time.perf_counter() - start) * 1000
            print(f"{page}: {status}, {len(body) / 1e6:.1f} MB of HTML in {took:.0f} ms; worker peak "
                  f"{before:.0f} MB after login, {peak_memory_mb(workers):.0f} MB after the page", flush=True)


if __name__ == "__main__":
    main()
