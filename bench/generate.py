"""A deterministic synthetic study for the benchmark.

    python bench/generate.py study|5x|institution

Run with DJANGO_SETTINGS_MODULE and the database of the benchmark's server; it creates the
project `bench` with its coders, codebook, transcripts and excerpts. The same scale always
gives the same data.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peercoding.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import transaction  # noqa: E402

from transcripts import actions, spans  # noqa: E402
from transcripts.models import (  # noqa: E402
    CodeApplication,
    Excerpt,
    Membership,
    Participant,
    Project,
    SpeakerTurn,
    Transcript,
)

SCALES = {
    # name: transcripts, words per transcript, codes, coders, excerpts
    "study": (20, 8000, 12, 3, 1500),
    "5x": (20, 8000, 12, 3, 7500),
    "institution": (1000, 8000, 200, 20, 200_000),
}
PASSWORD = "bench-password-not-secret"
WORDS = (
    "peer group support boundaries self care supervisor policy stigma recovery honestly really "
    "community meeting client housing shift burnout training pay trust listen story share family "
    "harm reduction naloxone outreach team respect time break walk therapy church friend night"
).split()


def make_text(rng: random.Random, n_words: int, label: str) -> tuple[str, list[tuple[int, int, int, str]]]:
    lines, turns, position = [], [], 0
    written = 0
    turn = 0
    while written < n_words:
        speaker = "Interviewer" if turn % 2 == 0 else label
        size = rng.randrange(15, 40) if speaker == "Interviewer" else rng.randrange(60, 220)
        body = " ".join(rng.choice(WORDS) for _ in range(size)).capitalize() + "."
        line = f"{speaker}: {body}"
        turns.append((position, position + len(line), position + len(speaker) + 2, speaker))
        lines.append(line)
        position += len(line) + 1
        written += size
        turn += 1
    return "\n".join(lines), turns


def make_users(project: Project, lead: User, hashed: str, n_coders: int, load_coders: int) -> list[User]:
    """The lead and the study's coders (the lead first), and the load test's simulated coders."""
    coders = [lead]
    for i in range(n_coders - 1):
        user, _ = User.objects.get_or_create(username=f"bench-coder-{i + 1}")
        user.password = hashed
        user.save()
        Membership.objects.create(project=project, user=user, role=Membership.Role.CODER)
        coders.append(user)
    for i in range(load_coders):
        # Simulated coders for the load test; leads, so they may all race on one shared memo.
        user, _ = User.objects.get_or_create(username=f"load-coder-{i + 1}")
        user.password = hashed
        user.save()
        Membership.objects.create(project=project, user=user, role=Membership.Role.LEAD)
    return coders


def make_codes(project: Project, lead: User, rng: random.Random, n_codes: int) -> tuple[list, int]:
    """Themes, then subthemes spread over them; returns (codes, number of themes)."""
    themes = max(2, n_codes // 6)
    parents = [actions.create_code(project, name=f"Theme {t + 1}", by=lead, order=t) for t in range(themes)]
    codes = list(parents)
    for i in range(n_codes - themes):
        codes.append(
            actions.create_code(
                project, name=f"Subtheme {i + 1}", parent=parents[i % themes], by=lead, order=i,
                color="#%06x" % rng.randrange(0x404040, 0xE0E0E0), definition=f"Definition of subtheme {i + 1}.",
            )
        )
    return codes, themes


def make_transcripts(project: Project, lead: User, rng: random.Random, n_transcripts: int, n_words: int) -> list[Transcript]:
    transcripts = []
    for t in range(n_transcripts):
        label = f"P{t + 1:02d}"
        participant = Participant.objects.create(project=project, label=label)
        text, turns = make_text(rng, n_words, label)
        transcript = Transcript.objects.create(
            project=project, participant=participant, title=label, text=spans.normalize_text(text), imported_by=lead,
            source_format=Transcript.Format.TXT, source_name=f"{label}.txt",
        )
        SpeakerTurn.objects.bulk_create(
            SpeakerTurn(transcript=transcript, start=s, end=e, body_start=b, speaker=sp,
                        role="interviewer" if sp == "Interviewer" else "participant")
            for s, e, b, sp in turns
        )
        transcripts.append(transcript)
    return transcripts


def make_excerpts(transcripts: list[Transcript], coders: list[User], codes: list, rng: random.Random, n_excerpts: int) -> None:
    """Excerpts in turn over the transcripts and coders, each with one subtheme (a fifth with two)."""
    batch: list[Excerpt] = []
    code_choices: list[list] = []
    for i in range(n_excerpts):
        transcript = transcripts[i % len(transcripts)]
        length = len(transcript.text)
        start = rng.randrange(0, length - 400)
        end = start + rng.randrange(40, 400)
        batch.append(
            Excerpt(transcript=transcript, start=start, end=end, quote=transcript.text[start:end],
                    coder=coders[i % len(coders)])
        )
        code_choices.append(rng.sample(codes, k=1 if rng.random() < 0.8 else 2))
        if len(batch) >= 5000 or i == n_excerpts - 1:
            created = Excerpt.objects.bulk_create(batch)
            CodeApplication.objects.bulk_create(
                CodeApplication(excerpt=excerpt, code=code, applied_by=excerpt.coder)
                for excerpt, chosen in zip(created, code_choices)
                for code in chosen
            )
            batch, code_choices = [], []


@transaction.atomic
def generate(scale: str, load_coders: int = 0) -> Project:
    n_transcripts, n_words, n_codes, n_coders, n_excerpts = SCALES[scale]
    rng = random.Random(f"peercoding-bench-{scale}")
    hashed = make_password(PASSWORD)  # hashed once: the hasher is slow on purpose
    lead, _ = User.objects.get_or_create(username="bench-lead")
    lead.password = hashed
    lead.save()
    project = actions.create_project(f"Benchmark study ({scale})", "bench", by=lead)
    coders = make_users(project, lead, hashed, n_coders, load_coders)
    codes, themes = make_codes(project, lead, rng, n_codes)
    transcripts = make_transcripts(project, lead, rng, n_transcripts, n_words)
    make_excerpts(transcripts, coders, codes[themes:], rng, n_excerpts)
    actions.recount_review_counts(project)  # the excerpts went in in bulk, past the actions
    return project


if __name__ == "__main__":
    scale = sys.argv[1] if len(sys.argv) > 1 else "study"
    load_coders = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if scale not in SCALES:
        sys.exit(f"scale must be one of {', '.join(SCALES)}")
    if Project.objects.filter(slug="bench").exists():
        sys.exit("the database already holds a bench project")
    project = generate(scale, load_coders)
    print(f"generated {scale}: {project.transcripts.count()} transcripts, {Excerpt.objects.count()} excerpts")
