"""Store each transcript's full-text vector on PostgreSQL, and index that instead of an expression.

With the expression index, a phrase found in most transcripts led the planner to a sequential
scan that computed to_tsvector over every text for each search (4.4 s over 1,000 transcripts).
A stored generated column is computed once, when the text is written, and reading it back is
cheap whichever plan runs. transcripts.review._preselect filters on this column; SQLite has no
such column and the search scans the text there.

The column is generated from `text`: PostgreSQL refuses to change that column's type while it
exists, so a migration that ever does must drop and re-create it around the change.
"""

from django.db import migrations

POSTGRES_UP = [
    "ALTER TABLE transcripts_transcript ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, text)) STORED;",
    "CREATE INDEX IF NOT EXISTS transcript_search_vector ON transcripts_transcript USING GIN (search_vector);",
    "DROP INDEX IF EXISTS transcript_text_search;",
]
POSTGRES_DOWN = [
    "CREATE INDEX IF NOT EXISTS transcript_text_search ON transcripts_transcript "
    "USING GIN (to_tsvector('simple'::regconfig, text));",
    "DROP INDEX IF EXISTS transcript_search_vector;",
    "ALTER TABLE transcripts_transcript DROP COLUMN IF EXISTS search_vector;",
]


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0008_transcript_line_breaks")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
