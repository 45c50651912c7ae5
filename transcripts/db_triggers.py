"""The database trigger that keeps a coded transcript's text fixed, kept in place across migrations.

SQLite rebuilds a table to alter it, and a rebuild of transcripts_transcript or
transcripts_excerpt would drop the trigger or trip over it. So the trigger is dropped before
every `migrate` (pre_migrate) and created again after it (post_migrate); migration 0002 made the
first one.
"""

from django.db import connections

SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS transcript_text_fixed_once_coded
BEFORE UPDATE OF text ON transcripts_transcript
FOR EACH ROW
WHEN NEW.text <> OLD.text AND EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'transcript text is fixed once it has excerpts');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS transcript_text_fixed_once_coded;"

POSTGRES_CREATE = [
    """
CREATE OR REPLACE FUNCTION transcript_text_fixed_once_coded() RETURNS trigger AS $$
BEGIN
    IF NEW.text IS DISTINCT FROM OLD.text
       AND EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = OLD.id) THEN
        RAISE EXCEPTION 'transcript text is fixed once it has excerpts' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    "DROP TRIGGER IF EXISTS transcript_text_fixed_once_coded ON transcripts_transcript;",
    """
CREATE TRIGGER transcript_text_fixed_once_coded
BEFORE UPDATE OF text ON transcripts_transcript
FOR EACH ROW EXECUTE FUNCTION transcript_text_fixed_once_coded();
""",
]


def _tables(connection) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def drop_before_migrate(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(SQLITE_DROP)


def create_after_migrate(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if not {"transcripts_transcript", "transcripts_excerpt"} <= _tables(connection):
        return  # migrated backwards past the tables: nothing to guard
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(SQLITE_CREATE)
        elif connection.vendor == "postgresql":
            for statement in POSTGRES_CREATE:
                cursor.execute(statement)
