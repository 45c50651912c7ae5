"""Writing and checking the audit trail's hash chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

from .models import AuditEvent

# Any constant works; it names the lock that serializes appends to the chain on PostgreSQL.
_CHAIN_LOCK = 7_201_715


def _plain(value: Any) -> Any:
    """The value as it reads back from a JSON column, so the hash is stable across a round trip."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _now_to_the_millisecond():
    """JSON (and so a backup) keeps milliseconds; the hash must survive a backup and restore."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def record(
    verb: str,
    *,
    by,
    project=None,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    object_repr: str = "",
) -> AuditEvent:
    """Append one event to the trail. Call inside the transaction that makes the change."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
    actor = by if by is not None and getattr(by, "is_authenticated", False) else None
    event = AuditEvent(
        project_id=getattr(project, "pk", project),
        actor=actor,
        actor_name=actor.get_username() if actor else "system",
        verb=verb,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        before=_plain(before),
        after=_plain(after),
        created_at=_now_to_the_millisecond(),
        prev_hash=last or "",
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    return event


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None  # pk of the first event whose hash does not match

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain() -> ChainReport:
    """Recompute every hash in order; report the first event that was altered or removed."""
    previous = ""
    checked = 0
    for event in AuditEvent.objects.order_by("pk").iterator(chunk_size=2000):
        if event.prev_hash != previous or event.compute_hash() != event.hash:
            return ChainReport(checked=checked, broken_at=event.pk)
        previous = event.hash
        checked += 1
    return ChainReport(checked=checked, broken_at=None)
