"""What every review page starts from: the filter form's options, the filters read from a query
string and turned into conditions on excerpts, and the codebook as a tree.

- "Leave out interviewer turns" drops an excerpt that lies entirely inside one interviewer
  turn: some turn with role "interviewer" has turn.start <= excerpt.start and
  excerpt.end <= turn.end. An excerpt that reaches into a participant's turn stays.
- "Date coded" is the day the excerpt was created, in the site's time zone.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..access import parse_id
from ..models import (
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
                pairs.append((f"{key}_min", query_value(self.low)))
            if self.high is not None:
                pairs.append((f"{key}_max", query_value(self.high)))
            return pairs
        return [(key, value) for value in self.values]


def query_value(value: Decimal | datetime.date) -> str:
    """A number or date bound as the query string, the filter form and the reports write it."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value.isoformat()


def _ids(raw: list[str], allowed: set[int]) -> tuple[int, ...]:
    """The ids that name objects of this project; anything else is ignored."""
    ids = []
    for item in raw:
        if (pk := parse_id(item)) in allowed and pk not in ids:
            ids.append(pk)
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
