"""A database trigger that refuses to change a transcript's text once it has excerpts.

The model refuses it too, with a friendlier message; the trigger holds for every other way
of writing to the database (QuerySet.update, the shell, raw SQL).
"""

from django.db import migrations

SQLITE_UP = """
CREATE TRIGGER transcript_text_fixed_once_coded
BEFORE UPDATE OF text ON transcripts_transcript
FOR EACH ROW
WHEN NEW.text <> OLD.text AND EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'transcript text is fixed once it has excerpts');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS transcript_text_fixed_once_coded;"

POSTGRES_UP = """
CREATE FUNCTION transcript_text_fixed_once_coded() RETURNS trigger AS $$
BEGIN
    IF NEW.text IS DISTINCT FROM OLD.text
       AND EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = OLD.id) THEN
        RAISE EXCEPTION 'transcript text is fixed once it has excerpts' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER transcript_text_fixed_once_coded
BEFORE UPDATE OF text ON transcripts_transcript
FOR EACH ROW EXECUTE FUNCTION transcript_text_fixed_once_coded();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS transcript_text_fixed_once_coded ON transcripts_transcript;
DROP FUNCTION IF EXISTS transcript_text_fixed_once_coded();
"""

SQL = {"sqlite": (SQLITE_UP, SQLITE_DOWN), "postgresql": (POSTGRES_UP, POSTGRES_DOWN)}


def _run(schema_editor, which: int) -> None:
    statements = SQL.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"peercoding supports SQLite and PostgreSQL, not {schema_editor.connection.vendor}")
    schema_editor.execute(statements[which])


def forwards(apps, schema_editor) -> None:
    _run(schema_editor, 0)


def backwards(apps, schema_editor) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
