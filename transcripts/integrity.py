"""Checks that stored coding still matches the text it quotes, and what the audit trail recorded."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q

from .models import AuditEvent, CodeApplication, Excerpt, Project, Transcript


@dataclass
class Mismatch:
    excerpt_id: int
    transcript_id: int | None
    reason: str


def check_excerpts(transcripts=None) -> tuple[int, list[Mismatch]]:
    """Compare every excerpt's stored quote with its transcript's text at its offsets.

    Reads one transcript at a time, so memory stays bounded however large the project.
    Returns the number of excerpts checked and the mismatches found.
    """
    transcripts = Transcript.objects.all() if transcripts is None else transcripts
    checked = 0
    problems: list[Mismatch] = []
    for transcript in transcripts.order_by("pk").iterator(chunk_size=20):
        text = transcript.text
        rows = Excerpt.objects.filter(transcript=transcript).values_list("pk", "start", "end", "quote")
        for pk, start, end, quote in rows.iterator(chunk_size=2000):
            checked += 1
            if not 0 <= start < end <= len(text):
                problems.append(Mismatch(pk, transcript.pk, f"offsets {start}–{end} fall outside the text"))
            elif text[start:end] != quote:
                problems.append(Mismatch(pk, transcript.pk, f"the text at {start}–{end} no longer equals the quote"))
    return checked, problems


# Verbs after which an excerpt's recorded state changes without an event of its own.
_SWEEPING_VERBS = ("code.merged", "code.deleted", "transcript.deleted", "consensus.settled")
_COMPARED = ("start", "end", "quote", "memo", "codes")


def recorded_excerpts(project_id: int) -> dict[int, dict]:
    """Every excerpt of a project the audit trail says exists, with its last recorded state, by
    replaying the project's chain: excerpt events, and the merges, deletions and consensus that
    change excerpts in bulk."""
    events = AuditEvent.objects.filter(Q(object_type="excerpt") | Q(verb__in=_SWEEPING_VERBS), project_id=project_id)
    states: dict[int, dict] = {}
    rows = events.order_by("seq").values_list("verb", "object_id", "before", "after")
    for verb, object_id, before, after in rows.iterator(chunk_size=2000):
        after = after or {}
        if verb == "excerpt.deleted":
            states.pop(int(object_id), None)
        elif verb == "excerpt.undone":
            if "deleted" in after:
                states.pop(int(object_id), None)
            else:
                states[int(object_id)] = after.get("restored") or after["after"]
        elif verb.startswith("excerpt.") and "start" in after:
            states[int(object_id)] = after
        elif verb == "code.merged":
            source, target = int(object_id), after["into"]
            for state in states.values():
                if source in state["codes"]:
                    state["codes"] = sorted({*state["codes"], target} - {source})
        elif verb == "code.deleted":
            code = int(object_id)
            for pk, state in list(states.items()):
                if code in state["codes"]:
                    state["codes"] = [other for other in state["codes"] if other != code]
                    if not state["codes"]:
                        del states[pk]  # the action deletes an excerpt left without codes
        elif verb == "transcript.deleted":
            for pk in [pk for pk, state in states.items() if state["transcript"] == int(object_id)]:
                del states[pk]
        elif verb == "consensus.settled":
            for made in after.get("consensus", []):
                states[made["excerpt"]] = {"transcript": int(object_id), "memo": after.get("note", ""), **made}
    return states


def check_against_trail(project=None) -> list[Mismatch]:
    """Compare every excerpt's bounds, quote, memo and codes with what the audit trail last
    recorded for it; excerpts made or deleted without a record are reported too.

    Only as trustworthy as the trail: run `verify_audit` to check that first. Works one project
    at a time, so memory holds one project's excerpts.
    """
    if project is not None:
        return _check_project_against_trail(project.pk)
    ids = set(Project.objects.values_list("pk", flat=True))
    ids |= set(AuditEvent.objects.filter(object_type="excerpt").order_by().values_list("project_id", flat=True).distinct())
    problems: list[Mismatch] = []
    for project_id in sorted(ids - {None}):
        problems += _check_project_against_trail(project_id)
    return problems


def _check_project_against_trail(project_id: int) -> list[Mismatch]:
    states = recorded_excerpts(project_id)
    excerpts = Excerpt.objects.filter(transcript__project_id=project_id)
    codes: dict[int, list[int]] = defaultdict(list)
    applications = CodeApplication.objects.filter(excerpt__in=excerpts).order_by().values_list("excerpt_id", "code_id")
    for excerpt_id, code_id in applications.iterator(chunk_size=5000):
        codes[excerpt_id].append(code_id)
    problems: list[Mismatch] = []
    rows = excerpts.order_by("pk").values_list("pk", "transcript_id", "start", "end", "quote", "memo")
    for pk, transcript_id, start, end, quote, memo in rows.iterator(chunk_size=2000):
        state = states.pop(pk, None)
        if state is None:
            problems.append(Mismatch(pk, transcript_id, "the audit trail has no record of this excerpt being made"))
            continue
        now = {"start": start, "end": end, "quote": quote, "memo": memo, "codes": sorted(codes[pk])}
        recorded = {**state, "codes": sorted(state.get("codes", []))}
        changed = [field for field in _COMPARED if field in recorded and recorded[field] != now[field]]
        if state.get("transcript") != transcript_id:
            changed.insert(0, "transcript")
        if changed:
            problems.append(
                Mismatch(pk, transcript_id, f"its {', '.join(changed)} differ from what the audit trail last recorded")
            )
    for pk, state in sorted(states.items()):
        problems.append(
            Mismatch(pk, state.get("transcript"), "the audit trail says it exists, but it was deleted without a record")
        )
    return problems
