"""Every page of a generated study, as its lead sees it, timed over HTTP: which request is slowest.

    DATA_DIR=/copy/of/a/study python bench/every_page.py [--repeat 3] [--limit-ms 2000]
    DATABASE_URL=... python bench/every_page.py --list     # the paths alone, e.g. for page_memory.py

The study is the one bench/generate.py made (project `bench`, user `bench-lead`). Each page the
lead can open is asked for: every project page, a transcript, an excerpt and a code's pages, the
review pages unfiltered and under each kind of filter they offer, and one coding write. The
review pages' filtered forms are the slow ones at institution scale (they count from the coding,
not from the kept counts), so each filter is a row of its own. One gunicorn worker serves them
all, one request at a time; the table gives each page's median and slowest time and marks those
over the limit (2 s: no request of the app may take longer at institution scale).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peercoding.settings")

import django  # noqa: E402

django.setup()

from django.db.models import Count  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.client import Client  # noqa: E402
from bench.run import children, peak_memory_mb  # noqa: E402
from bench.server import gunicorn  # noqa: E402
from transcripts.models import (  # noqa: E402
    Attribute,
    AttributeValue,
    CodeApplication,
    Excerpt,
    Membership,
    Project,
    Transcript,
)

SLUG = "bench"
PASSWORD = "bench-password-not-secret"


def _filters(project, transcripts: list[int], participants: list[int], coder) -> dict[str, str]:
    """A query string for each kind of filter the review pages offer."""
    filters = {
        "unfiltered": "",
        "one coder": f"coder={coder.user_id}",
        "ten transcripts": "&".join(f"transcript={pk}" for pk in transcripts),
        "ten participants": "&".join(f"participant={pk}" for pk in participants),
        "coded since a date": "coded_from=2000-01-01",
        "interviewer turns left out": "no_interviewer=1",
        "the consensus alone": "coding=consensus",
    }
    attribute = Attribute.objects.filter(project=project).order_by("pk").first()
    if attribute is not None:
        value = AttributeValue.objects.filter(attribute=attribute).values_list("value", flat=True).first()
        if attribute.kind in (Attribute.Kind.NUMBER, Attribute.Kind.DATE):
            filters["an attribute's range"] = f"a{attribute.pk}_min={value}"
        elif value is not None:
            filters["an attribute's value"] = f"a{attribute.pk}={value}"

    return filters


def study_paths() -> list[str]:
    """The pages to ask for, with ids read from the study in the database."""
    project = Project.objects.get(slug=SLUG)
    transcripts = list(project.transcripts.order_by("pk").values_list("pk", flat=True)[:10])
    transcript = Transcript.objects.get(pk=transcripts[0])
    busiest = (
        CodeApplication.objects.filter(code__project=project).values("code_id").annotate(n=Count("pk")).order_by("-n")
    )
    code, other_code = [row["code_id"] for row in busiest[:2]]
    excerpt = Excerpt.objects.filter(transcript=transcript).order_by("pk").first()
    application = CodeApplication.objects.filter(code_id=code).order_by("pk").first()
    coder = Membership.objects.filter(project=project, role=Membership.Role.CODER).order_by("pk").first()
    participants = list(project.participants.order_by("pk").values_list("pk", flat=True)[:10])

    filters = _filters(project, transcripts, participants, coder)
    pages = {
        name: reverse(name, args=[SLUG])
        for name in (
            "project_detail", "project_settings", "participant_list", "pseudonym_list", "codebook",
            "codebook_history", "member_list", "assignment_list", "queue", "agreement", "audit_list",
            "suggestion_accuracy", "import_transcripts", "review_search", "review_query",
        )
    }
    pages["project_list"] = reverse("project_list")
    pages["review_search (a word)"] = reverse("review_search", args=[SLUG]) + "?q=work"
    pages["transcript_detail"] = reverse("transcript_detail", args=[transcript.pk])
    pages["transcript_state"] = reverse("transcript_state", args=[transcript.pk])
    pages["transcript_suggestions"] = reverse("transcript_suggestions", args=[transcript.pk])
    pages["reconcile"] = reverse("reconcile", args=[transcript.pk])
    pages["excerpt_detail"] = reverse("excerpt_detail", args=[excerpt.pk])
    pages["code_detail"] = reverse("code_detail", args=[code])
    pages["review_context"] = reverse("review_context", args=[SLUG, excerpt.pk])
    pages["review_cooccurrence_detail"] = reverse("review_cooccurrence_detail", args=[SLUG, code, other_code])
    pages["codes_css"] = reverse("codes_css", args=[SLUG])
    for name in ("review_summary", "review_matrix", "review_cooccurrence"):
        for label, query in filters.items():
            pages[f"{name} ({label})"] = reverse(name, args=[SLUG]) + (f"?{query}" if query else "")
    for label, query in filters.items():
        pages[f"review_quotes ({label})"] = reverse("review_quotes", args=[SLUG, code]) + f"?subthemes=1&{query}"
    del application  # read to check the study has coding; the exemplar switch is a write
    return list(pages.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit-ms", type=float, default=2000)
    parser.add_argument("--list", action="store_true", help="print the paths and stop")
    parser.add_argument("--only", default="", help="the pages whose label holds this text")
    args = parser.parse_args()
    pages = [(label, path) for label, path in study_paths() if args.only in label]
    if args.list:
        print("\n".join(path for _, path in pages))
        return
    env = dict(os.environ, PRODUCTION="1", SECURE_SSL_REDIRECT="0", SECRET_KEY=secrets.token_urlsafe(64),
               ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="ERROR")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    over = []
    with gunicorn(env, workers=1, timeout=300) as server:
        client = Client(server.base)
        client.login("bench-lead", PASSWORD)
        print(f"| page | median ms | slowest ms | |\n|---|---|---|---|", flush=True)
        for label, path in pages:
            samples, status = [], 200
            for _ in range(args.repeat):
                start = time.perf_counter()
                try:
                    status, _ = client.get(path)
                except urllib.error.HTTPError as error:
                    status = error.code
                except TimeoutError:
                    status = 504  # the client gives up after 60 s; the worker's timeout is longer
                samples.append((time.perf_counter() - start) * 1000)
            slowest = max(samples)
            mark = "over" if slowest > args.limit_ms else ""
            if status == 504:
                mark = "over: no answer within 60 s"
            elif status >= 400:
                mark = f"status {status}"
            if slowest > args.limit_ms:
                over.append(label)
            print(f"| {label} | {statistics.median(samples):,.1f} | {slowest:,.1f} | {mark} |", flush=True)
        peak = peak_memory_mb(children(server.process.pid))
    print(f"\n{len(pages)} pages; the worker's peak memory {peak:.0f} MB; over {args.limit_ms:.0f} ms: "
          f"{', '.join(over) or 'none'}")


if __name__ == "__main__":
    main()
