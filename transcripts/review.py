"""What the review pages show: filters, theme counts, quotes, matrices, co-occurrence, search.

Every figure is computed in the database (values() + Count(distinct=True)) with a fixed number
of queries whatever the number of codes, excerpts or transcripts; Python only arranges rows.

The rules the pages state, in one place:

- "Leave out interviewer turns" drops an excerpt that lies entirely inside one interviewer
  turn: some turn with role "interviewer" has turn.start <= excerpt.start and
  excerpt.end <= turn.end. An excerpt that reaches into a participant's turn stays.
- "Date coded" is the day the excerpt was created, in the site's time zone.
- A theme's figures roll up its subthemes: distinct excerpts, transcripts, participants and
  coders over every application of the theme or any code below it, so a participant coded
  under two subthemes counts once for the theme.
- Two codes co-occur when they are applied to the same excerpt, or to two excerpts of the same
  transcript that share at least one character (a.start < b.end and b.start < a.end). The count
  for (A, B) is the number of such (excerpt coded A, excerpt coded B) pairs; an excerpt that
  carries both codes is one pair.
- "A AND B" lists the excerpts coded A that carry B or share at least one character with an
  excerpt coded B; "A NOT B" lists the excerpts coded A that do neither. With "include
  subthemes", A and B each stand for the code and every code below it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from . import spans
from .models import (
    Attribute,
    AttributeValue,
    Code,
    CodeApplication,
    Excerpt,
    Membership,
    Participant,
    Project,
    SpeakerTurn,
    Transcript,
)

MEASURES = ("excerpts", "transcripts", "participants", "coders")


def _measures(prefix: str = "excerpt__") -> dict:
    return {
        "excerpts": Count(f"{prefix}id", distinct=True),
        "transcripts": Count(f"{prefix}transcript_id", distinct=True),
        "participants": Count(f"{prefix}transcript__participant_id", distinct=True),
        "coders": Count(f"{prefix}coder_id", distinct=True),
    }


# Filters ------------------------------------------------------------------------------------


@dataclass
class FilterOptions:
    """What the filter form offers: the project's own attributes, coders, transcripts, participants."""

    attributes: list[Attribute]
    values: dict[int, list[str]]  # attribute id -> the values participants have, for text and choice
    coders: list  # users who may code
    transcripts: list[Transcript]
    participants: list[Participant]

    @classmethod
    def load(cls, project: Project) -> "FilterOptions":
        attributes = list(project.attributes.all())
        values: dict[int, list[str]] = defaultdict(list)
        for attribute_id, value in (
            AttributeValue.objects.filter(attribute__project=project)
            .exclude(value="")
            .values_list("attribute_id", "value")
            .distinct()
            .order_by("value")
        ):
            values[attribute_id].append(value)
        for attribute in attributes:
            if attribute.kind == Attribute.Kind.CHOICE and attribute.choices:
                present = set(values[attribute.pk])
                values[attribute.pk] = [c for c in attribute.choices if c in present] + sorted(
                    present - set(attribute.choices)
                )
        coders = [
            m.user
            for m in Membership.objects.filter(project=project, role__in=["lead", "coder"])
            .select_related("user")
            .order_by("user__username")
        ]
        transcripts = list(project.transcripts.only("pk", "project_id", "title", "participant_id").order_by("title", "pk"))
        participants = list(project.participants.only("pk", "project_id", "label").order_by("label"))
        return cls(attributes, dict(values), coders, transcripts, participants)


@dataclass(frozen=True)
class AttributeFilter:
    attribute: Attribute
    values: tuple[str, ...] = ()  # text and choice: any of these
    low: Decimal | datetime.date | None = None  # number and date: inclusive range
    high: Decimal | datetime.date | None = None

    def q(self) -> Q:
        """Participants whose value passes, as a condition on AttributeValue."""
        q = Q(attribute_id=self.attribute.pk)
        if self.attribute.kind == Attribute.Kind.NUMBER:
            if self.low is not None:
                q &= Q(number__gte=self.low)
            if self.high is not None:
                q &= Q(number__lte=self.high)
        elif self.attribute.kind == Attribute.Kind.DATE:
            if self.low is not None:
                q &= Q(date__gte=self.low)
            if self.high is not None:
                q &= Q(date__lte=self.high)
        else:
            q &= Q(value__in=self.values)
        return q

    def params(self) -> list[tuple[str, str]]:
        key = f"a{self.attribute.pk}"
        if self.attribute.kind in (Attribute.Kind.NUMBER, Attribute.Kind.DATE):
            pairs = []
            if self.low is not None:
                pairs.append((f"{key}_min", _plain(self.low)))
            if self.high is not None:
                pairs.append((f"{key}_max", _plain(self.high)))
            return pairs
        return [(key, value) for value in self.values]


def _plain(value) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value.isoformat()


def _ids(raw: list[str], allowed: set[int]) -> tuple[int, ...]:
    """The ids that name objects of this project; anything else is ignored."""
    ids = []
    for item in raw:
        if item.isdigit() and int(item) in allowed and int(item) not in ids:
            ids.append(int(item))
    return tuple(sorted(ids))


def _day(raw: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(raw.strip()) if raw and raw.strip() else None
    except ValueError:
        return None


def _number(raw: str) -> Decimal | None:
    try:
        number = Decimal(raw.strip().replace(",", "")) if raw and raw.strip() else None
    except InvalidOperation:
        return None
    return number if number is None or number.is_finite() else None


@dataclass(frozen=True)
class ReviewFilters:
    """The filters every review page shares, read from a query string and checked against the project."""

    attributes: tuple[AttributeFilter, ...] = ()
    coders: tuple[int, ...] = ()
    transcripts: tuple[int, ...] = ()
    participants: tuple[int, ...] = ()
    coded_from: datetime.date | None = None
    coded_to: datetime.date | None = None
    no_interviewer: bool = False
    coding: str = ""  # "" everything, "consensus" the consensus alone, "original" the coders' own coding
    # Not a filter the user sets: the blind-coding rule of the member looking (visible_excerpts_q).
    visible: Q | None = field(default=None, compare=False)

    @classmethod
    def from_query(cls, query, options: FilterOptions, *, visible: Q | None = None) -> "ReviewFilters":
        """Parse `attr`-style keys (a<id>, a<id>_min, a<id>_max), coder, transcript, participant,
        coded_from, coded_to and no_interviewer; ids of other projects and nonsense are dropped.

        `visible` is the member's blind-coding rule, applied to every excerpt the pages count.
        """
        getlist = query.getlist if hasattr(query, "getlist") else (lambda k: [v] if (v := query.get(k)) else [])
        attribute_filters = []
        for attribute in options.attributes:
            key = f"a{attribute.pk}"
            if attribute.kind == Attribute.Kind.NUMBER:
                low, high = _number(query.get(f"{key}_min", "")), _number(query.get(f"{key}_max", ""))
            elif attribute.kind == Attribute.Kind.DATE:
                low, high = _day(query.get(f"{key}_min", "")), _day(query.get(f"{key}_max", ""))
            else:
                values = tuple(dict.fromkeys(v for v in getlist(key) if v))
                if attribute.kind == Attribute.Kind.CHOICE and attribute.choices:
                    values = tuple(v for v in values if v in attribute.choices)
                if values:
                    attribute_filters.append(AttributeFilter(attribute, values=values))
                continue
            if low is not None or high is not None:
                attribute_filters.append(AttributeFilter(attribute, low=low, high=high))
        return cls(
            attributes=tuple(attribute_filters),
            coders=_ids(getlist("coder"), {user.pk for user in options.coders}),
            transcripts=_ids(getlist("transcript"), {t.pk for t in options.transcripts}),
            participants=_ids(getlist("participant"), {p.pk for p in options.participants}),
            coded_from=_day(query.get("coded_from", "")),
            coded_to=_day(query.get("coded_to", "")),
            no_interviewer=query.get("no_interviewer") in ("1", "on", "true"),
            coding=query.get("coding") if query.get("coding") in ("consensus", "original") else "",
            visible=visible,
        )

    def params(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for item in self.attributes:
            pairs += item.params()
        pairs += [("coder", str(pk)) for pk in self.coders]
        pairs += [("transcript", str(pk)) for pk in self.transcripts]
        pairs += [("participant", str(pk)) for pk in self.participants]
        if self.coded_from:
            pairs.append(("coded_from", self.coded_from.isoformat()))
        if self.coded_to:
            pairs.append(("coded_to", self.coded_to.isoformat()))
        if self.no_interviewer:
            pairs.append(("no_interviewer", "1"))
        if self.coding:
            pairs.append(("coding", self.coding))
        return pairs

    def as_query(self, **extra) -> str:
        """The filters as a URL-encoded query string, with `extra` keys added (None drops a key)."""
        pairs = self.params() + [(k, str(v)) for k, v in extra.items() if v is not None and v != ""]
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        return bool(self.params())

    def attribute_filter(self, attribute_id: int) -> AttributeFilter | None:
        return next((f for f in self.attributes if f.attribute.pk == attribute_id), None)

    def transcript_queryset(self, project: Project) -> QuerySet:
        """The project's transcripts that pass the transcript, participant and attribute filters."""
        transcripts = Transcript.objects.filter(project=project)
        if self.transcripts:
            transcripts = transcripts.filter(pk__in=self.transcripts)
        if self.participants:
            transcripts = transcripts.filter(participant_id__in=self.participants)
        for item in self.attributes:
            transcripts = transcripts.filter(
                Exists(AttributeValue.objects.filter(item.q(), participant_id=OuterRef("participant_id")))
            )
        return transcripts

    def conditions(self, project: Project, prefix: str = "") -> list:
        """Every filter as conditions on excerpts reached through `prefix`: "" on Excerpt,
        "excerpt__" on CodeApplication. Joins only, no `IN (subquery)`: the planner sees one
        flat query whatever is filtered (an `excerpt__in` subquery once got a plan of minutes)."""
        p = prefix
        found: list = [Q(**{f"{p}transcript__project_id": project.pk})]
        if self.visible is not None:
            found.append(_prefixed(self.visible, p))
        if self.transcripts:
            found.append(Q(**{f"{p}transcript_id__in": self.transcripts}))
        if self.participants:
            found.append(Q(**{f"{p}transcript__participant_id__in": self.participants}))
        for item in self.attributes:
            found.append(
                Exists(AttributeValue.objects.filter(item.q(), participant_id=OuterRef(f"{p}transcript__participant_id")))
            )
        if self.coders:
            found.append(Q(**{f"{p}coder_id__in": self.coders}))
        if self.coding == "consensus":
            found.append(Q(**{f"{p}is_consensus": True}))
        elif self.coding == "original" or self.coders:
            # A coder's coding is their own: the consensus a lead settled is not part of it.
            found.append(Q(**{f"{p}is_consensus": False}))
        if self.coded_from:
            found.append(Q(**{f"{p}created_at__date__gte": self.coded_from}))
        if self.coded_to:
            found.append(Q(**{f"{p}created_at__date__lte": self.coded_to}))
        if self.no_interviewer:
            found.append(
                ~Exists(
                    SpeakerTurn.objects.filter(
                        transcript_id=OuterRef(f"{p}transcript_id"),
                        role=SpeakerTurn.Role.INTERVIEWER,
                        start__lte=OuterRef(f"{p}start"),
                        end__gte=OuterRef(f"{p}end"),
                    )
                )
            )
        return found

    def excerpt_queryset(self, project: Project) -> QuerySet:
        """The project's excerpts that pass every filter."""
        return Excerpt.objects.filter(*self.conditions(project))

    def application_queryset(self, project: Project) -> QuerySet:
        """Code applications of the project whose excerpt passes every filter (joined, not `IN`)."""
        return CodeApplication.objects.filter(*self.conditions(project, "excerpt__"), code__project_id=project.pk)


def _prefixed(q: Q, prefix: str) -> Q:
    """A copy of `q` whose lookups start from `prefix` (the blind-coding rule, reached from applications)."""
    if not prefix:
        return q
    copy = Q()
    copy.connector, copy.negated = q.connector, q.negated
    copy.children = [
        _prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1]) for child in q.children
    ]
    return copy


# The codebook as a tree ----------------------------------------------------------------------


@dataclass
class Counts:
    excerpts: int = 0
    transcripts: int = 0
    participants: int = 0
    coders: int = 0

    @classmethod
    def of(cls, row: dict | None) -> "Counts":
        if not row:
            return cls()
        return cls(**{name: row[name] for name in MEASURES})

    def get(self, name: str) -> int:
        return getattr(self, name)


@dataclass
class Tree:
    """The project's codes in codebook order, with depth, parents and subtrees."""

    codes: list[Code]

    def __post_init__(self) -> None:
        self.by_id = {code.pk: code for code in self.codes}
        self.children: dict[int | None, list[int]] = defaultdict(list)
        for code in self.codes:
            self.children[code.parent_id].append(code.pk)

    @classmethod
    def load(cls, project: Project) -> "Tree":
        return cls(project.codes.in_tree_order())

    def ancestors(self, code_id: int) -> list[int]:
        """The code itself, its parent, grandparent... up to its theme."""
        chain = []
        while code_id is not None and code_id in self.by_id and code_id not in chain:
            chain.append(code_id)
            code_id = self.by_id[code_id].parent_id
        return chain

    def subtree(self, code_id: int) -> list[int]:
        found, stack = [], [code_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.children.get(current, []))
        return found

    def path(self, code_id: int) -> str:
        return " / ".join(self.by_id[pk].name for pk in reversed(self.ancestors(code_id)))

    def has_children(self, code_id: int) -> bool:
        return bool(self.children.get(code_id))


def _counts(
    applications: QuerySet, tree: Tree, by: tuple[str, ...] = (), measures: tuple[str, ...] = MEASURES
) -> tuple[dict[tuple, dict], dict[tuple, dict]]:
    """Distinct counts per code: its own applications, and with its subthemes; one query whatever
    the codebook's depth.

    The first part groups every application by its code (own). Then one part per depth level
    groups the applications of codes that have subthemes by their ancestor at that level (a CASE
    over code ids); the parts are joined with UNION ALL. A code without subthemes has the same
    figures own and with subthemes, so it needs no second row. Each part is a flat join
    (application_queryset), grouped once.
    """
    if connection.vendor == "postgresql":
        return _counts_grouping_sets(applications, tree, by, measures)
    chosen = {name: aggregate for name, aggregate in _measures().items() if name in measures}
    by_level: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for code in tree.codes:
        chain = list(reversed(tree.ancestors(code.pk)))  # theme first
        for level, ancestor in enumerate(chain):
            if tree.has_children(ancestor):
                by_level[level][ancestor].append(code.pk)
    parts = [
        applications.annotate(part=Value(0), theme=F("code_id")).values("part", "theme", *by).annotate(**chosen).order_by()
    ]
    for level in sorted(by_level):
        groups = by_level[level]
        theme = Case(
            *(When(code_id__in=ids, then=Value(ancestor)) for ancestor, ids in groups.items()),
            output_field=IntegerField(),
        )
        parts.append(
            applications.filter(code_id__in=[pk for ids in groups.values() for pk in ids])
            .annotate(part=Value(1), theme=theme)
            .values("part", "theme", *by)
            .annotate(**chosen)
            .order_by()
        )
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    own: dict[tuple, dict] = {}
    total: dict[tuple, dict] = {}
    for row in rows:
        key = (row["theme"], *(row[name] for name in by))
        if row["part"] == 0:
            own[key] = row
            if not tree.has_children(row["theme"]):
                total[key] = row
        else:
            total[key] = row
    return own, total


_COLUMNS = {
    "excerpts": F("excerpt_id"),
    "transcripts": F("excerpt__transcript_id"),
    "participants": F("excerpt__transcript__participant_id"),
    "coders": F("excerpt__coder_id"),
}


def _counts_grouping_sets(
    applications: QuerySet, tree: Tree, by: tuple[str, ...], measures: tuple[str, ...]
) -> tuple[dict[tuple, dict], dict[tuple, dict]]:
    """_counts on PostgreSQL: the same figures from one pass over the applications.

    The flat join is read once and grouped by GROUPING SETS: by code (own), and by the ancestor
    at each depth level that has subthemes (with subthemes). The ancestors come from a small
    VALUES list joined on the code, one column per level, rather than a CASE per row.
    """
    names = [name for name in MEASURES if name in measures]
    columns = {f"m_{name}": _COLUMNS[name] for name in names}
    keys = {f"b_{i}": F(name) for i, name in enumerate(by)}
    inner, params = applications.values(m_code=F("code_id"), **columns, **keys).order_by().query.sql_with_params()
    # Level i holds each code's ancestor at depth i, when that ancestor has subthemes.
    level_of = {pk: len(tree.ancestors(pk)) - 1 for pk in tree.by_id if tree.has_children(pk)}
    n_levels = max(level_of.values(), default=0) + 1
    by_level = {code.pk: [None] * n_levels for code in tree.codes}
    for code in tree.codes:
        for ancestor in tree.ancestors(code.pk):
            if ancestor in level_of:
                by_level[code.pk][level_of[ancestor]] = ancestor
    level_names = [f"l_{i}" for i in range(n_levels)]
    values = ", ".join(
        "(" + ", ".join(f"{pk}::bigint" if pk is not None else "NULL::bigint" for pk in (code_id, *chain)) + ")"
        for code_id, chain in by_level.items()
    )
    group_by = ", ".join(f"s.{key}" for key in keys)
    sets = ", ".join(f"(g.{column}{', ' + group_by if group_by else ''})" for column in ["code_id", *level_names])
    sql = (
        f"SELECT GROUPING(g.code_id, {', '.join('g.' + n for n in level_names)}), g.code_id, "
        f"{', '.join('g.' + n for n in level_names)}{', ' + group_by if group_by else ''}, "
        + ", ".join(f"COUNT(DISTINCT s.m_{name})" for name in names)
        + f" FROM ({inner}) s INNER JOIN (VALUES {values}) g(code_id, {', '.join(level_names)}) ON g.code_id = s.m_code"
        f" GROUP BY GROUPING SETS ({sets})"
    )
    own: dict[tuple, dict] = {}
    total: dict[tuple, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    own_set = (1 << n_levels) - 1  # GROUPING(): a bit per argument not grouped by, the first highest
    for row in rows:
        grouping, code_id, ancestors = row[0], row[1], row[2 : 2 + n_levels]
        tail = tuple(row[2 + n_levels : 2 + n_levels + len(keys)])
        figures = dict(zip(names, row[2 + n_levels + len(keys) :]))
        if grouping == own_set:
            own[(code_id, *tail)] = figures
            if not tree.has_children(code_id):
                total[(code_id, *tail)] = figures
            continue
        level = next(i for i in range(n_levels) if not grouping >> (n_levels - 1 - i) & 1)
        if ancestors[level] is not None:  # else the codes with no ancestor at that level
            total[(ancestors[level], *tail)] = figures
    return own, total


@dataclass
class ThemeRow:
    code: Code
    depth: int
    own: Counts
    total: Counts  # with its subthemes
    has_children: bool
    bar: str = "w-0"
    url: str = ""  # its quotes, set by the view; "1" or "0" (with subthemes or not) goes last


SORT_KEYS = ("codebook", "name", *MEASURES)


def theme_summary(project: Project, filters: ReviewFilters, tree: Tree) -> list[ThemeRow]:
    """Every code in codebook order with its own and rolled-up counts (one query)."""
    if not tree.codes:
        return []
    own, total = _counts(filters.application_queryset(project), tree)
    rows = [
        ThemeRow(
            code=code,
            depth=code.depth,
            own=Counts.of(own.get((code.pk,))),
            total=Counts.of(total.get((code.pk,))),
            has_children=tree.has_children(code.pk),
        )
        for code in tree.codes
    ]
    most = max((row.total.participants for row in rows), default=0)
    for row in rows:
        row.bar = width_class(row.total.participants, most)
    return rows


def sort_rows(rows: list[ThemeRow], key: str) -> list[ThemeRow]:
    """Sort siblings by `key` (a measure, "name" or "codebook"; "-" for descending), keeping the tree."""
    descending = key.startswith("-")
    name = key.lstrip("-")
    if name not in SORT_KEYS or name == "codebook":
        return rows
    children: dict[int | None, list[ThemeRow]] = defaultdict(list)
    known = {row.code.pk for row in rows}
    for row in rows:
        parent = row.code.parent_id if row.code.parent_id in known else None
        children[parent].append(row)

    def sort_key(row: ThemeRow):
        return row.code.name.lower() if name == "name" else row.total.get(name)

    ordered: list[ThemeRow] = []

    def walk(parent) -> None:
        for row in sorted(children.get(parent, []), key=sort_key, reverse=descending):
            ordered.append(row)
            walk(row.code.pk)

    walk(None)
    return ordered


def width_class(value: int, most: int) -> str:
    """A bar width as one of the classes w-0, w-2 ... w-100 (no inline styles under our CSP)."""
    if most <= 0 or value <= 0:
        return "w-0"
    return f"w-{max(2, round(50 * value / most) * 2)}"


def heat_class(value: int, most: int) -> str:
    """heat-0 for nothing, heat-1 ... heat-9 in proportion to the largest cell."""
    if most <= 0 or value <= 0:
        return "heat-0"
    return f"heat-{max(1, math.ceil(9 * value / most))}"


def scope_participants(project: Project, filters: ReviewFilters) -> int:
    """How many participants the filters leave (those with at least one transcript in scope)."""
    return (
        filters.transcript_queryset(project)
        .exclude(participant=None)
        .values("participant_id")
        .distinct()
        .count()
    )


# Quotes ------------------------------------------------------------------------------------


def speaker_at_start(prefix: str = "") -> Subquery:
    """The speaker of the turn that covers the excerpt's first character; the excerpt is reached
    through `prefix`, as in ReviewFilters.conditions ("excerpt__" from a code application)."""
    return Subquery(
        SpeakerTurn.objects.filter(
            transcript_id=OuterRef(f"{prefix}transcript_id"),
            start__lte=OuterRef(f"{prefix}start"),
            end__gt=OuterRef(f"{prefix}start"),
        )
        .order_by("-start")
        .values("speaker")[:1]
    )


def _quote_order(excerpts: QuerySet, code_ids: list[int] | None = None) -> QuerySet:
    """Transcript order; with `code_ids`, exemplars of those codes first (`.exemplar`)."""
    order = ["transcript__title", "transcript_id", "start", "end", "pk"]
    if code_ids is not None:
        excerpts = excerpts.annotate(
            exemplar=Exists(
                CodeApplication.objects.filter(excerpt_id=OuterRef("pk"), code_id__in=code_ids, is_exemplar=True)
            )
        )
        order = ["-exemplar", *order]
    return excerpts.order_by(*order)


@dataclass(slots=True)
class QuoteCode:
    """One code on a quote (an application), as a quote card shows it."""

    pk: int
    code: Code
    is_exemplar: bool

    @property
    def code_id(self) -> int:
        return self.code.pk


@dataclass(slots=True)
class Quote:
    """An excerpt as the quote cards show it: plain values, no model instances."""

    pk: int
    transcript_id: int
    transcript_title: str
    who: str  # the participant's label, or the transcript's title when it has no participant
    start: int
    end: int
    quote: str
    memo: str
    coder_id: int
    coder: str  # user name
    coder_name: str  # full name, or user name
    speaker: str | None
    line: int
    exemplar: bool = False
    codes: list[QuoteCode] = field(default_factory=list)  # in codebook order
    matched: list[QuoteCode] = field(default_factory=list)  # of the code asked for (quotes_for_code)

    @property
    def cite(self) -> str:
        """How a quote is cited: participant label (or transcript title) and line."""
        return f"{self.who}, line {self.line}"


def load_quotes(excerpts: QuerySet, tree: Tree | None, code_ids: list[int] | None = None) -> list[Quote]:
    """The excerpts as Quotes in transcript order (with `code_ids`, exemplars of those codes
    first): two queries, one without `tree` (then `codes` stays empty).

    Built from value rows rather than model instances, and the line comes from the transcript's
    stored line breaks (a binary search), never from its text: a page of 200 quotes costs
    little more than its rows.
    """
    rows = _quote_order(
        excerpts.annotate(speaker=speaker_at_start(), breaks=Cast("transcript__line_breaks", TextField())),
        code_ids,
    ).values_list(
        "pk", "transcript_id", "transcript__title", "transcript__participant__label", "start", "end", "quote", "memo",
        "coder_id", "coder__username", "coder__first_name", "coder__last_name", "speaker", "breaks",
        *(["exemplar"] if code_ids is not None else []),
    )
    breaks: dict[int, list[int]] = {}
    quotes = []
    for row in rows:
        pk, transcript_id, title, label, start, end, text, memo, coder_id, username, first, last, speaker, raw = row[:14]
        if transcript_id not in breaks:
            breaks[transcript_id] = json.loads(raw) if raw else []
        quotes.append(
            Quote(
                pk, transcript_id, title, label or title, start, end, text, memo, coder_id, username,
                f"{first} {last}".strip() or username, speaker, spans.line_at(breaks[transcript_id], start),
                exemplar=bool(row[14]) if code_ids is not None else False,
            )
        )
    if tree is not None and quotes:
        by_pk = {quote.pk: quote for quote in quotes}
        for excerpt_id, pk, code_id, is_exemplar in CodeApplication.objects.filter(
            excerpt__in=excerpts.order_by().values("pk")
        ).values_list("excerpt_id", "pk", "code_id", "is_exemplar"):
            if excerpt_id in by_pk and code_id in tree.by_id:
                by_pk[excerpt_id].codes.append(QuoteCode(pk, tree.by_id[code_id], is_exemplar))
        for quote in quotes:
            quote.codes.sort(key=lambda app: (app.code.order, app.code.name, app.pk))
    return quotes


def quotes_for_code(
    project: Project, filters: ReviewFilters, tree: Tree, code: Code, *, subthemes: bool, only: list[int] | None = None
) -> list[Quote]:
    """The excerpts coded with `code` (or a code below it), exemplars first, then in transcript order.

    Each quote's `.matched` holds its applications of the code or its subthemes. With `only`
    (a page of quote_ids), just those excerpts.
    """
    code_ids = tree.subtree(code.pk) if subthemes else [code.pk]
    excerpts = _coded_with(project, filters, code_ids)
    if only is not None:
        excerpts = excerpts.filter(pk__in=only)
    found = load_quotes(excerpts, tree, code_ids)
    wanted = set(code_ids)
    for quote in found:
        quote.matched = [app for app in quote.codes if app.code.pk in wanted]
    return found


def _coded_with(project: Project, filters: ReviewFilters, code_ids: list[int]) -> QuerySet:
    return filters.excerpt_queryset(project).filter(
        Exists(CodeApplication.objects.filter(excerpt_id=OuterRef("pk"), code_id__in=code_ids))
    )


def quote_ids(project: Project, filters: ReviewFilters, tree: Tree, code: Code, *, subthemes: bool) -> list[int]:
    """The ids of quotes_for_code's excerpts in its order (one query).

    Bare ids are cheap to order and count, so a page of quotes loads only its own excerpts.
    """
    code_ids = tree.subtree(code.pk) if subthemes else [code.pk]
    return list(_quote_order(_coded_with(project, filters, code_ids), code_ids).values_list("pk", flat=True))


def citation(quote: Quote) -> str:
    """How a quote is cited: participant label (or transcript title) and line."""
    return quote.cite


@dataclass
class Context:
    before: str
    quote: str
    after: str
    clipped_before: bool
    clipped_after: bool


def context_around(text: str, start: int, end: int, n: int) -> Context:
    """±n characters of text around [start, end)."""
    left, right = max(0, start - n), min(len(text), end + n)
    return Context(text[left:start], text[start:end], text[end:right], left > 0, right < len(text))


# Matrices ------------------------------------------------------------------------------------


@dataclass
class Column:
    key: object  # participant id or attribute value
    label: str
    query: str  # extra query-string pairs that narrow the quotes to this column


@dataclass
class Matrix:
    rows: list[tuple[Code, list[dict]]]  # (code, cells); a cell has n, people, heat and query
    columns: list[Column]
    attribute: Attribute | None = None
    # The participant matrix comes a page of columns at a time; these say which page.
    page: int = 1
    pages: int = 1
    n_columns: int = 0  # columns over every page
    first: int = 0  # 1-based number of the first column shown (0 when none)


def participant_matrix(
    project: Project, filters: ReviewFilters, tree: Tree, options: FilterOptions, *, page: int = 1, per_page: int | None = None
) -> Matrix:
    """Excerpts per code (with subthemes) and participant; two queries.

    The columns are the participants with at least one excerpt passing the filters, in label
    order; with `per_page`, only page `page` of them (clamped to the pages there are), and only
    those participants' applications are counted. Heat is relative to the page shown.
    """
    present = _participants_coded(project, filters) if tree.codes else set()
    every = [p for p in options.participants if p.pk in present]
    pages = max(1, -(-len(every) // per_page)) if per_page else 1
    page = min(max(page, 1), pages)
    shown = every[(page - 1) * per_page : page * per_page] if per_page else every
    counts = {}
    if shown:
        applications = filters.application_queryset(project)
        if per_page and len(shown) < len(every):
            # By transcript, which the (transcript, start) index finds, rather than by participant.
            wanted = {p.pk for p in shown}
            transcripts = [t.pk for t in options.transcripts if t.participant_id in wanted]
            applications = applications.filter(excerpt__transcript_id__in=transcripts)
        by = ("excerpt__transcript__participant_id",)
        counts = _counts(applications, tree, by=by, measures=("excerpts",))[1]
    columns = [Column(p.pk, p.label, urlencode([("participant", p.pk)])) for p in shown]
    matrix = _matrix(tree, counts, columns, filters, drop_keys=("participant",))
    matrix.page, matrix.pages, matrix.n_columns = page, pages, len(every)
    matrix.first = (page - 1) * per_page + 1 if per_page and shown else (1 if shown else 0)
    return matrix


def _participants_coded(project: Project, filters: ReviewFilters) -> set[int]:
    """The ids of participants with at least one application passing the filters (one query).

    A scalar subquery with LIMIT 1 per participant, which the planner runs as one probe of the
    (transcript, start) and (excerpt, code) indexes that stops at the first application found;
    an EXISTS would be turned into a join over every application of the project.
    """
    first = filters.application_queryset(project).filter(excerpt__transcript__participant_id=OuterRef("pk"))
    return set(
        Participant.objects.filter(project=project)
        .annotate(first=Subquery(first.order_by().values("pk")[:1]))
        .filter(first__isnull=False)
        .values_list("pk", flat=True)
    )


def attribute_matrix(
    project: Project, filters: ReviewFilters, tree: Tree, attribute: Attribute
) -> Matrix:
    """Excerpts and distinct participants per code (with subthemes) and value of one attribute; one query."""
    applications = filters.application_queryset(project).annotate(
        attribute_value=Subquery(
            AttributeValue.objects.filter(
                participant_id=OuterRef("excerpt__transcript__participant_id"), attribute_id=attribute.pk
            ).values("value")[:1]
        )
    )
    counts = _counts(applications, tree, by=("attribute_value",), measures=("excerpts", "participants"))[1] if tree.codes else {}
    values = {key[1] for key in counts if key[1]}
    if attribute.kind == Attribute.Kind.NUMBER:
        ordered = sorted(values, key=lambda v: Decimal(v))
    elif attribute.kind == Attribute.Kind.CHOICE and attribute.choices:
        ordered = [c for c in attribute.choices if c in values] + sorted(values - set(attribute.choices))
    else:
        ordered = sorted(values)
    key = f"a{attribute.pk}"
    columns = []
    for value in ordered:
        if attribute.kind in (Attribute.Kind.NUMBER, Attribute.Kind.DATE):
            narrow = urlencode([(f"{key}_min", value), (f"{key}_max", value)])
        else:
            narrow = urlencode([(key, value)])
        columns.append(Column(value, value, narrow))
    matrix = _matrix(tree, counts, columns, filters, drop_keys=(key, f"{key}_min", f"{key}_max"))
    matrix.attribute = attribute
    return matrix


def _matrix(tree: Tree, counts: dict, columns: list[Column], filters: ReviewFilters, drop_keys=()) -> Matrix:
    most = max((row["excerpts"] for row in counts.values()), default=0)
    base = urlencode([(k, v) for k, v in filters.params() if k not in drop_keys])
    queries = [(base + "&" if base else "") + column.query + "&subthemes=1" for column in columns]
    rows = []
    for code in tree.codes:
        cells = []
        for column, query in zip(columns, queries):
            row = counts.get((code.pk, column.key))
            n = row["excerpts"] if row else 0
            cells.append({"n": n, "people": row.get("participants", 0) if row else 0, "heat": heat_class(n, most), "query": query})
        rows.append((code, cells))
    return Matrix(rows=rows, columns=columns)


# Co-occurrence and AND / NOT ------------------------------------------------------------------------


def _overlapping(project: Project, filters: ReviewFilters, code_ids: list[int] | None = None, *, ids: bool = False) -> list[tuple]:
    """The pairs of applications whose excerpts are the same or share at least one character of one
    transcript, both passing the filters; one query.

    Rows are (code of X, code of Y, same excerpt, count) for two different codes, or with `ids`
    (code of X, code of Y, same excerpt, X, Y) for any two codes. Each pair of distinct excerpts
    comes once, from the one that starts first (the lower id when they start together), so the
    search for Y is a range of the (transcript, start) index: Y starts in [X.start, X.end). An
    excerpt paired with itself comes once per ordered pair of its codes.
    """
    applications = filters.application_queryset(project)
    if code_ids is not None:
        applications = applications.filter(code_id__in=code_ids)
    side, params = (
        applications.values(
            p_excerpt=F("excerpt_id"), p_code=F("code_id"), p_transcript=F("excerpt__transcript_id"),
            p_start=F("excerpt__start"), p_end=F("excerpt__end"),
        )
        .order_by()
        .query.sql_with_params()
    )
    same = "CASE WHEN x.p_excerpt = y.p_excerpt THEN 1 ELSE 0 END"
    if ids:
        select, group, other = f"x.p_code, y.p_code, {same}, x.p_excerpt, y.p_excerpt", "", ""
    else:
        # A code never co-occurs with itself: leaving those pairs out (every application with
        # itself among them) halves the rows to group.
        select, group = f"x.p_code, y.p_code, {same}, COUNT(*)", f" GROUP BY x.p_code, y.p_code, {same}"
        other = " AND y.p_code <> x.p_code"
    sql = (
        f"SELECT {select} FROM ({side}) x INNER JOIN ({side}) y"
        " ON y.p_transcript = x.p_transcript AND y.p_start >= x.p_start AND y.p_start < x.p_end"
        f" AND (y.p_start > x.p_start OR y.p_excerpt >= x.p_excerpt){other}" + group
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *params])
        return cursor.fetchall()


@dataclass
class Cooccurrence:
    codes: list[Code]
    cells: list[list[dict]]  # row per code; a cell has n, heat and the other code
    most: int


def cooccurrence_counts(project: Project, filters: ReviewFilters) -> dict[tuple[int, int], int]:
    """(code A, code B) -> how many (excerpt coded A, excerpt coded B) pairs share text, A != B."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for x_code, y_code, same, n in _overlapping(project, filters):
        if x_code == y_code:
            continue
        counts[(x_code, y_code)] += n
        if not same:
            counts[(y_code, x_code)] += n
    return dict(counts)


def cooccurrence(project: Project, filters: ReviewFilters, tree: Tree) -> Cooccurrence:
    """Pair counts for every two codes (one query); the diagonal is left empty."""
    counts = cooccurrence_counts(project, filters)
    most = max(counts.values(), default=0)
    cells = []
    for a in tree.codes:
        cells.append(
            [
                {"row": a, "other": b, "n": counts.get((a.pk, b.pk), 0), "heat": heat_class(counts.get((a.pk, b.pk), 0), most),
                 "same": a.pk == b.pk}
                for b in tree.codes
            ]
        )
    return Cooccurrence(codes=tree.codes, cells=cells, most=most)


@dataclass
class SharedPassage:
    a: Quote  # coded A
    b: Quote  # coded B
    shared: str
    line: int
    same: bool


def shared_passages(project: Project, filters: ReviewFilters, a: Code, b: Code) -> list[SharedPassage]:
    """The pairs behind one co-occurrence cell, with the text they share (two queries)."""
    rows = []
    for x_code, y_code, same, x_id, y_id in _overlapping(project, filters, [a.pk, b.pk], ids=True):
        if x_code == a.pk and y_code == b.pk:
            rows.append((x_id, y_id))
        if x_code == b.pk and y_code == a.pk and not same:
            rows.append((y_id, x_id))
    ids = {pk for pair in rows for pk in pair}
    excerpts = {quote.pk: quote for quote in load_quotes(Excerpt.objects.filter(pk__in=ids), None)} if ids else {}
    passages = []
    for x_id, y_id in rows:
        x, y = excerpts[x_id], excerpts[y_id]
        start, end = max(x.start, y.start), min(x.end, y.end)
        passages.append(
            SharedPassage(
                a=x,
                b=y,
                shared=x.quote[start - x.start : end - x.start],
                line=x.line if x.start >= y.start else y.line,
                same=x_id == y_id,
            )
        )
    passages.sort(key=lambda p: (p.a.transcript_title, p.a.transcript_id, p.a.start, p.b.start))
    return passages


def coded_a_and_b(
    project: Project, filters: ReviewFilters, tree: Tree, a: Code, b: Code, *, negate: bool, subthemes: bool
) -> list[Quote]:
    """Excerpts coded A that carry or overlap B ("A AND B"), or that do neither ("A NOT B")."""
    a_ids = tree.subtree(a.pk) if subthemes else [a.pk]
    b_ids = tree.subtree(b.pk) if subthemes else [b.pk]
    excerpts = filters.excerpt_queryset(project)
    touches_b = Exists(
        CodeApplication.objects.filter(
            code_id__in=b_ids,
            excerpt__in=excerpts.values("pk"),
            excerpt__transcript_id=OuterRef("transcript_id"),
            excerpt__start__lt=OuterRef("end"),
            excerpt__end__gt=OuterRef("start"),
        )
    )
    found = excerpts.filter(Exists(CodeApplication.objects.filter(excerpt_id=OuterRef("pk"), code_id__in=a_ids)))
    found = found.exclude(touches_b) if negate else found.filter(touches_b)
    return load_quotes(found, tree)


# Full-text search ------------------------------------------------------------------------------

MAX_HITS = 1000


@dataclass
class Hit:
    transcript: Transcript
    start: int
    end: int
    before: str
    match: str
    after: str
    line: int
    coded: bool = False  # already coded with the chosen code by the user

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.transcript.pk, self.start, self.end)


def search_pattern(query: str, *, whole_words: bool) -> re.Pattern | None:
    """The words of `query` in sequence, any whitespace between them, case-insensitive.

    With whole_words, a hit may not start or end inside a word ("care" finds "self-care" but
    not "careful"); without, any substring matches.
    """
    words = query.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    if whole_words:
        body = r"(?<!\w)" + body + r"(?!\w)"
    return re.compile(body, re.IGNORECASE)


def _preselect(transcripts: QuerySet, query: str, whole_words: bool) -> QuerySet:
    """On PostgreSQL, only transcripts whose stored full-text vector has every word (0009).

    The 'simple' configuration does not stem, so every whole-word hit found in Python is in a
    transcript this keeps. Substring search and queries without word characters scan everything.
    """
    if connection.vendor != "postgresql" or not whole_words or not re.search(r"\w", query):
        return transcripts
    return transcripts.filter(
        RawSQL(
            "transcripts_transcript.search_vector @@ plainto_tsquery('simple'::regconfig, %s)",
            [query],
            output_field=BooleanField(),
        )
    )


def search(
    project: Project, filters: ReviewFilters, query: str, *, whole_words: bool = True, width: int = 60
) -> list[Hit]:
    """Keyword-in-context hits in the transcripts the filters leave, in transcript order (two queries).

    With "leave out interviewer turns", hits inside an interviewer turn are dropped.
    """
    pattern = search_pattern(query, whole_words=whole_words)
    if pattern is None:
        return []
    interviewer: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if filters.no_interviewer:
        for transcript_id, start, end in SpeakerTurn.objects.filter(
            transcript__in=filters.transcript_queryset(project).values("pk"), role=SpeakerTurn.Role.INTERVIEWER
        ).values_list("transcript_id", "start", "end"):
            interviewer[transcript_id].append((start, end))
    # Read a few texts at a time and stop once there are more hits than a page shows: a common
    # word across a thousand transcripts costs the first few texts, not all of them.
    transcripts = (
        _preselect(filters.transcript_queryset(project), query, whole_words)
        .select_related("participant")
        .order_by("title", "pk")
        .iterator(chunk_size=20)
    )
    hits: list[Hit] = []
    for transcript in transcripts:
        text = transcript.text
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s <= start and end <= e for s, e in interviewer.get(transcript.pk, ())):
                continue
            hits.append(
                Hit(
                    transcript=transcript,
                    start=start,
                    end=end,
                    before=text[max(0, start - width) : start],
                    match=text[start:end],
                    after=text[end : end + width],
                    line=spans.line_at(transcript.line_breaks, start),
                )
            )
            if len(hits) > MAX_HITS:
                return hits
    return hits


def mark_coded(hits: list[Hit], code: Code, user) -> None:
    """Set `.coded` on hits the user already coded with `code` at exactly that span (one query)."""
    if not hits:
        return
    done = set(
        Excerpt.objects.filter(
            transcript_id__in={hit.transcript.pk for hit in hits}, coder=user, applications__code=code
        ).values_list("transcript_id", "start", "end")
    )
    for hit in hits:
        hit.coded = hit.key in done


def hits_digest(hits: list[Hit]) -> str:
    """Names a preview: applying is refused when the hits changed since the user saw them."""
    payload = ";".join(f"{t}:{s}:{e}" for t, s, e in (hit.key for hit in hits))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
