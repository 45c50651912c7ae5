"""One keyed hash chain per project instead of one plain SHA-256 chain for the whole site.

Existing records are sealed again here: the old site-wide chain is checked first with the old
formula, then every record gets its place in its project's chain and a keyed hash (see
transcripts.audit), and one site-wide record, `audit.resealed`, keeps what that check found and
the old chain's last hash. So a trail that was altered before the upgrade still says so, and
from here on every record is checked the new way. Both formulas are copied here, frozen.
"""

import hashlib
import hmac
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models, transaction
from django.utils import timezone


def _encoded(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":")).encode("utf-8")


def _content(event) -> dict:
    return {
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "verb": event.verb,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "created_at": event.created_at.isoformat(),
    }


def legacy_hash(event) -> str:
    return hashlib.sha256(_encoded({**_content(event), "prev": event.prev_hash, "project": event.project_id})).hexdigest()


def keyed_hash(event, key: bytes) -> str:
    payload = {**_content(event), "chain": event.project_id, "seq": event.seq, "prev": event.prev_hash}
    return hmac.new(key, _encoded(payload), hashlib.sha256).hexdigest()


def reseal(apps, schema_editor) -> None:
    from transcripts.audit import note_heads, signing_key

    AuditEvent = apps.get_model("transcripts", "AuditEvent")
    events = AuditEvent.objects.order_by("pk")
    if not events.exists():
        return
    key = signing_key()
    previous, broken_at, total = "", None, 0
    for event in events.iterator(chunk_size=2000):
        if broken_at is None and (event.prev_hash != previous or legacy_hash(event) != event.hash):
            broken_at = event.pk
        previous = event.hash
        total += 1
    legacy_head = previous
    heads: dict = {}
    batch = []
    for event in events.iterator(chunk_size=2000):
        seq, prev = heads.get(event.project_id, (0, ""))
        event.seq, event.prev_hash = seq + 1, prev
        event.hash = keyed_hash(event, key)
        heads[event.project_id] = (event.seq, event.hash)
        batch.append(event)
        if len(batch) >= 500:
            AuditEvent.objects.bulk_update(batch, ["seq", "prev_hash", "hash"])
            batch = []
    AuditEvent.objects.bulk_update(batch, ["seq", "prev_hash", "hash"])
    seq, prev = heads.get(None, (0, ""))
    now = timezone.now()
    note = AuditEvent(
        actor_name="system",
        verb="audit.resealed",
        after={
            "records": total,
            "old_chain_intact": broken_at is None,
            "old_chain_broken_at": broken_at,
            "old_chain_head": legacy_head,
        },
        created_at=now.replace(microsecond=now.microsecond // 1000 * 1000),
        seq=seq + 1,
        prev_hash=prev,
    )
    note.hash = keyed_hash(note, key)
    note.save(force_insert=True)
    transaction.on_commit(lambda: note_heads(AuditEvent.objects.all()))


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0009_transcript_search_vector")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(default=0, help_text="Place in the project's chain, from 1."),
        ),
        migrations.RunPython(reseal, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("project", "seq"), name="auditevent_one_per_place"),
        ),
    ]
