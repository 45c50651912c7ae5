"""The review counts (models/counts.py) kept exact in the transaction of every write to coding.

A write names the excerpts it changes, creates or deletes, and runs inside `changing()`:

    with counts.changing(project_id, [excerpt.pk]) as changed:
        ...  # change the excerpt; append the ids of excerpts created

What those excerpts contribute to the counts is read before the change and again after it, and
the difference is added to the stored rows. Excerpts outside the list keep their spans and codes,
so what they contribute is the same before and after; that is what makes the difference exact.
An excerpt contributes one to each of its codes (own), one to each code at or above them
(with subthemes), by its transcript, participant and coder; and one to every pair of different
codes it shares text with, on itself or on an overlapping excerpt (review/matrices.py).

Writes are serialized per database by the audit trail's lock, taken here before the first read,
so two writes never miss each other's excerpts (PostgreSQL; SQLite writes one at a time).
`recount()` rebuilds a project's counts from scratch, for bulk loads and for projects made
before the counts existed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from .. import audit
from ..models import Code, CodeApplication, CodeTally, CountsReady, Excerpt, Project, ThemeTotal, Transcript
from ..review import ReviewFilters, cooccurrence_counts

TALLY = CodeTally._meta.db_table
TOTAL = ThemeTotal._meta.db_table
READY = CountsReady._meta.db_table
APPLICATION = CodeApplication._meta.db_table
EXCERPT = Excerpt._meta.db_table
TRANSCRIPT = Transcript._meta.db_table
CODE = Code._meta.db_table
KINDS = ("t", "p", "c")  # CodeTally.Kind: transcript, participant, coder (and "x", pairs)


@dataclass
class Contribution:
    """What a set of excerpts adds to the counts, and the project's codes when it was read."""

    tallies: Counter = field(default_factory=Counter)  # (code, subthemes, kind, key) -> excerpts or pairs
    codes: set[int] = field(default_factory=set)


def lock(project_id: int) -> bool:
    """Take the audit trail's lock until the transaction ends; whether the project's counts are kept."""
    ready = f"EXISTS (SELECT 1 FROM {READY} WHERE project_id = %s)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT pg_advisory_xact_lock(%s), {ready}", [audit.CHAIN_LOCK, project_id])
            if cursor.fetchone()[1]:
                return True
            # The statement read what was there before it waited for the lock: a recount may
            # have committed meanwhile, and the counts it made must be kept from here on.
        cursor.execute(f"SELECT {ready}", [project_id])
        return bool(cursor.fetchone()[0])


# Set while a change is being followed: a write made inside another (a merge moves the source's
# subthemes) is counted by the outer one, which names every excerpt the inner ones touch.
following: ContextVar[bool] = ContextVar("following", default=False)


@contextmanager
def changing(
    project_id: int, excerpt_ids: Iterable[int] | Callable[[], Iterable[int]] = (), *, pairs: bool = True
) -> Iterator[list[int]]:
    """Keep the counts exact across a change to these excerpts; the block appends the ids of the
    excerpts it creates to the list it is given. A function for `excerpt_ids` is called under the
    lock, so that no write adds to the set between its reading and the change. `pairs=False` when
    no span or code changes (a code moved in the tree, a transcript given a participant)."""
    if following.get():
        yield []
        return
    kept = lock(project_id)
    ids = list(dict.fromkeys(excerpt_ids() if callable(excerpt_ids) else excerpt_ids))
    before = contribution(project_id, ids, pairs=pairs) if kept and ids else Contribution()
    token = following.set(True)
    try:
        yield ids
    finally:
        following.reset(token)
    if kept and ids:
        apply(project_id, before, contribution(project_id, ids, pairs=pairs))


def excerpts_under(code: Code) -> list[int]:
    """The ids of the excerpts that carry the code or a code below it."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Code.objects.filter(project_id=code.project_id).values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    below, stack = set(), [code.pk]
    while stack:
        current = stack.pop()
        below.add(current)
        stack.extend(pk for pk in children.get(current, []) if pk not in below)
    return list(CodeApplication.objects.filter(code_id__in=below).values_list("excerpt_id", flat=True).distinct())


def _literal_ids(ids: Iterable[int]) -> str:
    """Ids written into the statement (ints only): no limit on bound parameters, and one plan."""
    return ", ".join(str(int(pk)) for pk in ids) or "NULL"


def contribution(project_id: int, excerpt_ids: list[int], *, pairs: bool = True) -> Contribution:
    """What these excerpts add to the counts as they stand, read in one statement with the code tree."""
    ids = _literal_ids(excerpt_ids)
    parts = [
        f"SELECT 'k', c.id, COALESCE(c.parent_id, 0), 0, 0, 0 FROM {CODE} c WHERE c.project_id = {int(project_id)}",
        f"SELECT 'a', a.excerpt_id, a.code_id, e.transcript_id, COALESCE(t.participant_id, 0), e.coder_id"
        f" FROM {APPLICATION} a JOIN {EXCERPT} e ON e.id = a.excerpt_id JOIN {TRANSCRIPT} t ON t.id = e.transcript_id"
        f" WHERE a.excerpt_id IN ({ids})",
    ]
    if pairs:
        # Two excerpts that share text, at least one of them in the list, each pair once.
        parts.append(
            f"SELECT 'x', ax.code_id, ay.code_id, COUNT(*), 0, 0 FROM {EXCERPT} x"
            f" JOIN {EXCERPT} y ON y.transcript_id = x.transcript_id AND y.start < x.\"end\" AND x.start < y.\"end\""
            f" AND y.id <> x.id AND (y.id NOT IN ({ids}) OR x.id < y.id)"
            f" JOIN {APPLICATION} ax ON ax.excerpt_id = x.id JOIN {APPLICATION} ay ON ay.excerpt_id = y.id"
            f" WHERE x.id IN ({ids}) AND ax.code_id <> ay.code_id GROUP BY ax.code_id, ay.code_id"
        )
        parts.append(
            f"SELECT 's', a1.code_id, a2.code_id, COUNT(*), 0, 0 FROM {APPLICATION} a1"
            f" JOIN {APPLICATION} a2 ON a2.excerpt_id = a1.excerpt_id AND a1.code_id < a2.code_id"
            f" WHERE a1.excerpt_id IN ({ids}) GROUP BY a1.code_id, a2.code_id"
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        rows = cursor.fetchall()
    return _arranged(rows)


def _arranged(rows: list[tuple]) -> Contribution:
    found = Contribution()
    parent: dict[int, int] = {}
    excerpts: dict[int, tuple[list[int], int, int, int]] = {}
    for tag, a, b, c, d, e in rows:
        if tag == "k":
            parent[a] = b
            found.codes.add(a)
        elif tag == "a":
            excerpts.setdefault(a, ([], c, d, e))[0].append(b)
        else:
            found.tallies[(min(a, b), False, "x", max(a, b))] += c
    for codes, transcript, participant, coder in excerpts.values():
        keys = [("t", transcript), ("c", coder)] + ([("p", participant)] if participant else [])
        above: set[int] = set()
        for code in codes:
            while code and code not in above:
                above.add(code)
                code = parent.get(code, 0)
        for kind, key in keys:
            found.tallies.update((code, False, kind, key) for code in codes)
            found.tallies.update((code, True, kind, key) for code in above)
    return found


def apply(project_id: int, before: Contribution, after: Contribution) -> None:
    """Add the difference `after` - `before` to the stored counts. Codes deleted meanwhile are left
    out, their rows went with them; a pair row whose other code went falls to zero."""
    tallies = Counter(after.tallies)
    tallies.subtract(before.tallies)
    tallies = {key: n for key, n in tallies.items() if n and key[0] in after.codes}
    if tallies:
        _add_tallies(project_id, tallies)


def _add_tallies(project_id: int, delta: dict[tuple, int]) -> None:
    """Add to CodeTally (one statement, pairs too), then to ThemeTotal what that changed: excerpts,
    and the distinct counts of the rows that came to or left zero. Rows at zero stay (a statement
    fewer per write); a distinct count is the number of rows above zero."""
    keys = sorted(delta)  # one order for every writer: rows are locked in it
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(keys))
    params = [v for key in keys for v in (project_id, *key, delta[key])]
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TALLY} (project_id, code_id, subthemes, kind, {quoted('key')}, n) VALUES {values}"
            f" ON CONFLICT (code_id, subthemes, kind, {quoted('key')}) DO UPDATE SET n = {TALLY}.n + excluded.n"
            f" RETURNING code_id, subthemes, kind, {quoted('key')}, n",
            params,
        )
        stored = cursor.fetchall()
        totals: dict[tuple[int, bool], list[int]] = {}
        for code, subthemes, kind, key, n in stored:
            if kind not in KINDS:
                continue
            change = delta[(code, bool(subthemes), kind, key)]
            row = totals.setdefault((code, bool(subthemes)), [0, 0, 0, 0])
            if kind == "t":
                row[0] += change
            was = n - change
            row[1 + KINDS.index(kind)] += (n > 0) - (was > 0)
        if totals:
            _add_totals(cursor, project_id, totals)


def _add_totals(cursor, project_id: int, totals: dict[tuple[int, bool], list[int]]) -> None:  # noqa: ANN001
    keys = sorted(totals)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(keys))
    params = [v for key in keys for v in (project_id, *key, *totals[key])]
    cursor.execute(
        f"INSERT INTO {TOTAL} (project_id, code_id, subthemes, excerpts, transcripts, participants, coders)"
        f" VALUES {values} ON CONFLICT (code_id, subthemes) DO UPDATE SET"
        f" excerpts = {TOTAL}.excerpts + excluded.excerpts, transcripts = {TOTAL}.transcripts + excluded.transcripts,"
        f" participants = {TOTAL}.participants + excluded.participants, coders = {TOTAL}.coders + excluded.coders",
        params,
    )


# From scratch ------------------------------------------------------------------------------------


def forget(project_ids: Iterable[int]) -> None:
    """Stop reading these projects' kept counts: something changed their coding past the actions
    (the admin site). Their pages count from the coding until recount() runs."""
    CountsReady.objects.filter(project_id__in=list(project_ids)).delete()



def recount(project: Project) -> None:
    """Count the project's coding from scratch into the tables, and from then on keep them.

    Call inside a transaction: writes wait on the lock until it commits."""
    lock(project.pk)
    for table in (TALLY, TOTAL):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
    _recount_tallies(project.pk)
    pairs = cooccurrence_counts(project, ReviewFilters())
    CodeTally.objects.bulk_create(
        (
            CodeTally(project=project, code_id=a, subthemes=False, kind=CodeTally.Kind.PAIR, key=b, n=n)
            for (a, b), n in pairs.items()
            if a < b
        ),
        batch_size=2000,
    )
    CountsReady.objects.update_or_create(project=project)


def recount_uncounted(using: str = "default", **kwargs) -> None:  # noqa: ANN003
    """After migrating: count every project not counted yet (new tables, or coding changed past
    the app), each in its own transaction; until then their pages count from the coding.

    Only once every migration is applied: this is today's code, and an older schema lacks what it reads."""
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    for project in Project.objects.exclude(pk__in=CountsReady.objects.values("project_id")).order_by("pk"):
        with transaction.atomic():
            recount(project)


def _recount_tallies(project_id: int) -> None:
    """CodeTally (but pairs) and ThemeTotal from the applications, grouped in the database (no rows in Python)."""
    parents = dict(Code.objects.filter(project_id=project_id).values_list("pk", "parent_id"))
    above = []
    for code in parents:
        ancestor, seen = code, set()
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            above.append(f"({int(code)}, {int(ancestor)})")
            ancestor = parents.get(ancestor)
    if not above:
        return
    key = connection.ops.quote_name("key")
    for subthemes in (False, True):
        code = "anc.above_id" if subthemes else "a.code_id"
        join = "JOIN anc ON anc.code_id = a.code_id" if subthemes else ""
        for kind, column in (("t", "e.transcript_id"), ("p", "t.participant_id"), ("c", "e.coder_id")):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"WITH anc(code_id, above_id) AS (VALUES {', '.join(above)})"
                    f" INSERT INTO {TALLY} (project_id, code_id, subthemes, kind, {key}, n)"
                    f" SELECT t.project_id, {code}, %s, %s, {column}, COUNT(DISTINCT e.id)"
                    f" FROM {APPLICATION} a {join} JOIN {EXCERPT} e ON e.id = a.excerpt_id"
                    f" JOIN {TRANSCRIPT} t ON t.id = e.transcript_id"
                    f" WHERE t.project_id = %s AND {column} IS NOT NULL GROUP BY t.project_id, {code}, {column}",
                    [subthemes, kind, project_id],
                )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TOTAL} (project_id, code_id, subthemes, excerpts, transcripts, participants, coders)"
            f" SELECT project_id, code_id, subthemes, SUM(CASE WHEN kind = 't' THEN n ELSE 0 END),"
            + ", ".join(f" SUM(CASE WHEN kind = '{kind}' THEN 1 ELSE 0 END)" for kind in KINDS)
            + f" FROM {TALLY} WHERE project_id = %s AND kind <> 'x' GROUP BY project_id, code_id, subthemes",
            [project_id],
        )
