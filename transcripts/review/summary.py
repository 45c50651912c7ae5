"""The theme summary: distinct counts per code, own and rolled up over its subthemes.

A theme's figures roll up its subthemes: distinct excerpts, transcripts, participants and
coders over every application of the theme or any code below it, so a participant coded
under two subthemes counts once for the theme.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When

from ..models import Code, Project
from .filters import ReviewFilters, Tree

MEASURES = ("excerpts", "transcripts", "participants", "coders")


def _measures(prefix: str = "excerpt__") -> dict:
    return {
        "excerpts": Count(f"{prefix}id", distinct=True),
        "transcripts": Count(f"{prefix}transcript_id", distinct=True),
        "participants": Count(f"{prefix}transcript__participant_id", distinct=True),
        "coders": Count(f"{prefix}coder_id", distinct=True),
    }


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


def counts_by_code(
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
    """counts_by_code on PostgreSQL: the same figures from one pass over the applications.

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
    bar: str = "w-0"  # its participants as a share of those in scope, as a width class
    url: str = ""  # its quotes, set by the view; "1" or "0" (with subthemes or not) goes last


SORT_KEYS = ("codebook", "name", *MEASURES)


def theme_summary(project: Project, filters: ReviewFilters, tree: Tree, *, out_of: int = 0) -> list[ThemeRow]:
    """Every code in codebook order with its own and rolled-up counts (one query).

    Each row's bar is its participants as a share of `out_of` (the participants in scope), so a
    bar labelled "6 of 20" fills 30% of its track; without `out_of` the bars stay empty.
    """
    if not tree.codes:
        return []
    own, total = counts_by_code(filters.application_queryset(project), tree)
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
    for row in rows:
        row.bar = width_class(row.total.participants, out_of)
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
    """`value` as a share of `most`, as one of the classes w-0, w-2 ... w-100 (no inline styles
    under our CSP); anything above nothing shows at least w-2."""
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
