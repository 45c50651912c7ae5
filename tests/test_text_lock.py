"""A coded transcript's text stays fixed however SQL tries to change the row, on both databases."""

from django.db import DatabaseError, connection, transaction

from tests.base import BaseTestCase, make_excerpt, make_transcript
from transcripts.models import Excerpt, Transcript

NEW_TEXT = "Interviewer: Something else entirely.\nP07: Quite."


class TextLockTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.excerpt = make_excerpt(cls.transcript, [cls.code], start=0, end=12)
        cls.uncoded = make_transcript(cls.project, title="Interview 8")

    def assert_refused(self, *statements) -> None:
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        self.transcript.refresh_from_db()
        assert "group chat" in self.transcript.text
        assert Excerpt.objects.get(pk=self.excerpt.pk).transcript_id == self.transcript.pk

    def columns(self) -> str:
        """Every stored column of the transcript table (PostgreSQL's search vector is generated)."""
        with connection.cursor() as cursor:
            described = connection.introspection.get_table_description(cursor, "transcripts_transcript")
        return ", ".join(connection.ops.quote_name(c.name) for c in described if c.name != "search_vector")

    def test_an_update_is_refused(self):
        self.assert_refused(("UPDATE transcripts_transcript SET text = %s WHERE id = %s", [NEW_TEXT, self.transcript.pk]))

    def test_replacing_the_row_with_the_same_id_is_refused(self):
        columns = self.columns()
        chosen = columns.replace('"text"', "%s")
        if connection.vendor == "sqlite":
            sql = f"INSERT OR REPLACE INTO transcripts_transcript ({columns}) SELECT {chosen} FROM transcripts_transcript WHERE id = %s"
        else:
            sql = (
                f"INSERT INTO transcripts_transcript ({columns}) SELECT {chosen} FROM transcripts_transcript WHERE id = %s "
                "ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text"
            )
        self.assert_refused((sql, [NEW_TEXT, self.transcript.pk]))

    def test_deleting_and_inserting_the_row_again_is_refused(self):
        columns = self.columns()
        self.assert_refused(
            (f"CREATE TEMPORARY TABLE saved AS SELECT {columns} FROM transcripts_transcript WHERE id = %s", [self.transcript.pk]),
            ("UPDATE saved SET text = %s", [NEW_TEXT]),
            ("DELETE FROM transcripts_speakerturn WHERE transcript_id = %s", [self.transcript.pk]),
            ("DELETE FROM transcripts_transcript WHERE id = %s", [self.transcript.pk]),
            (f"INSERT INTO transcripts_transcript ({columns}) SELECT {columns} FROM saved", []),
        )

    def test_moving_the_excerpts_away_and_back_is_refused(self):
        move = "UPDATE transcripts_excerpt SET transcript_id = %s WHERE transcript_id = %s"
        self.assert_refused(
            (move, [self.uncoded.pk, self.transcript.pk]),
            ("UPDATE transcripts_transcript SET text = %s WHERE id = %s", [NEW_TEXT, self.transcript.pk]),
            (move, [self.transcript.pk, self.uncoded.pk]),
        )

    def test_renumbering_the_transcript_away_and_back_is_refused(self):
        self.assert_refused(
            ("UPDATE transcripts_transcript SET id = %s WHERE id = %s", [999_999, self.transcript.pk]),
            ("UPDATE transcripts_transcript SET text = %s WHERE id = %s", [NEW_TEXT, 999_999]),
            ("UPDATE transcripts_transcript SET id = %s WHERE id = %s", [self.transcript.pk, 999_999]),
        )

    def test_uncoded_text_and_other_columns_of_coded_transcripts_still_change(self):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_transcript SET text = %s WHERE id = %s", [NEW_TEXT, self.uncoded.pk])
            cursor.execute("UPDATE transcripts_transcript SET title = %s WHERE id = %s", ["Renamed", self.transcript.pk])
        assert Transcript.objects.get(pk=self.uncoded.pk).text == NEW_TEXT
        assert Transcript.objects.get(pk=self.transcript.pk).title == "Renamed"
