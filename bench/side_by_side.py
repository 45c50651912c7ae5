"""peercoding and Taguette side by side, on the same study, over HTTP, one request at a time.

    python bench/side_by_side.py [--scales study,5x] [--repeat 30] [--taguette PYTHON] [--before DIR]

Taguette (1.5.2) lives in a virtual environment of its own, never in the app's: PYTHON is its
interpreter (default: $TAGUETTE_PYTHON, else bench/.taguette/bin/python). Without it the run
says how to make one and stops without failing, so `make bench` goes on:

    python3 -m venv bench/.taguette && bench/.taguette/bin/pip install taguette==1.5.2

For each scale the study of bench/generate.py (20 transcripts of 8,000 words, 12 codes; 1,500
or 7,500 excerpts) is made in peercoding's SQLite database, read back from it, and loaded into
a Taguette SQLite database through Taguette's own models (bench/taguette_load.py): the same
texts, codes and offsets. Taguette runs in its server mode (several users, a login), as a
research office would run it, and peercoding with gunicorn and production settings.

Each action is timed as a browser does it, with every request it needs: the page, its
stylesheets and scripts, and the data the page's script asks for (Taguette draws the document
from two JSON requests). Both clients keep a browser's cache: what a response lets them keep
is not asked again while fresh, and is asked with its ETag when stale, so each app gets what
its caching headers earn it. Every transcript is opened once before timing. The two apps take
turns, one request at a time, so a busy machine slows both alike; the table gives medians and
the ratio of peercoding's time to Taguette's.

With --before DIR (an export of an older commit: `git archive <commit> | tar -x -C DIR`), that
code is served as well, on the same database, and takes its turn in each round, so before and
after are compared in the same run. Its coding action is the write and the code panel's own
request after it, as pages sent them before the write carried the panel (the write's answer is
checked for the panel to tell them apart).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ alone is on the path, not the package

from bench.client import Client  # noqa: E402
from bench.run import prepare  # noqa: E402
from bench.server import free_port, gunicorn  # noqa: E402

PASSWORD = "bench-password-not-secret"
# The aim: at most this share of Taguette's time.
AIMS = {"open a transcript": 1 / 3, "first page of a theme's quotes": 1 / 3, "code a selection (and the refresh)": 1 / 2}
SUBRESOURCES = re.compile(r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src)="([^"]+)"')


class Browser:
    """A client's requests with a browser's cache: fresh copies are reused, stale ones revalidated."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cache: dict[str, tuple[float, str, bytes]] = {}  # url -> (fresh until, etag, body)
        self.requests = 0

    def fetch(self, path: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, bytes]:
        url = path if path.startswith("http") else self.client.base + path
        cached = self.cache.get(url) if data is None else None
        if cached and cached[0] > time.monotonic():
            return 200, cached[2]
        headers = dict(self.client.headers, **(headers or {}))
        if cached and cached[1]:
            headers["If-None-Match"] = cached[1]
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
        self.requests += 1
        try:
            with self.client.opener.open(request, timeout=120) as response:
                status, body, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            if error.code != 304 or not cached:
                return error.code, error.read()
            status, body, got = 200, cached[2], error.headers
        if data is None:
            self.keep(url, got, body)
        return status, body

    def keep(self, url: str, headers, body: bytes) -> None:
        control = (headers.get("Cache-Control") or "").lower()
        if "no-store" in control:
            self.cache.pop(url, None)
            return
        age = re.search(r"max-age=(\d+)", control)
        fresh = 0 if "no-cache" in control or not age else int(age.group(1))
        etag = headers.get("ETag") or ""
        if fresh or etag:
            self.cache[url] = (time.monotonic() + fresh, etag, body)

    def page(self, path: str, then: list[str] = ()) -> int:
        """Open a page as a browser does: the page, its stylesheets and scripts, then `then`."""
        status, body = self.fetch(path, {"Accept": "text/html"})
        if status >= 400:
            raise SystemExit(f"{self.client.base}{path} answered {status}")
        for link in SUBRESOURCES.findall(body.decode("utf-8", "replace")):
            self.fetch(html.unescape(link))
        for extra in then:
            status, _ = self.fetch(extra)
            if status >= 400:
                raise SystemExit(f"{self.client.base}{extra} answered {status}")
        return status


def find_taguette(option: str | None) -> str | None:
    python = option or os.environ.get("TAGUETTE_PYTHON") or str(ROOT / "bench" / ".taguette" / "bin" / "python")
    if not Path(python).exists():
        return None
    found = subprocess.run([python, "-c", "import taguette"], capture_output=True)
    return python if found.returncode == 0 else None


def read_study(database: Path) -> dict:
    """The study as peercoding stored it: texts, codes as Taguette paths, excerpts with codes."""
    connection = sqlite3.connect(database)
    codes = {pk: (name, parent, definition) for pk, name, parent, definition in connection.execute(
        "SELECT id, name, parent_id, definition FROM transcripts_code")}

    def path(pk: int) -> str:
        name, parent, _ = codes[pk]
        return name if parent is None else f"{path(parent)}.{name}"

    applied: dict[int, list[int]] = {}
    for excerpt_id, code_id in connection.execute("SELECT excerpt_id, code_id FROM transcripts_codeapplication ORDER BY code_id"):
        applied.setdefault(excerpt_id, []).append(code_id)
    transcripts = []
    for pk, title, text in connection.execute("SELECT id, title, text FROM transcripts_transcript ORDER BY id"):
        excerpts = [(start, end, applied.get(excerpt_id, [])) for excerpt_id, start, end in connection.execute(
            'SELECT id, start, "end" FROM transcripts_excerpt WHERE transcript_id = ? ORDER BY start', (pk,))]
        transcripts.append({"id": pk, "title": title, "text": text, "excerpts": excerpts})
    connection.close()
    return {
        "codes": [{"id": pk, "path": path(pk), "definition": codes[pk][2]} for pk in codes],
        "transcripts": transcripts,
    }


def load_taguette(python: str, study: dict, folder: Path) -> dict:
    data, url = folder / "study.json", f"sqlite:///{folder / 'taguette.sqlite3'}"
    data.write_text(json.dumps(study))
    out = subprocess.run([python, str(ROOT / "bench" / "taguette_load.py"), str(data), url],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"loading Taguette's database failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def taguette_server(python: str, folder: Path):
    """Taguette in server mode on a free loopback port; yields its base URL."""
    port = free_port()
    config = folder / "taguette.conf.py"
    config.write_text("\n".join([
        'NAME = "bench"', 'BIND_ADDRESS = "127.0.0.1"', f"PORT = {port}", 'BASE_PATH = "/"', 'DOMAIN = "127.0.0.1"',
        f"SECRET_KEY = {secrets.token_urlsafe(32)!r}", f"DATABASE = 'sqlite:///{folder / 'taguette.sqlite3'}'",
        'EMAIL = "bench <bench@example.org>"', "TOS_FILE = None", 'DEFAULT_LANGUAGE = "en_US"',
        'MAIL_SERVER = {"ssl": False, "host": "localhost", "port": 25}', "COOKIES_PROMPT = False",
        "REGISTRATION_ENABLED = False", "SQLITE3_IMPORT_ENABLED = False", "X_HEADERS = False",
        "CONVERT_TO_HTML_TIMEOUT = 180", "CONVERT_FROM_HTML_TIMEOUT = 180", "",
    ]))
    log = (folder / "taguette.log").open("w")
    process = subprocess.Popen([str(Path(python).parent / "taguette"), "server", str(config)], cwd=folder,
                               stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"Taguette did not start:\n{(folder / 'taguette.log').read_text()[-2000:]}")
                time.sleep(0.05)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def taguette_login(base: str) -> Client:
    client = Client(base)
    client.opener.open(base + "/login", timeout=30).read()
    xsrf = next(cookie.value for cookie in client.jar if cookie.name == "_xsrf")
    body = urllib.parse.urlencode({"login": "bench", "password": PASSWORD, "_xsrf": xsrf}).encode()
    client.opener.open(urllib.request.Request(base + "/login", data=body), timeout=30).read()
    if not any(cookie.name == "user" for cookie in client.jar):
        raise SystemExit("Taguette login failed")
    return client


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


class Taguette:
    """What Taguette's pages ask of the server for each action."""

    def __init__(self, browser: Browser, project: int, documents: list[int]) -> None:
        self.browser, self.project, self.documents = browser, project, documents

    def open_document(self, n: int) -> None:
        document = self.documents[n % len(self.documents)]
        api = f"/api/project/{self.project}/document/{document}"
        self.browser.page(f"/project/{self.project}/document/{document}", [api, api + "/contents"])

    def open_quotes(self, path: str) -> None:
        tag = urllib.parse.quote(path, safe="")
        self.browser.page(f"/project/{self.project}/highlights/{tag}",
                          [f"/api/project/{self.project}/highlights/{tag}?page=1"])

    def add_highlight(self, document: int, start: int, tag: int) -> None:
        xsrf = next(cookie.value for cookie in self.browser.client.jar if cookie.name == "_xsrf")
        url = f"/api/project/{self.project}/document/{document}/highlight/new?_xsrf={urllib.parse.quote(xsrf)}"
        body = json.dumps({"start_offset": start, "end_offset": start + 80, "tags": [tag]}).encode()
        status, answer = self.browser.fetch(url, {"Content-Type": "application/json; charset=utf-8"}, body)
        if status != 200:
            raise SystemExit(f"Taguette refused a highlight ({status}): {answer[:200]!r}")


class Peercoding:
    """What peercoding's pages ask of the server for each action."""

    def __init__(self, browser: Browser, transcripts: list[int], offset: int = 0) -> None:
        # offset: where this server codes, so that two servers on one database never code the same span
        self.browser, self.transcripts, self.offset = browser, transcripts, offset

    def open_transcript(self, n: int) -> None:
        self.browser.page(f"/transcripts/{self.transcripts[n % len(self.transcripts)]}/")

    def open_quotes(self, theme: int) -> None:
        self.browser.page(f"/projects/bench/review/codes/{theme}/?subthemes=1")

    def code_selection(self, transcript: int, start: int, code: int) -> None:
        """The write as the page sends it: its answer carries the excerpt (the page redraws the
        lines it touches) and the code panel's new counts, so the page asks nothing after it."""
        client = self.browser.client
        start += self.offset
        status, body = client.post(f"/transcripts/{transcript}/excerpts/", {
            "start": start, "end": start + 80, "codes": str(code), "snap": "1", "client_token": secrets.token_hex(8)},
            {"X-Code-Panel": "partial=code-panel"})
        if status != 200 or b"data-excerpt-id" not in body:
            raise SystemExit(f"peercoding refused a coding ({status})")
        if b'id="code-panel"' not in body:  # older code: the page asked for the panel after the write
            self.browser.fetch(f"/transcripts/{transcript}/?partial=code-panel", {"HX-Request": "true"})


def biggest_theme(study: dict) -> tuple[int, str]:
    """The theme (top-level code) with the most quotes, as (peercoding id, Taguette path)."""
    paths = {code["id"]: code["path"] for code in study["codes"]}
    themes = {path.split(".")[0]: pk for pk, path in paths.items() if "." not in path}
    counts = dict.fromkeys(themes, 0)
    for transcript in study["transcripts"]:
        for _, _, codes in transcript["excerpts"]:
            for name in {paths[pk].split(".")[0] for pk in codes}:
                counts[name] += 1
    name = max(counts, key=counts.get)
    return themes[name], name


def time_both(study: dict, ours: list[Peercoding], theirs: Taguette, tags: dict, repeat: int) -> list[tuple]:
    """The apps take turns at each action: each peercoding in `ours` (this code, then the code
    before, if served), then Taguette; (action, samples of each peercoding, Taguette samples)."""
    theme, path = biggest_theme(study)
    for n in range(len(theirs.documents)):  # every transcript opened once: caches as after a first visit
        for app in ours:
            app.open_transcript(n)
        theirs.open_document(n)
    for app in ours:
        app.open_quotes(theme)
    theirs.open_quotes(path)
    samples: dict[str, tuple[list[list], list]] = {action: ([[] for _ in ours], []) for action in (
        "open a transcript", "first page of a theme's quotes", "code a selection (and the refresh)")}
    subthemes = [code for code in study["codes"] if "." in code["path"]]
    for n in range(repeat):
        index = n % len(theirs.documents)
        start = 400 * n + 97
        code = subthemes[n % len(subthemes)]["id"]
        for i, app in enumerate(ours):
            samples["open a transcript"][0][i].append(timed(lambda: app.open_transcript(n)))
        samples["open a transcript"][1].append(timed(lambda: theirs.open_document(n)))
        for i, app in enumerate(ours):
            samples["first page of a theme's quotes"][0][i].append(timed(lambda: app.open_quotes(theme)))
        samples["first page of a theme's quotes"][1].append(timed(lambda: theirs.open_quotes(path)))
        for i, app in enumerate(ours):
            samples["code a selection (and the refresh)"][0][i].append(
                timed(lambda: app.code_selection(app.transcripts[index], start, code)))
        samples["code a selection (and the refresh)"][1].append(
            timed(lambda: theirs.add_highlight(theirs.documents[index], start, tags[str(code)])))
    return [(action, ours_ms, theirs_ms) for action, (ours_ms, theirs_ms) in samples.items()]


def run_scale(scale: str, python: str, repeat: int, before: Path | None = None) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="peercoding-taguette-") as data:
        folder = Path(data)
        env = dict(os.environ, DATA_DIR=data, PRODUCTION="1", SECURE_SSL_REDIRECT="0",
                   SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="ERROR")
        env.pop("DATABASE_URL", None)
        print(f"== {scale}", flush=True)
        prepare(scale, env, 0)
        study = read_study(folder / "peercoding.sqlite3")
        loaded = load_taguette(python, study, folder)
        print(f"  Taguette: {len(loaded['documents'])} documents, {loaded['highlights']} highlights", flush=True)
        with ExitStack() as stack:
            servers = [stack.enter_context(gunicorn(env))]
            if before is not None:
                servers.append(stack.enter_context(gunicorn(env, root=before)))
            base, _ = stack.enter_context(taguette_server(python, folder))
            ours = []
            for i, server in enumerate(servers):
                client = Client(server.base)
                client.login("bench-lead", PASSWORD)
                ours.append(Peercoding(Browser(client), [t["id"] for t in study["transcripts"]], offset=200 * i))
            taguette = Taguette(Browser(taguette_login(base)), loaded["project"], loaded["documents"])
            results = time_both(study, ours, taguette, loaded["tags"], repeat)
    rows = []
    for action, ours_ms, theirs_ms in results:
        theirs = statistics.median(theirs_ms)
        ratios = [statistics.median(samples) / theirs for samples in ours_ms]
        aim = AIMS.get(action)
        verdict = "" if aim is None else ("ok" if ratios[0] <= aim else "OVER")
        earlier = f" | {statistics.median(ours_ms[1]):.1f} | {ratios[1]:.2f}" if before is not None else ""
        rows.append(f"| {scale} | {action} | {theirs:.1f}{earlier} | {statistics.median(ours_ms[0]):.1f} | "
                    f"{ratios[0]:.2f} | {f'{aim:.2f}' if aim else '-'} | {verdict} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="study,5x")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--taguette", metavar="PYTHON", help="the Python of a virtual environment with taguette==1.5.2")
    parser.add_argument("--before", metavar="DIR", type=Path, help="older code to serve too, for before and after in one run")
    args = parser.parse_args()
    python = find_taguette(args.taguette)
    if python is None:
        print("Taguette side by side: skipped, Taguette is not installed. To run it:\n"
              "  python3 -m venv bench/.taguette && bench/.taguette/bin/pip install taguette==1.5.2\n"
              "(or point TAGUETTE_PYTHON at the python of a virtual environment that has it)")
        return
    before = " before ms | ratio before |" if args.before else ""
    rows = [f"| scale | action | Taguette ms |{before} peercoding ms | ratio | aim | |",
            "|---|---|---|" + ("---|---|" if args.before else "") + "---|---|---|---|"]
    for scale in args.scales.split(","):
        rows.extend(run_scale(scale, python, args.repeat, args.before))
    print("\n".join(rows))
    print("(medians; ratio = peercoding / Taguette; peercoding's write carries the code panel's refresh,"
          " Taguette's add has no refresh to add)")


if __name__ == "__main__":
    main()
