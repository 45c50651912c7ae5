"""The benchmark: a synthetic study served by gunicorn on loopback, driven over HTTP.

    python bench/run.py [--scales study,5x] [--postgres] [--repeat 40] [--two-servers]

For each scale it makes a fresh database (SQLite in a temporary folder; with --postgres, a
throwaway cluster started by tests/with_postgres.py), generates the study with
bench/generate.py, starts gunicorn the way production does, times each action one request at
a time, and prints one table: median, p95 and max per action, the budget it is held to, and
the server's peak memory. Nothing here runs in `make test`; figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import docx
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ alone is on the path, not the package

from bench import load, two_servers  # noqa: E402
from bench.client import Client, timed  # noqa: E402
from bench.server import gunicorn  # noqa: E402

PYTHON = sys.executable

# Budgets at study scale, in milliseconds (issue: performance).
BUDGETS = {
    "open a transcript page": 25,
    "quotes of one theme": 40,
    "theme summary": 30,
    "code x participant matrix": 30,
    "co-occurrence matrix": 30,
    "codebook .docx": 150,
    "start codebook .docx (the request)": 30,
    "start all excerpts .docx report (the request)": 30,
    "start all excerpts .xlsx report (the request)": 30,
    "all excerpts .docx report": 1500,
    "apply a code to a new selection": 10,
    "change an excerpt's memo": 10,
    "delete an excerpt": 10,
    "load: any request, 20 coders": 100,
    # Two app servers: coding through one is reported by the other before the coding page's next
    # live-update poll (every 4 s).
    "two servers: until the other reports it": 4000,
}
# Which scales a budget is held at; the rest are reported only.
BUDGET_SCALES = {"study"}
INSTITUTION_BUDGETS = {
    "quotes of one theme": 150,
    "theme summary": 150,
    "code x participant matrix": 150,
    "co-occurrence matrix": 150,
}
MEDIANS: dict[tuple[str, str], float] = {}


def import_docx(client) -> float:
    """Upload 20 generated .docx transcripts one by one, as the import page does; total ms."""
    rng = random.Random(20)
    files = []
    for n in range(20):
        document = docx.Document()
        for turn in range(120):
            speaker = "Interviewer" if turn % 2 == 0 else f"P{n + 50}"
            document.add_paragraph(f"{speaker}: " + " ".join(rng.choice(["peer", "support", "group", "work", "care"])
                                                              for _ in range(60)))
        buffer = io.BytesIO()
        document.save(buffer)
        files.append((f"P{n + 50}.docx", buffer.getvalue()))
    start = time.perf_counter()
    for name, data in files:
        boundary = secrets.token_hex(8)
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = dict(client.headers, **{"HX-Request": "true", "X-CSRFToken": client.csrf(),
                                           "Referer": client.base.replace("http://", "https://") + "/",
                                           "Content-Type": f"multipart/form-data; boundary={boundary}"})
        request = urllib.request.Request(client.base + "/projects/bench/import/", data=body, headers=headers, method="POST")
        with client.opener.open(request, timeout=120) as response:
            if b"Imported" not in response.read():
                raise SystemExit(f"import of {name} failed")
    return (time.perf_counter() - start) * 1000


def peak_memory_mb(pids: list[int]) -> float:
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except FileNotFoundError:
            continue
    return peak / 1024


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def check_load(env: dict, tally) -> list[str]:
    """Ask the database whether every coding of the load test was stored exactly once."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(tally.tokens, handle)
    script = (
        "import json; from transcripts.models import Excerpt; "
        f"tokens = json.load(open({handle.name!r})); "
        "print(Excerpt.objects.filter(client_token__in=tokens).count(), len(tokens), len(set(tokens)))"
    )
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    os.unlink(handle.name)
    stored, sent, distinct = (int(n) for n in out[-3:])
    return [f"{sent} codings sent twice each, {stored} stored ({'exactly once' if stored == distinct else 'MISMATCH'})"]


def prepare(scale: str, env: dict, load_seconds: float, *, existing: bool = False) -> None:
    """A fresh database with the generated study (or, `existing`, the study already there), its
    static files collected."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    if existing:
        return
    started = time.perf_counter()
    subprocess.run([PYTHON, "bench/generate.py", scale, "20" if load_seconds else "0"], cwd=ROOT, env=env, check=True)
    print(f"  generated {scale} in {time.perf_counter() - started:.1f} s", flush=True)
    if "DATABASE_URL" in env:
        # The planner's statistics, as autovacuum would gather them on a live server (the
        # throwaway cluster runs without autovacuum so that the test suite's plans are stable).
        connection = psycopg2.connect(env["DATABASE_URL"])
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        connection.close()


def time_coding(client: Client, transcript: int, code: int, repeat: int) -> list[tuple]:
    """Open the transcript page, then apply a code, change memos and delete excerpts, timed."""
    page = f"/transcripts/{transcript}/"
    rng = random.Random(7)
    results = []
    client.get(page)  # warm up
    results.append(("open a transcript page", timed(lambda: client.get(page), repeat)))
    created: list[int] = []

    def apply():
        start = rng.randrange(0, 20_000)
        status, body = client.post(
            f"/transcripts/{transcript}/excerpts/",
            {"start": start, "end": start + 80, "codes": str(code), "snap": "1", "client_token": secrets.token_hex(8)},
        )
        match = re.search(rb'data-excerpt-id="(\d+)"', body)
        if match:
            created.append(int(match.group(1)))
        return status, body

    results.append(("apply a code to a new selection", timed(apply, repeat)))
    versions = {pk: 1 for pk in created}
    queue = list(created)

    def change():
        pk = queue.pop(0)
        queue.append(pk)
        status, body = client.post(f"/excerpts/{pk}/edit/", {"version": versions[pk], "memo": f"memo {versions[pk]}"})
        versions[pk] += 1
        return status, body

    results.append(("change an excerpt's memo", timed(change, repeat)))
    doomed = list(created)

    def delete():
        pk = doomed.pop()
        return client.post(f"/excerpts/{pk}/delete/", {"version": versions[pk]})

    results.append(("delete an excerpt", timed(delete, min(repeat, len(created)))))
    return results


def time_reads(
    client: Client, env: dict, scale: str, transcript: int, code: int, repeat: int, *, review_only: bool = False
) -> list[tuple]:
    """The review side, read-only: quotes of the theme with the most quotes, summary, matrices, reports
    (with `review_only`, the four review pages alone)."""
    status, body = client.get("/projects/bench/review/")
    themes = [int(i) for i in re.findall(rb'/projects/bench/review/codes/(\d+)/', body)]
    theme = themes[0] if themes else code
    reads = [
        ("quotes of one theme", f"/projects/bench/review/codes/{theme}/?subthemes=1"),
        ("theme summary", "/projects/bench/review/"),
        ("code x participant matrix", "/projects/bench/review/matrix/"),
        ("co-occurrence matrix", "/projects/bench/review/cooccurrence/"),
        ("agreement for a transcript", f"/projects/bench/agreement/?transcript={transcript}"),
        ("search", "/projects/bench/review/search/?q=peer+group&match=words"),
    ]
    results = []
    if review_only:
        reads = [read for read in reads if read[0] in INSTITUTION_BUDGETS]
    for action, path in reads:
        client.get(path)  # warm up
        results.append((action, timed(lambda path=path: client.get(path), max(3, repeat // 4))))
    if review_only:
        return results
    # Reports and exports are background jobs: timed from the click to the file downloaded, with a
    # worker running beside gunicorn as `make run` has it; the click's own request is timed apart.
    jobs = [("codebook .docx", "/projects/bench/codebook/export/", {"format": "docx", "quotes": "on", "counts": "on"}, 3),
            ("all excerpts .docx report", "/projects/bench/review/report.docx", {}, 1 if scale == "institution" else 3),
            ("all excerpts .xlsx report", "/projects/bench/review/report.xlsx", {}, 1 if scale == "institution" else 3)]
    worker = subprocess.Popen([PYTHON, "manage.py", "db_worker", "--interval", "0.02", "--no-startup-delay",
                               "--verbosity", "0"], cwd=ROOT, env=env)
    try:
        for action, path, data, times in jobs:
            runs = [time_job(client, path, data) for _ in range(times)]
            results.append((f"start {action} (the request)", [started for started, _ in runs]))
            results.append((action, [downloaded for _, downloaded in runs]))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return results


def time_job(client: Client, path: str, data: dict) -> tuple[float, float]:
    """Start a job as its page does, poll its status as the page does (more often), download the file;
    the starting request's time and the time until the file is downloaded, in ms."""
    start = time.perf_counter()
    status, body = client.post(path, data)
    started = (time.perf_counter() - start) * 1000
    found = re.search(rb'id="job-(\d+)"', body)
    if status != 200 or not found:
        raise SystemExit(f"{path} did not start a job ({status}): {body[:300]!r}")
    job = int(found.group(1))
    while b"Ready" not in (page := client.get(f"/jobs/{job}/", htmx=True)[1]):
        if b'role="alert"' in page:
            raise SystemExit(f"job {job} failed: {page[:500]!r}")
        time.sleep(0.02)
    client.get(f"/jobs/{job}/download/")
    return started, (time.perf_counter() - start) * 1000


def time_load(client: Client, env: dict, base: str, ids: list[int], code: int, seconds: float) -> tuple:
    """20 coders at once for `seconds`; checks every coding was stored exactly once."""
    print(f"  load: 20 coders for {seconds:.0f} s", flush=True)
    users = [(f"load-coder-{n + 1}", "bench-password-not-secret") for n in range(20)]
    transcript = ids[len(ids) // 2]
    status, body = client.post(f"/transcripts/{transcript}/excerpts/",
                               {"start": 0, "end": 40, "codes": str(code), "client_token": secrets.token_hex(8)})
    shared = int(re.search(rb'data-excerpt-id="(\d+)"', body).group(1))
    tally = load.run(base, users, ids, code, shared, seconds=seconds, max_requests=600, pause=3.0)
    print("  " + load.summary(tally), flush=True)
    for line in check_load(env, tally):
        print("  " + line, flush=True)
    if tally.errors:
        print(f"  ERRORS: {tally.errors[:10]}", flush=True)
    return ("load: any request, 20 coders", tally.latencies)


def run_scale(
    scale: str, env: dict, repeat: int, load_seconds: float = 0, *, existing: bool = False, review_only: bool = False
) -> tuple[list[tuple], float]:
    prepare(scale, env, load_seconds, existing=existing)
    # gunicorn's default 30 s timeout, as README's deployment has it: reports run in the worker.
    with gunicorn(env) as server:
        client = Client(server.base)
        client.login("bench-lead", "bench-password-not-secret")
        status, body = client.get("/projects/bench/")
        if b"/transcripts/" not in body:
            raise SystemExit(f"project page without transcripts ({status}): {body[:300]!r} cookies={[c.name for c in client.jar]}")
        ids = [int(i) for i in re.findall(rb'href="/transcripts/(\d+)/"', body)]
        transcript = ids[len(ids) // 2]
        status, body = client.get(f"/transcripts/{transcript}/")
        code = [int(i) for i in re.findall(rb'data-code-id="(\d+)"', body)][-1]
        if review_only:
            results = time_reads(client, env, scale, transcript, code, repeat, review_only=True)
            return results, peak_memory_mb([server.process.pid, *children(server.process.pid)])
        results = time_coding(client, transcript, code, repeat)
        results += time_reads(client, env, scale, transcript, code, repeat)
        results.append(("import 20 .docx transcripts", [import_docx(client)]))
        if load_seconds:
            results.append(time_load(client, env, server.base, ids, code, load_seconds))
        memory = peak_memory_mb([server.process.pid, *children(server.process.pid)])
        return results, memory


def summarize(scale: str, database: str, results, memory: float) -> list[str]:
    rows = []
    for action, samples in results:
        samples = sorted(samples)
        p95 = samples[max(0, int(round(0.95 * len(samples))) - 1)]
        budget = BUDGETS.get(action) if scale in BUDGET_SCALES or action.startswith("load") else None
        if scale == "institution":
            budget = INSTITUTION_BUDGETS.get(action)
        MEDIANS[(scale, action)] = statistics.median(samples)
        # Budgets hold the median, except the load test's, which holds the p95.
        measured = p95 if action.startswith("load") else statistics.median(samples)
        verdict = "" if budget is None else ("ok" if measured <= budget else "OVER")
        rows.append(
            f"| {scale} | {database} | {action} | {statistics.median(samples):.1f} | {p95:.1f} | {samples[-1]:.1f} | "
            f"{budget if budget else '-'} | {verdict} |"
        )
    rows.append(f"| {scale} | {database} | server peak memory (MB, per worker) | {memory:.0f} | | | 100 | "
                f"{'ok' if memory <= 100 else 'OVER'} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="study,5x")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--postgres", action="store_true", help="run against DATABASE_URL (see tests/with_postgres.py)")
    parser.add_argument("--load", type=float, default=0, metavar="SECONDS",
                        help="also run 20 concurrent coders for this long at the first scale")
    parser.add_argument("--existing", action="store_true",
                        help="time the study already in DATABASE_URL (one scale) instead of generating it afresh")
    parser.add_argument("--two-servers", action="store_true",
                        help="also run two app servers on the first scale's PostgreSQL database (bench/two_servers.py)")
    parser.add_argument("--review-only", action="store_true",
                        help="time only the review pages that have an institution budget")
    args = parser.parse_args()
    header = [
        "| scale | database | action | median ms | p95 ms | max ms | budget ms | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for scale in args.scales.split(","):
        with tempfile.TemporaryDirectory(prefix="peercoding-bench-") as data:
            env = dict(os.environ, DATA_DIR=data, PRODUCTION="1", SECURE_SSL_REDIRECT="0",
                       SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="ERROR")
            env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            database = "postgresql" if args.postgres else "sqlite"
            if args.existing:
                pass  # the database DATABASE_URL names, generated before with bench/generate.py
            elif not args.postgres:
                env.pop("DATABASE_URL", None)
            else:
                # A fresh database per scale inside the throwaway cluster.
                url = urllib.parse.urlparse(env["DATABASE_URL"])
                name = f"bench_{scale.replace('x', 'x')}"
                connection = psycopg2.connect(env["DATABASE_URL"])
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    cursor.execute(f'CREATE DATABASE "{name}"')
                connection.close()
                env["DATABASE_URL"] = url._replace(path="/" + name).geturl()
            print(f"== {scale} on {database}", flush=True)
            load_seconds = args.load if scale == args.scales.split(",")[0] else 0
            results, memory = run_scale(scale, env, args.repeat, load_seconds, existing=args.existing,
                                        review_only=args.review_only)
            if args.two_servers and scale == args.scales.split(",")[0]:
                print("  two app servers on one database", flush=True)
                results += two_servers.run(env, args.repeat)
            rows.extend(summarize(scale, database, results, memory))
    print("\n".join(header + rows))
    study, five = MEDIANS.get(("study", "open a transcript page")), MEDIANS.get(("5x", "open a transcript page"))
    if study and five:
        ratio = five / study
        print(f"transcript page at 5x / at study scale: {ratio:.2f} (budget 1.3) {'ok' if ratio <= 1.3 else 'OVER'}")
    out = ROOT / "var" / "bench-latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
