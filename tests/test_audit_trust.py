"""What verify_audit notices: forged records, removed newest records, and restored projects."""

import io
import json
import zipfile

from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import TransactionTestCase, override_settings

from tests.base import BaseTestCase, make_code, make_excerpt, make_project, make_transcript, make_user
from transcripts import actions, audit, backup
from transcripts.models import AuditEvent

GUESSED_KEY = "the forger does not know the key, so guesses one"


def forge(event_id: int, **changes) -> None:
    """Change one record by SQL and recompute its hash and every later one of its chain, as
    someone who has read the code and can write to the database would."""
    victim = AuditEvent.objects.get(pk=event_id)
    later = AuditEvent.objects.filter(pk__gte=event_id)
    chain = [event for event in later.order_by("pk") if not hasattr(victim, "seq") or event.project_id == victim.project_id]
    previous = victim.prev_hash
    with override_settings(AUDIT_KEY=GUESSED_KEY), connection.cursor() as cursor:
        for event in chain:
            for field, value in (changes if event.pk == event_id else {}).items():
                setattr(event, field, value)
            event.prev_hash = previous
            event.hash = event.compute_hash()
            previous = event.hash
            cursor.execute(
                "UPDATE transcripts_auditevent SET actor_name = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [event.actor_name, event.prev_hash, event.hash, event.pk],
            )


class KeyedChainTests(BaseTestCase):
    def code_a_little(self) -> list[int]:
        code = make_code(self.project, name="Hope")
        excerpt = make_excerpt(self.transcript, [code], by=self.bob)
        actions.change_excerpt(excerpt, by=self.bob, expected_version=1, memo="first thoughts")
        actions.change_excerpt(excerpt, by=self.bob, expected_version=2, memo="second thoughts")
        return list(AuditEvent.objects.filter(project_id=self.project.pk).order_by("pk").values_list("pk", flat=True))

    def test_a_forged_record_with_every_later_hash_recomputed_is_detected(self):
        events = self.code_a_little()
        call_command("verify_audit", stdout=io.StringIO())
        forge(events[-3], actor_name="mallory")
        with self.assertRaises(CommandError) as caught:
            call_command("verify_audit", stdout=io.StringIO())
        assert f"event {events[-3]} " in str(caught.exception)

    def test_the_newest_records_removed_by_sql_are_detected(self):
        with self.captureOnCommitCallbacks(execute=True):
            events = self.code_a_little()
        out = io.StringIO()
        call_command("verify_audit", stdout=out)
        assert "intact" in out.getvalue()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM transcripts_auditevent WHERE id IN (%s, %s)", events[-2:])
        with self.assertRaises(CommandError) as caught:
            call_command("verify_audit", stdout=io.StringIO())
        assert "removed" in str(caught.exception)

    def test_records_not_yet_noted_in_the_checkpoint_file_are_reported_as_unconfirmed(self):
        audit.note_heads()
        with self.captureOnCommitCallbacks(execute=True):
            make_code(self.project, name="Hope")
        make_code(self.project, name="Fear")  # its commit callback never runs: as if the process died
        report = audit.verify_chain()
        assert report.ok
        assert report.unconfirmed == 1
        out = io.StringIO()
        call_command("verify_audit", stdout=out)
        assert "1 newer event" in out.getvalue()

    def test_the_key_is_not_in_the_database(self):
        self.code_a_little()
        assert audit.verify_chain().ok
        with override_settings(AUDIT_KEY=GUESSED_KEY):
            assert not audit.verify_chain().ok
        key = audit.signing_key()
        for event in AuditEvent.objects.all():
            assert key.decode() not in json.dumps([event.before, event.after, event.object_repr])

    def test_checkpoints_of_another_database_are_not_compared(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.code_a_little()
        path = settings.AUDIT_CHECKPOINT_FILE
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        other = [{**line, "db": "elsewhere", "seq": line["seq"] + 100} for line in lines]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines + other))
        assert audit.verify_chain().ok

    def test_each_project_has_its_own_chain(self):
        self.code_a_little()
        make_code(self.other_project, name="Elsewhere", by=self.oscar)
        for project in (self.project, self.other_project):
            chain = list(AuditEvent.objects.filter(project_id=project.pk).order_by("seq").values_list("seq", "prev_hash", "hash"))
            assert [seq for seq, _, _ in chain] == list(range(1, len(chain) + 1))
            assert [prev for _, prev, _ in chain] == [""] + [hash_ for _, _, hash_ in chain[:-1]]


class RestoredProjectTests(TransactionTestCase):
    def build(self) -> None:
        self.lead = make_user("lead")
        self.project = make_project(self.lead)
        other_lead = make_user("other")
        other = make_project(other_lead, name="Other", slug="other")
        # Interleave the two projects' records, as on a real site.
        for n in range(3):
            code = make_code(self.project, name=f"Code {n}")
            make_code(other, name=f"Other code {n}", by=other_lead)
        transcript = make_transcript(self.project)
        make_excerpt(transcript, [code], start=0, end=11)

    def test_a_restored_project_verifies_and_an_alteration_is_still_caught(self):
        self.build()
        archive = backup.dump(self.project)
        self.wipe()
        restored = io.StringIO()
        call_command("restore", self.save(archive), stdout=restored)
        assert "The restored audit trail is intact" in restored.getvalue()
        # The server had noted the other project's chain in the database the restore replaced.
        assert "Note: project " in restored.getvalue()
        out = io.StringIO()
        call_command("verify_audit", stdout=out)
        assert "intact" in out.getvalue()
        victim = AuditEvent.objects.order_by("pk")[2]
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_auditevent SET actor_name = %s WHERE id = %s", ["mallory", victim.pk])
        with self.assertRaises(CommandError) as caught:
            call_command("verify_audit", stdout=io.StringIO())
        assert f"event {victim.pk} " in str(caught.exception)

    def test_the_restore_notes_where_each_chain_stands_so_a_removed_tail_is_caught(self):
        self.build()
        archive = backup.dump(self.project)
        self.wipe()
        backup.restore(archive)
        newest = AuditEvent.objects.order_by("-pk").first()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM transcripts_auditevent WHERE id = %s", [newest.pk])
        report = audit.verify_chain()
        assert not report.ok
        assert "removed" in report.problem

    def test_an_altered_archive_that_passes_its_checksum_is_caught_after_restore(self):
        self.build()
        archive = backup.dump(self.project)
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            manifest = json.loads(zipped.read("manifest.json"))
            data = json.loads(zipped.read("data.json"))
        for item in data:
            if item["model"] == "transcripts.auditevent" and item["fields"]["verb"] == "excerpt.created":
                item["fields"]["after"]["memo"] = "added later"
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
        manifest["sha256"] = __import__("hashlib").sha256(payload).hexdigest()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            zipped.writestr("manifest.json", json.dumps(manifest))
            zipped.writestr("data.json", payload)
        self.wipe()
        backup.restore(buffer.getvalue())
        assert not audit.verify_chain().ok

    def save(self, archive: bytes) -> str:
        path = settings.AUDIT_CHECKPOINT_FILE.parent / "project.zip"
        path.write_bytes(archive)
        return str(path)

    def wipe(self) -> None:
        from django.contrib.auth import get_user_model

        with connection.cursor() as cursor:
            tables = [m._meta.db_table for m in reversed(backup.app_models())] + [get_user_model()._meta.db_table]
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


class UpgradeTests(TransactionTestCase):
    """Migration 0010 checks the old site-wide chain, then seals every record the new way."""

    def downgrade_with_records(self, tamper: bool = False) -> list[int]:
        import importlib

        from django.db.migrations.executor import MigrationExecutor

        lead = make_user("lead")
        project = make_project(lead)
        make_code(project)
        make_code(make_project(make_user("other"), name="Other", slug="other"), name="Elsewhere")
        call_command("migrate", "transcripts", "0009", verbosity=0)
        old = importlib.import_module("transcripts.migrations.0010_audit_chain_per_project")
        state = MigrationExecutor(connection).loader.project_state(("transcripts", "0009_transcript_search_vector"))
        OldEvent = state.apps.get_model("transcripts", "AuditEvent")
        previous = ""
        ids = []
        for event in OldEvent.objects.order_by("pk"):  # as the previous version wrote them
            event.prev_hash = previous
            event.hash = old.legacy_hash(event)
            OldEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=event.hash)
            previous = event.hash
            ids.append(event.pk)
        if tamper:
            OldEvent.objects.filter(pk=ids[1]).update(actor_name="mallory")
        return ids

    def test_an_intact_old_trail_is_sealed_again_and_verifies(self):
        ids = self.downgrade_with_records()
        call_command("migrate", verbosity=0)
        report = audit.verify_chain()
        assert report.ok, report.problem
        assert report.unconfirmed == 0
        note = AuditEvent.objects.get(verb="audit.resealed")
        assert note.project_id is None
        assert note.after == {"records": len(ids), "old_chain_intact": True, "old_chain_broken_at": None,
                              "old_chain_head": note.after["old_chain_head"]}
        assert len(note.after["old_chain_head"]) == 64

    def test_an_old_trail_altered_before_the_upgrade_stays_on_record(self):
        ids = self.downgrade_with_records(tamper=True)
        call_command("migrate", verbosity=0)
        note = AuditEvent.objects.get(verb="audit.resealed")
        assert (note.after["old_chain_intact"], note.after["old_chain_broken_at"]) == (False, ids[1])
        out = io.StringIO()
        call_command("verify_audit", stdout=out)  # the records verify from the upgrade on
        assert "intact" in out.getvalue()
