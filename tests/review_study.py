"""A generated study for the review tests, and an independent oracle over it in plain Python.

The study has typed attributes (one value left out on purpose), a transcript without a
participant, interviewer turns, a three-level codebook, three coders, overlapping and nested
excerpts, excerpts that carry two codes, exact duplicates by two coders, and excerpts coded on
different days. The oracle reads the stored rows once and answers every question the review
module answers, without using it.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from tests.base import make_code, make_participant, make_transcript
from transcripts import actions
from transcripts.interop.readers import parse_transcript
from transcripts.models import Attribute, AttributeValue, CodeApplication, Excerpt, SpeakerTurn

WORDS = (
    "the group chat keeps me going honestly boundaries matter self-care careful supervision helps "
    "burnout stigma peers lunch walk recovery meeting shift client hospital bus pass coffee"
).split()
ORGS = ["Clinic", "Peer org", "Hospital"]


def build_study(project, coders: list, *, n_transcripts: int = 5, n_excerpts: int = 40, extra_codes: int = 0, seed: int = 7):
    """Fill `project` with a study; return the codes by name."""
    rng = random.Random(seed)
    lead = project.created_by
    org = Attribute.objects.create(project=project, name="organization", kind="choice", choices=ORGS, order=0)
    years = Attribute.objects.create(project=project, name="years", kind="number", order=1)
    recovery = Attribute.objects.create(project=project, name="in recovery", kind="text", order=2)
    since = Attribute.objects.create(project=project, name="since", kind="date", order=3)
    transcripts = []
    for i in range(n_transcripts):
        participant = None
        if i < n_transcripts - 1:  # the last transcript has no participant
            participant = make_participant(project, label=f"P{i + 1:02d}")
            AttributeValue.objects.create(participant=participant, attribute=org, value=ORGS[i % 3])
            AttributeValue.objects.create(
                participant=participant, attribute=years, value=str(i + 1), number=Decimal(i + 1)
            )
            if i != 1:  # P02 has no "in recovery" value
                AttributeValue.objects.create(participant=participant, attribute=recovery, value="yes" if i % 2 else "no")
            day = datetime.date(2020, 1 + i % 12, 1)
            AttributeValue.objects.create(participant=participant, attribute=since, value=day.isoformat(), date=day)
        label = participant.label if participant else "Guest"
        lines = []
        for turn in range(6):
            speaker = "Interviewer" if turn % 2 == 0 else label
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18)))
            lines.append(f"{speaker}: {words.capitalize()}.")
        parsed = parse_transcript(f"T{i}.txt", "\n".join(lines).encode())
        transcripts.append(
            make_transcript(
                project,
                title=f"Interview {i + 1:02d}",
                text=parsed.text,
                turns=parsed.turns,
                participant=participant,
                speaker_roles={"Interviewer": "interviewer", label: "participant"},
            )
        )
    codes = {}
    for name, parent in [
        ("Coping", None),
        ("Community", "Coping"),
        ("Group chat", "Community"),
        ("Boundaries", "Coping"),
        ("Supports", None),
        ("Supervision", "Supports"),
        ("Barriers", None),
    ] + [(f"Extra {k}", "Supports") for k in range(extra_codes)]:
        codes[name] = make_code(project, name=name, parent=codes.get(parent), color="#%06x" % rng.randrange(1 << 24))
    names = list(codes)
    made = []
    for n in range(n_excerpts):
        transcript = rng.choice(transcripts)
        length = len(transcript.text)
        start = rng.randrange(0, length - 2)
        end = min(length, start + rng.randint(3, 90))
        chosen = [codes[name] for name in rng.sample(names, rng.choice([1, 1, 2]))]
        made.append(actions.create_excerpt(transcript, start=start, end=end, codes=chosen, by=rng.choice(coders)))
    # Cases the random draw might miss: wholly inside an interviewer turn, and a duplicate span by another coder.
    first = transcripts[0]
    turn = first.turns.filter(role="interviewer").order_by("start").first()
    made.append(actions.create_excerpt(first, start=turn.start, end=turn.end, codes=[codes["Group chat"]], by=coders[0]))
    made.append(actions.create_excerpt(first, start=turn.body_start, end=turn.end, codes=[codes["Community"]], by=coders[-1]))
    twin = made[0]
    made.append(
        actions.create_excerpt(
            twin.transcript, start=twin.start, end=twin.end, codes=[codes["Boundaries"], codes["Group chat"]],
            by=next(coder for coder in coders if coder != twin.coder),
        )
    )
    for k, excerpt in enumerate(made):  # coded over three days
        if k % 3:
            Excerpt.objects.filter(pk=excerpt.pk).update(created_at=timezone.now() - datetime.timedelta(days=10 * (k % 3)))
    CodeApplication.objects.filter(excerpt__in=made[::5]).update(is_exemplar=True)
    return codes


@dataclass
class Row:
    excerpt: int
    code: int
    transcript: int
    participant: int | None
    coder: int
    start: int
    end: int
    day: datetime.date


class Oracle:
    """Answers the review questions by brute force over plain tuples."""

    def __init__(self, project) -> None:
        self.project = project
        self.parent = dict(project.codes.values_list("pk", "parent_id"))
        self.rows = [
            Row(e, c, t, p, coder, s, end, timezone.localtime(created).date())
            for e, c, t, p, coder, s, end, created in CodeApplication.objects.filter(code__project=project).values_list(
                "excerpt_id", "code_id", "excerpt__transcript_id", "excerpt__transcript__participant_id",
                "excerpt__coder_id", "excerpt__start", "excerpt__end", "excerpt__created_at",
            )
        ]
        self.turns = defaultdict(list)
        for t, s, e, role in SpeakerTurn.objects.filter(transcript__project=project).values_list(
            "transcript_id", "start", "end", "role"
        ):
            self.turns[t].append((s, e, role))
        self.values = {
            (p, a): (v, n, d)
            for p, a, v, n, d in AttributeValue.objects.filter(attribute__project=project).values_list(
                "participant_id", "attribute_id", "value", "number", "date"
            )
        }
        self.transcript_participant = dict(project.transcripts.values_list("pk", "participant_id"))

    def under(self, code: int) -> set[int]:
        found = {code}
        changed = True
        while changed:
            changed = False
            for child, parent in self.parent.items():
                if parent in found and child not in found:
                    found.add(child)
                    changed = True
        return found

    def transcript_passes(self, transcript: int, spec: dict) -> bool:
        participant = self.transcript_participant[transcript]
        if spec.get("transcripts") and transcript not in spec["transcripts"]:
            return False
        if spec.get("participants") and participant not in spec["participants"]:
            return False
        for attribute, test in spec.get("attributes", {}).items():
            stored = self.values.get((participant, attribute))
            if stored is None or not test(stored):
                return False
        return True

    def passes(self, row: Row, spec: dict) -> bool:
        if not self.transcript_passes(row.transcript, spec):
            return False
        if spec.get("coders") and row.coder not in spec["coders"]:
            return False
        if spec.get("from") and row.day < spec["from"]:
            return False
        if spec.get("to") and row.day > spec["to"]:
            return False
        if spec.get("no_interviewer") and any(
            role == "interviewer" and s <= row.start and row.end <= e for s, e, role in self.turns[row.transcript]
        ):
            return False
        return True

    def kept(self, spec: dict) -> list[Row]:
        return [row for row in self.rows if self.passes(row, spec)]

    def counts(self, rows: list[Row], codes: set[int]) -> dict:
        mine = [row for row in rows if row.code in codes]
        return {
            "excerpts": len({r.excerpt for r in mine}),
            "transcripts": len({r.transcript for r in mine}),
            "participants": len({r.participant for r in mine if r.participant is not None}),
            "coders": len({r.coder for r in mine}),
        }

    def pairs(self, rows: list[Row]) -> dict[tuple[int, int], int]:
        by_transcript = defaultdict(list)
        for row in rows:
            by_transcript[row.transcript].append(row)
        counts: dict[tuple[int, int], int] = defaultdict(int)
        for group in by_transcript.values():
            for x in group:
                for y in group:
                    if x.code != y.code and (x.excerpt == y.excerpt or (x.start < y.end and y.start < x.end)):
                        counts[(x.code, y.code)] += 1
        return dict(counts)
