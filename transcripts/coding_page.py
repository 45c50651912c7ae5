"""What the transcript page shows: filters, highlights, stripes, counts and coverage.

Everything here works on rows already loaded, so the page costs a fixed number of queries
whatever the number of excerpts or codes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum

from . import colours, spans
from .access import parse_id
from .models import Code, CodeApplication, Membership, SpeakerTurn, Transcript, visible_excerpts_q


@dataclass
class ExcerptRow:
    """What the page needs of an excerpt: loaded as plain tuples, not model instances."""

    pk: int
    start: int
    end: int
    coder_id: int
    code_ids: list[int] = field(default_factory=list)
    is_consensus: bool = False
    version: int = 1


@dataclass
class Filters:
    coder: str = ""  # "", "mine", or a user id
    code: int | None = None
    uncoded: bool = False

    @classmethod
    def from_query(cls, query) -> "Filters":
        coder = query.get("coder", "")
        if coder not in ("", "mine", "consensus"):
            coder = str(pk) if (pk := parse_id(coder)) is not None else ""
        return cls(coder=coder, code=parse_id(query.get("code")), uncoded=query.get("uncoded") == "1")

    def as_query(self) -> str:
        params = {}
        if self.coder:
            params["coder"] = self.coder
        if self.code:
            params["code"] = self.code
        if self.uncoded:
            params["uncoded"] = "1"
        return urlencode(params)

    def keep(self, excerpt: ExcerptRow, user) -> bool:
        # The consensus is written by a lead but is nobody's own coding: only its own filter shows it alone.
        if self.coder == "consensus" and not excerpt.is_consensus:
            return False
        if self.coder not in ("", "consensus") and excerpt.is_consensus:
            return False
        if self.coder == "mine" and excerpt.coder_id != user.pk:
            return False
        if self.coder.isdigit() and excerpt.coder_id != int(self.coder):
            return False
        if self.code and self.code not in excerpt.code_ids:
            return False
        return True


def initials(user) -> str:
    parts = [p for p in (user.first_name, user.last_name) if p]
    if parts:
        return "".join(p[0] for p in parts).upper()[:3]
    return user.get_username()[:2].upper()


def state_token(transcript: Transcript, membership: Membership | None = None) -> str:
    """Changes whenever the coding of a transcript changes; the page polls it.

    Given the member, only the coding they may see counts, so under blind coding the token
    does not reveal when somebody else codes. Count, sum of ids and sum of versions: a new
    excerpt raises the id sum (ids only grow), a deletion lowers the count, every change raises
    a version. So the page can add its own write's effect to the token it holds (see
    views.coding._patch) and refresh only when the coding changed in some other way.
    """
    excerpts = transcript.excerpts.all() if membership is None else transcript.excerpts.visible_to(membership)
    row = excerpts.aggregate(n=Count("pk"), ids=Sum("pk"), versions=Sum("version"))
    return f"{row['n']}-{int(row['ids'] or 0)}-{int(row['versions'] or 0)}"  # PostgreSQL sums ids as numeric


def excerpt_entry(*, pk: int, start: int, end: int, coder: str, codes: list[int], cls: str) -> dict:
    """One excerpt as the page's script reads it (margin stripes, clicks, in-place patches):
    `coder` as initials, `codes` as ids in id order, `cls` its highlight's classes."""
    return {"id": pk, "start": start, "end": end, "coder": coder, "codes": codes, "cls": cls}


def highlight_class(first_code: int | None, *, mine: bool, is_consensus: bool) -> str:
    """The CSS classes of an excerpt's highlight: its first code's colour, whose coding it is."""
    classes = [f"c-{first_code}"] if first_code else []
    if is_consensus:
        classes.append("consensus")
    elif mine:
        classes.append("mine")
    return " ".join(classes)


def state_of(excerpts: list[ExcerptRow]) -> str:
    """`state_token` of these excerpts, already loaded: all the member may see, unfiltered."""
    return f"{len(excerpts)}-{sum(e.pk for e in excerpts)}-{sum(e.version for e in excerpts)}"


def coverage_by_coder(
    text_length: int, turns: list[tuple[int, int, str]], excerpts: list[ExcerptRow], coders: dict
) -> list[dict]:
    """Share of the participant's speech that each coder has coded (union of their excerpts)."""
    speech = [(start, end) for start, end, role in turns if role == SpeakerTurn.Role.PARTICIPANT]
    if not speech:
        speech = [(0, text_length)]
    total = sum(end - start for start, end in speech)
    by_coder: dict[int, list[tuple[int, int]]] = {}
    for excerpt in excerpts:
        if excerpt.is_consensus:  # the consensus is nobody's own coverage
            continue
        by_coder.setdefault(excerpt.coder_id, []).append((excerpt.start, excerpt.end))
    rows = []
    for coder_id, ranges in by_coder.items():
        # Turns never overlap, so sorted they are already the merged list `intersect` takes.
        covered = spans.length(spans.intersect(spans.merge(ranges), sorted(speech)))
        rows.append(
            {
                "coder": coders[coder_id],
                "initials": initials(coders[coder_id]),
                "percent": round(100 * covered / total, 1) if total else 0.0,
            }
        )
    rows.sort(key=lambda row: row["coder"].get_username())
    return rows


# Part of text_key: raise it when the markup of the text changes, so none drawn before is reused.
TEXT_MARKUP_VERSION = 1


@dataclass
class CodingPage:
    transcript: Transcript
    membership: Membership
    filters: Filters
    excerpts: list[ExcerptRow]  # all of the transcript's excerpts
    shown: list[ExcerptRow]  # after the filters
    turns: list[tuple[int, int, int, str]]
    codes: list[Code]
    coders: list
    users: dict  # id -> user, for everyone who coded here
    focus: Code | None = None
    examples: list = field(default_factory=list)

    @property
    def text_key(self) -> str:
        """A digest of everything the laid-out text is drawn from: the text, its speaker turns,
        the excerpts shown and their highlight classes. Equal keys mean equal markup, so the
        markup can be kept and reused under this key; and the key is made only of what this
        member may see with these filters, so nobody is shown a highlight they may not see."""
        digest = hashlib.blake2b(self.transcript.text.encode(), digest_size=20)
        shown = [(e.pk, e.start, e.end) for e in self.shown]
        digest.update(repr((TEXT_MARKUP_VERSION, self.turns, shown, sorted(self.excerpt_classes.items()))).encode())
        return digest.hexdigest()

    @property
    def colours_version(self) -> str:
        """The version of the codes' stylesheet this page is drawn with (colours.rules_version)."""
        return colours.rules_version((code.pk, code.color) for code in self.codes)

    @property
    def paragraphs(self) -> list[spans.Paragraph]:
        labels = [(start, body) for start, _, body, _ in self.turns if body > start]
        roles = [(start, end, role) for start, end, _, role in self.turns]
        return spans.layout(self.transcript.text, labels, [(e.pk, e.start, e.end) for e in self.shown], roles)

    @cached_property
    def excerpt_classes(self) -> dict[int, str]:
        user_id = self.membership.user_id
        return {
            excerpt.pk: highlight_class(
                excerpt.code_ids[0] if excerpt.code_ids else None,
                mine=excerpt.coder_id == user_id,
                is_consensus=excerpt.is_consensus,
            )
            for excerpt in self.shown
        }

    @property
    def excerpt_data(self) -> list[dict]:
        """What the page's script needs to draw the margin stripes and select excerpts."""
        marks = {pk: initials(user) for pk, user in self.users.items()}
        classes = self.excerpt_classes
        return [
            excerpt_entry(
                pk=excerpt.pk,
                start=excerpt.start,
                end=excerpt.end,
                coder=marks.get(excerpt.coder_id, "?"),
                codes=excerpt.code_ids,
                cls=classes[excerpt.pk],
            )
            for excerpt in self.shown
        ]

    @property
    def excerpt_data_json(self) -> str:
        return json.dumps(self.excerpt_data, ensure_ascii=False, separators=(",", ":"))

    @property
    def code_names_json(self) -> str:
        """Each code's name by id, for the stripes' labels (the excerpts carry only ids)."""
        return json.dumps({code.pk: code.name for code in self.codes}, ensure_ascii=False, separators=(",", ":"))

    @property
    def state(self) -> str:
        return state_of(self.excerpts)

    @property
    def coverage(self) -> list[dict]:
        return coverage_by_coder(
            len(self.transcript.text), [(s, e, r) for s, e, _, r in self.turns], self.excerpts, self.users
        )


def load_excerpt_rows(transcript: Transcript, membership: Membership | None = None) -> list[ExcerptRow]:
    """The transcript's excerpts (those the member may see, given one) with their code ids in
    id order, in reading order: one query of tuples, a row per code."""
    excerpts = transcript.excerpts.all() if membership is None else transcript.excerpts.visible_to(membership)
    rows: dict[int, ExcerptRow] = {}
    for pk, start, end, coder_id, is_consensus, version, code_id in excerpts.order_by(
        "start", "end", "pk", "applications__code_id"
    ).values_list("pk", "start", "end", "coder_id", "is_consensus", "version", "applications__code_id"):
        row = rows.get(pk)
        if row is None:
            row = rows[pk] = ExcerptRow(pk, start, end, coder_id, is_consensus=is_consensus, version=version)
        if code_id is not None:
            row.code_ids.append(code_id)
    return list(rows.values())


def load_codes(transcript: Transcript, excerpts: list[ExcerptRow], codebook: list[Code] | None = None) -> list[Code]:
    """The codebook in tree order, each code with `n_here`, its count in these excerpts. With
    `codebook` (load_codebook's, which a write has at hand), those codes, without their texts."""
    counts: dict[int, int] = {}
    for excerpt in excerpts:
        for code_id in excerpt.code_ids:
            counts[code_id] = counts.get(code_id, 0) + 1
    codes = transcript.project.codes.in_tree_order() if codebook is None else codebook
    for code in codes:
        code.n_here = counts.get(code.pk, 0)
    return codes


def load_codebook(project) -> list[Code]:
    """The project's codes in tree order with what the excerpt panel and the coding forms read
    (name, place in the tree, archived); the definitions stay in the database."""
    return project.codes.only("pk", "project_id", "parent_id", "name", "order", "archived").in_tree_order()


def load_excerpt_panel(
    transcript: Transcript, membership: Membership, filters: Filters, codes: list[Code] | None = None
) -> CodingPage:
    """Just what the excerpt panel needs (the codebook for its checkboxes): coding responses
    render only this panel and patch or refresh the other regions. `codes`, the codebook in tree
    order, when the caller has it already."""
    return CodingPage(
        transcript=transcript,
        membership=membership,
        filters=filters,
        excerpts=[],
        shown=[],
        turns=[],
        codes=load_codebook(transcript.project) if codes is None else codes,
        coders=[],
        users={},
    )


def load_coding_page(
    transcript: Transcript, membership: Membership, filters: Filters, focus_id: int | None, codebook: list[Code] | None = None
) -> CodingPage:
    """The page's data. `codebook` (load_codebook's) spares the codes' query when no code is in
    focus: only the focused code's texts are shown."""
    user = membership.user
    excerpts = load_excerpt_rows(transcript, membership)
    shown = [e for e in excerpts if filters.keep(e, user)]
    turns = list(transcript.turns.order_by("start").values_list("start", "end", "body_start", "role"))
    focused = focus_id is not None or filters.code
    codes = load_codes(transcript, excerpts, None if focused else codebook)
    members = list(
        Membership.objects.filter(project_id=transcript.project_id).select_related("user").order_by("user__username")
    )
    users = {m.user_id: m.user for m in members}
    coders = [m.user for m in members if m.role in (Membership.Role.LEAD, Membership.Role.CODER)]
    missing = {e.coder_id for e in excerpts} - set(users)
    if missing:  # people who coded here and have since left the project
        users.update({u.pk: u for u in get_user_model().objects.filter(pk__in=missing)})
    focus = None
    if focus_id is None and filters.code:
        focus_id = filters.code
    if focus_id is not None:
        focus = next((code for code in codes if code.pk == focus_id), None)
    examples = []
    if focus is not None:
        examples = list(
            CodeApplication.objects.filter(code=focus)
            .filter(visible_excerpts_q(membership, "excerpt__") or Q())
            .select_related("excerpt__transcript__participant")
            .only(
                "is_exemplar", "excerpt__quote", "excerpt__start", "excerpt__transcript__title",
                "excerpt__transcript__participant__label",
            )
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
        users=users,
        focus=focus,
        examples=examples,
    )
