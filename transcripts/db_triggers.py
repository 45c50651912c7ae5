"""The database triggers that keep a coded transcript's text fixed, kept in place across migrations.

A transcript's text must not change while excerpts quote it, whatever SQL is used: so the
triggers refuse
- an UPDATE of a coded transcript's text or id (renumbering it away, changing the text and
  renumbering it back would otherwise slip through);
- an INSERT of a transcript whose id excerpts already point at: that is how SQLite's
  `INSERT OR REPLACE`, and a DELETE followed by an INSERT with the same id (possible because
  foreign keys are checked at commit), would put new text under existing excerpts;
- an UPDATE that moves an excerpt to another transcript (move away, change, move back).

SQLite rebuilds a table to alter it, and a rebuild of transcripts_transcript or
transcripts_excerpt would drop the triggers or trip over them. So they are dropped before every
`migrate` (pre_migrate) and created again after it (post_migrate); migration 0002 made the
first one.
"""

from django.db import connections

SQLITE_NAMES = ["transcript_text_fixed_once_coded", "transcript_insert_under_excerpts", "excerpt_stays_in_transcript"]
SQLITE_CREATE = [
    """
CREATE TRIGGER IF NOT EXISTS transcript_text_fixed_once_coded
BEFORE UPDATE OF text, id ON transcripts_transcript
FOR EACH ROW
WHEN (NEW.text IS NOT OLD.text OR NEW.id IS NOT OLD.id)
     AND EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'transcript text is fixed once it has excerpts');
END;
""",
    """
CREATE TRIGGER IF NOT EXISTS transcript_insert_under_excerpts
BEFORE INSERT ON transcripts_transcript
FOR EACH ROW
WHEN EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'transcript text is fixed once it has excerpts');
END;
""",
    """
CREATE TRIGGER IF NOT EXISTS excerpt_stays_in_transcript
BEFORE UPDATE OF transcript_id ON transcripts_excerpt
FOR EACH ROW
WHEN NEW.transcript_id IS NOT OLD.transcript_id
BEGIN
    SELECT RAISE(ABORT, 'an excerpt cannot move to another transcript');
END;
""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_NAMES]

POSTGRES_CREATE = [
    """
CREATE OR REPLACE FUNCTION transcript_text_fixed_once_coded() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = NEW.id) THEN
            RAISE EXCEPTION 'transcript text is fixed once it has excerpts' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSIF (NEW.text IS DISTINCT FROM OLD.text OR NEW.id IS DISTINCT FROM OLD.id)
       AND EXISTS (SELECT 1 FROM transcripts_excerpt WHERE transcript_id = OLD.id) THEN
        RAISE EXCEPTION 'transcript text is fixed once it has excerpts' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE OR REPLACE FUNCTION excerpt_stays_in_transcript() RETURNS trigger AS $$
BEGIN
    IF NEW.transcript_id IS DISTINCT FROM OLD.transcript_id THEN
        RAISE EXCEPTION 'an excerpt cannot move to another transcript' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    "DROP TRIGGER IF EXISTS transcript_text_fixed_once_coded ON transcripts_transcript;",
    """
CREATE TRIGGER transcript_text_fixed_once_coded
BEFORE INSERT OR UPDATE OF text, id ON transcripts_transcript
FOR EACH ROW EXECUTE FUNCTION transcript_text_fixed_once_coded();
""",
    "DROP TRIGGER IF EXISTS excerpt_stays_in_transcript ON transcripts_excerpt;",
    """
CREATE TRIGGER excerpt_stays_in_transcript
BEFORE UPDATE OF transcript_id ON transcripts_excerpt
FOR EACH ROW EXECUTE FUNCTION excerpt_stays_in_transcript();
""",
]


def _tables(connection) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def drop_before_migrate(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for statement in SQLITE_DROP:
                cursor.execute(statement)


def create_after_migrate(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if not {"transcripts_transcript", "transcripts_excerpt"} <= _tables(connection):
        return  # migrated backwards past the tables: nothing to guard
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_CREATE:
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for statement in POSTGRES_CREATE:
                cursor.execute(statement)
