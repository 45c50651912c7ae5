"""Matrices (code × participant, code × attribute value), co-occurrence, and A AND / NOT B.

- Two codes co-occur when they are applied to the same excerpt, or to two excerpts of the same
  transcript that share at least one character (a.start < b.end and b.start < a.end). The count
  for (A, B) is the number of such (excerpt coded A, excerpt coded B) pairs; an excerpt that
  carries both codes is one pair.
- "A AND B" lists the excerpts coded A that carry B or share at least one character with an
  excerpt coded B; "A NOT B" lists the excerpts coded A that do neither. With "include
  subthemes", A and B each stand for the code and every code below it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Exists, F, OuterRef, Subquery

from ..models import (
    Attribute,
    AttributeValue,
    Code,
    CodeApplication,
    CodeTally,
    CountsReady,
    Excerpt,
    Participant,
    Project,
)
from .filters import FilterOptions, ReviewFilters, Tree
from .quotes import Quote, load_quotes
from .summary import counts_by_code, heat_class, kept_counts

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
    those participants' applications are counted. Heat is relative to the page shown. Without
    filters, both come from the counts actions/counts.py keeps, when it keeps the project's.
    """
    kept = _participants_kept(project) if tree.codes and kept_counts(filters) else None
    if kept is not None:
        present = kept
    else:
        present = _participants_coded(project, filters) if tree.codes else set()
    every = [p for p in options.participants if p.pk in present]
    pages = max(1, -(-len(every) // per_page)) if per_page else 1
    page = min(max(page, 1), pages)
    shown = every[(page - 1) * per_page : page * per_page] if per_page else every
    counts = {}
    if shown and kept is not None:
        counts = {
            (code_id, key): {"excerpts": n}
            for code_id, key, n in CodeTally.objects.filter(
                project=project, subthemes=True, kind=CodeTally.Kind.PARTICIPANT, key__in=[p.pk for p in shown]
            ).values_list("code_id", "key", "n")
        }
    elif shown:
        applications = filters.application_queryset(project)
        if per_page and len(shown) < len(every):
            # By transcript, which the (transcript, start) index finds, rather than by participant.
            wanted = {p.pk for p in shown}
            transcripts = [t.pk for t in options.transcripts if t.participant_id in wanted]
            applications = applications.filter(excerpt__transcript_id__in=transcripts)
        by = ("excerpt__transcript__participant_id",)
        counts = counts_by_code(applications, tree, by=by, measures=("excerpts",))[1]
    columns = [Column(p.pk, p.label, urlencode([("participant", p.pk)])) for p in shown]
    matrix = _matrix(tree, counts, columns, filters, drop_keys=("participant",))
    matrix.page, matrix.pages, matrix.n_columns = page, pages, len(every)
    matrix.first = (page - 1) * per_page + 1 if per_page and shown else (1 if shown else 0)
    return matrix


def _participants_kept(project: Project) -> set[int] | None:
    """The ids of participants with at least one excerpt, from the kept counts (one query); None
    when the project's counts are not kept. Participant ids are positive: -1 says they are."""
    tally = CodeTally._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM {Participant._meta.db_table} p WHERE p.project_id = %s AND EXISTS ("
            f"SELECT 1 FROM {tally} t WHERE t.project_id = p.project_id AND t.kind = %s AND t.{connection.ops.quote_name('key')} = p.id AND t.n > 0)"
            f" UNION ALL SELECT -1 FROM {CountsReady._meta.db_table} WHERE project_id = %s",
            [project.pk, CodeTally.Kind.PARTICIPANT, project.pk],
        )
        found = {pk for (pk,) in cursor.fetchall()}
    return found - {-1} if -1 in found else None


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
    counts = counts_by_code(applications, tree, by=("attribute_value",), measures=("excerpts", "participants"))[1] if tree.codes else {}
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
    counts: dict[tuple[int, int], int]  # (code A, code B) -> pairs; absent when none
    most: int

    def rows(self) -> Iterator[tuple[Code, list[dict]]]:
        """Each code with its row of cells (n, heat, the row's code, the other code, whether the same),
        made one row at a time: 200 codes make 40,000 cells, too many to hold at once in a worker."""
        codes = [(code, code.pk) for code in self.codes]
        heat = {0: heat_class(0, self.most)}  # one heat class per distinct count
        for a, a_pk in codes:
            row = []
            for b, b_pk in codes:
                n = self.counts.get((a_pk, b_pk), 0)
                if n not in heat:
                    heat[n] = heat_class(n, self.most)
                row.append({"row": a, "other": b, "n": n, "heat": heat[n], "same": a_pk == b_pk})
            yield a, row

    @property
    def cells(self) -> list[list[dict]]:
        """Every row of cells at once, for a small codebook."""
        return [row for _, row in self.rows()]


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


def kept_pairs(project: Project) -> dict[tuple[int, int], int] | None:
    """cooccurrence_counts for the whole project, as actions/counts.py keeps them (one query); None
    when the project's counts are not kept."""
    ready, tally = CountsReady._meta.db_table, CodeTally._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.code_id, p.{connection.ops.quote_name('key')}, p.n FROM {ready} r LEFT JOIN {tally} p"
            " ON p.project_id = r.project_id AND p.kind = %s WHERE r.project_id = %s",
            [CodeTally.Kind.PAIR, project.pk],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    counts = {}
    for low, high, n in rows:
        if low is not None:
            counts[(low, high)] = counts[(high, low)] = n
    return counts


def cooccurrence(project: Project, filters: ReviewFilters, tree: Tree) -> Cooccurrence:
    """Pair counts for every two codes (one query): the kept counts when they answer the filters,
    else counted from the coding. The diagonal is left empty."""
    counts = kept_pairs(project) if kept_counts(filters) else None
    if counts is None:
        counts = cooccurrence_counts(project, filters)
    return Cooccurrence(codes=tree.codes, counts=counts, most=max(counts.values(), default=0))


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
