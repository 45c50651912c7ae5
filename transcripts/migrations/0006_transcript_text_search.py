"""A full-text index over transcript text for the review search, on PostgreSQL only.

The index expression is exactly the one transcripts.review._preselect filters on, so the
planner can use it. SQLite has no such index; the search scans the text there instead.
"""

from django.db import migrations

POSTGRES_UP = (
    "CREATE INDEX IF NOT EXISTS transcript_text_search ON transcripts_transcript "
    "USING GIN (to_tsvector('simple'::regconfig, text));"
)
POSTGRES_DOWN = "DROP INDEX IF EXISTS transcript_text_search;"


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0005_teamwork")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
