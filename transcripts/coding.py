"""What the transcript page shows: filters, highlights, stripes, counts and coverage.

Everything here works on rows already loaded, so the page costs a fixed number of queries
whatever the number of excerpts or codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Max, Q

from . import spans
from .models import Code, CodeApplication, Excerpt, Membership, SpeakerTurn, Transcript


@dataclass
class Filters:
    coder: str = ""  # "", "mine", or a user id
    code: int | None = None
    uncoded: bool = False

    @classmethod
    def from_query(cls, query) -> "Filters":
        coder = query.get("coder", "")
        if coder not in ("", "mine") and not coder.isdigit():
            coder = ""
        code = query.get("code", "")
        return cls(coder=coder, code=int(code) if code.isdigit() else None, uncoded=query.get("uncoded") == "1")

    def as_query(self) -> str:
        from urllib.parse import urlencode

        params = {}
        if self.coder:
            params["coder"] = self.coder
        if self.code:
            params["code"] = self.code
        if self.uncoded:
            params["uncoded"] = "1"
        return urlencode(params)

    def keep(self, excerpt: Excerpt, user) -> bool:
        if self.coder == "mine" and excerpt.coder_id != user.pk:
            return False
        if self.coder.isdigit() and excerpt.coder_id != int(self.coder):
            return False
        if self.code and not any(app.code_id == self.code for app in excerpt.applications.all()):
            return False
        return True


def initials(user) -> str:
    parts = [p for p in (user.first_name, user.last_name) if p]
    if parts:
        return "".join(p[0] for p in parts).upper()[:3]
    return user.get_username()[:2].upper()


def state_token(transcript: Transcript) -> str:
    """Changes whenever the coding of a transcript changes; the page polls it."""
    row = transcript.excerpts.aggregate(n=Count("pk"), last=Max("updated_at"), top=Max("pk"))
    last = row["last"].timestamp() if row["last"] else 0
    return f"{row['n']}-{row['top'] or 0}-{last:.6f}"


def coverage_by_coder(text_length: int, turns: list[tuple[int, int, str]], excerpts: list[Excerpt]) -> list[dict]:
    """Share of the participant's speech that each coder has coded (union of their excerpts)."""
    speech = [(start, end) for start, end, role in turns if role == SpeakerTurn.Role.PARTICIPANT]
    if not speech:
        speech = [(0, text_length)]
    total = sum(end - start for start, end in speech)
    by_coder: dict[int, list[tuple[int, int]]] = {}
    coders = {}
    for excerpt in excerpts:
        by_coder.setdefault(excerpt.coder_id, []).append((excerpt.start, excerpt.end))
        coders[excerpt.coder_id] = excerpt.coder
    rows = []
    for coder_id, ranges in by_coder.items():
        merged = _merge(sorted(ranges))
        covered = sum(spans.overlap(a, b) for a in merged for b in speech)
        rows.append(
            {
                "coder": coders[coder_id],
                "initials": initials(coders[coder_id]),
                "percent": round(100 * covered / total, 1) if total else 0.0,
            }
        )
    rows.sort(key=lambda row: row["coder"].get_username())
    return rows


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


@dataclass
class CodingPage:
    transcript: Transcript
    membership: Membership
    filters: Filters
    excerpts: list[Excerpt]  # all of the transcript's excerpts
    shown: list[Excerpt]  # after the filters
    turns: list[tuple[int, int, int, str]]
    codes: list[Code]
    coders: list
    focus: Code | None = None
    examples: list = field(default_factory=list)

    @property
    def paragraphs(self) -> list[spans.Paragraph]:
        labels = [(start, body) for start, _, body, _ in self.turns if body > start]
        roles = [(start, end, role) for start, end, _, role in self.turns]
        return spans.layout(self.transcript.text, labels, [(e.pk, e.start, e.end) for e in self.shown], roles)

    @property
    def excerpt_classes(self) -> dict[int, str]:
        classes = {}
        for excerpt in self.shown:
            apps = sorted(excerpt.applications.all(), key=lambda a: a.code_id)
            mine = " mine" if excerpt.coder_id == self.membership.user_id else ""
            classes[excerpt.pk] = (f"c-{apps[0].code_id}" if apps else "") + mine
        return classes

    @property
    def excerpt_data(self) -> list[dict]:
        """What the page's script needs to draw the margin stripes and select excerpts."""
        data = []
        for excerpt in self.shown:
            data.append(
                {
                    "id": excerpt.pk,
                    "start": excerpt.start,
                    "end": excerpt.end,
                    "coder": initials(excerpt.coder),
                    "mine": excerpt.coder_id == self.membership.user_id,
                    "codes": [[app.code_id, app.code.name] for app in excerpt.applications.all()],
                }
            )
        return data

    @property
    def excerpt_data_json(self) -> str:
        import json

        return json.dumps(self.excerpt_data, ensure_ascii=False, separators=(",", ":"))

    @property
    def coverage(self) -> list[dict]:
        return coverage_by_coder(
            len(self.transcript.text), [(s, e, r) for s, e, _, r in self.turns], self.excerpts
        )


def load_coding_page(transcript: Transcript, membership: Membership, filters: Filters, focus_id: int | None) -> CodingPage:
    user = membership.user
    excerpts = list(transcript.excerpts.for_transcript_page())
    shown = [e for e in excerpts if filters.keep(e, user)]
    turns = list(transcript.turns.order_by("start").values_list("start", "end", "body_start", "role"))
    codes = transcript.project.codes.annotate(
        n_here=Count("applications", filter=Q(applications__excerpt__transcript=transcript))
    ).in_tree_order()
    coders = [
        m.user
        for m in Membership.objects.filter(project_id=transcript.project_id, role__in=["lead", "coder"])
        .select_related("user")
        .order_by("user__username")
    ]
    focus = None
    if focus_id is None and filters.code:
        focus_id = filters.code
    if focus_id is not None:
        focus = next((code for code in codes if code.pk == focus_id), None)
    examples = []
    if focus is not None:
        examples = list(
            CodeApplication.objects.filter(code=focus)
            .select_related("excerpt__transcript__participant")
            .order_by("-is_exemplar", "excerpt__transcript__title", "excerpt__start")[:2]
        )
    return CodingPage(
        transcript=transcript,
        membership=membership,
        filters=filters,
        excerpts=excerpts,
        shown=shown,
        turns=turns,
        codes=codes,
        coders=coders,
        focus=focus,
        examples=examples,
    )
