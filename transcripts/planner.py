"""SQLite's planner statistics, gathered when the coding has grown enough to need them.

PostgreSQL gathers its own (autovacuum's ANALYZE). SQLite keeps none until ANALYZE runs, and
without them it plans a filtered review count from the codes down, through every code
application, instead of from the ten participants asked for: 26 s against 0.04 s on the
institution study of bench/generate.py (bench/README.md). A sampled ANALYZE
(`PRAGMA analysis_limit`) took 58 ms there and gave the same plan as a full one.

Each new SQLite connection (a worker opens one a minute at most, settings.CONN_MAX_AGE) reads
the largest row id of the tables that grow with a study and compares it with the row count the
statistics were gathered at; when a table of some size has none yet, or has doubled or halved
since, the statistics are gathered again, for every table, before the connection serves.
"""

from __future__ import annotations

import logging

from django.db import OperationalError

logger = logging.getLogger(__name__)

# The tables that grow with a study; the review's and the coding page's plans hinge on them.
GROWING = (
    "transcripts_codeapplication",
    "transcripts_excerpt",
    "transcripts_transcript",
    "transcripts_speakerturn",
    "transcripts_auditevent",
)
SMALL = 200  # rows: below this any plan is quick, and statistics would soon be out of date
SAMPLE = 1000  # rows read per index (PRAGMA analysis_limit)


def _known_rows(cursor) -> dict[str, int]:
    """Each table's row count when its statistics were gathered (sqlite_stat1), if ever."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    if cursor.fetchone() is None:
        return {}
    cursor.execute(
        "SELECT tbl, MAX(CAST(substr(stat, 1, instr(stat || ' ', ' ') - 1) AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl"
    )
    return dict(cursor.fetchall())


def stale_tables(cursor) -> list[str]:
    """The growing tables whose statistics are missing or far from their size now."""
    known = _known_rows(cursor)
    stale = []
    for table in GROWING:
        cursor.execute(f'SELECT MAX(rowid) FROM "{table}"')  # the index's last entry: no scan
        rows = cursor.fetchone()[0] or 0
        then = known.get(table)
        if rows >= SMALL and (then is None or rows > 2 * then or rows < then / 2):
            stale.append(table)
    return stale


def refresh(connection, *, force: bool = False) -> bool:
    """Gather SQLite's statistics if the growing tables need them (always with `force`); whether
    they were gathered. A busy database is left for the next connection to try."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        try:
            if not force and not stale_tables(cursor):
                return False
            cursor.execute(f"PRAGMA analysis_limit = {SAMPLE}")
            cursor.execute("ANALYZE")
        except OperationalError as error:  # locked by a long write: the next connection tries again
            logger.info("planner statistics not gathered now: %s", error)
            return False
    return True


def on_connection(sender, connection, **kwargs) -> None:
    """connection_created: a new SQLite connection first makes sure the statistics are fresh."""
    refresh(connection)
