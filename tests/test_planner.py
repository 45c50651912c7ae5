"""SQLite gathers planner statistics once a study's tables have grown (transcripts/planner.py)."""

from __future__ import annotations

import unittest

from django.db import connection
from django.test import TestCase

from tests.base import make_code, make_project, make_transcript, make_user
from transcripts import planner
from transcripts.models import CodeApplication, Excerpt, Participant, Transcript


def stats_rows(table: str) -> int | None:
    with connection.cursor() as cursor:
        return planner._known_rows(cursor).get(table)


@unittest.skipUnless(connection.vendor == "sqlite", "PostgreSQL's autovacuum gathers its own statistics")
class PlannerStatisticsTests(TestCase):
    def setUp(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone():
                cursor.execute("DELETE FROM sqlite_stat1")  # each test starts with none gathered
        self.lead = make_user("lead")
        self.project = make_project(self.lead)
        self.codes = [make_code(self.project, name=f"Code {n}") for n in range(20)]
        self.transcript = make_transcript(self.project, text="word " * 2000)

    def code_excerpts(self, n: int) -> None:
        first = Excerpt.objects.count()
        excerpts = Excerpt.objects.bulk_create(
            Excerpt(transcript=self.transcript, start=i, end=i + 4, quote=self.transcript.text[i : i + 4], coder=self.lead)
            for i in range(first * 5, (first + n) * 5, 5)
        )
        CodeApplication.objects.bulk_create(
            CodeApplication(excerpt=excerpt, code=self.codes[i % 20], applied_by=self.lead) for i, excerpt in enumerate(excerpts)
        )

    def test_a_small_study_needs_none(self):
        self.code_excerpts(20)
        assert planner.refresh(connection) is False
        assert stats_rows("transcripts_codeapplication") is None

    def test_gathered_once_the_coding_has_grown_and_again_when_it_has_doubled(self):
        self.code_excerpts(300)
        assert planner.refresh(connection) is True
        assert stats_rows("transcripts_codeapplication") == 300
        # Fresh enough: a new connection pays only the look.
        self.code_excerpts(200)
        assert planner.refresh(connection) is False
        assert stats_rows("transcripts_codeapplication") == 300
        self.code_excerpts(200)  # 700 rows, more than twice 300
        assert planner.refresh(connection) is True
        assert stats_rows("transcripts_codeapplication") == 700

    def test_a_new_connection_looks(self):
        self.code_excerpts(300)
        calls = []
        real = planner.refresh
        planner.refresh = lambda conn, **kw: calls.append(conn.vendor) or real(conn, **kw)
        try:
            planner.on_connection(sender=None, connection=connection)
        finally:
            planner.refresh = real
        assert calls == ["sqlite"]
        assert stats_rows("transcripts_codeapplication") == 300

    def test_with_statistics_a_participant_filter_starts_from_the_participants(self):
        """The plan that took 26 s without statistics at institution scale: codes first."""
        people = [Participant.objects.create(project=self.project, label=f"P{n:03}") for n in range(40)]
        texts = Transcript.objects.bulk_create(
            Transcript(project=self.project, title=f"T{n}", text="word " * 50, participant=people[n % 40])
            for n in range(400)
        )
        excerpts = Excerpt.objects.bulk_create(
            Excerpt(transcript=t, start=i * 5, end=i * 5 + 4, quote="word", coder=self.lead) for t in texts for i in range(5)
        )
        CodeApplication.objects.bulk_create(
            CodeApplication(excerpt=e, code=self.codes[i % 20], applied_by=self.lead) for i, e in enumerate(excerpts)
        )
        query = CodeApplication.objects.filter(
            excerpt__transcript__participant_id__in=[people[0].pk, people[1].pk], code__project=self.project
        ).values_list("code_id")
        sql, params = query.query.sql_with_params()
        assert planner.refresh(connection) is True
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            steps = [row[-1] for row in cursor.fetchall()]
        assert "transcripts_transcript" in steps[0] and "participant" in steps[0], steps
