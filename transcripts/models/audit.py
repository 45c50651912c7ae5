"""The audit trail: who changed what research data, when, from what to what."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN001, ANN201
        raise PermissionError("Audit events cannot be changed.")

    def delete(self):  # noqa: ANN201
        raise PermissionError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """An append-only record in its project's chain (site-wide records: project None).

    Each carries its place in the chain (`seq`, from 1), the previous record's hash, and a keyed
    hash (HMAC-SHA256) over its content and both; the key is kept out of the database.
    """

    project = models.ForeignKey(
        "transcripts.Project", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    verb = models.CharField(max_length=60, help_text="What happened, e.g. excerpt.created, code.merged.")
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_index=True)
    seq = models.PositiveBigIntegerField(default=0, help_text="Place in the project's chain, from 1.")
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["project", "-created_at"]), models.Index(fields=["object_type", "object_id"])]
        constraints = [models.UniqueConstraint(fields=["project", "seq"], name="auditevent_one_per_place")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.verb} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN201
        raise PermissionError("Audit events cannot be deleted.")

    def compute_hash(self, key: bytes | None = None) -> str:
        """The keyed hash this record should carry; `key` defaults to the site's audit key."""
        if key is None:
            key = signing_key()
        return hmac.new(key, self.hash_payload(), hashlib.sha256).hexdigest()

    def hash_payload(self) -> bytes:
        payload = {
            "chain": self.project_id,
            "seq": self.seq,
            "prev": self.prev_hash,
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "verb": self.verb,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "before": self.before,
            "after": self.after,
            "created_at": self.created_at.isoformat(),
        }
        return json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":")).encode("utf-8")


# The key ------------------------------------------------------------------------------------------


def signing_key() -> bytes:
    """The key of the audit trail's hashes: AUDIT_KEY, or the data folder's key file (made here)."""
    if settings.AUDIT_KEY:
        return settings.AUDIT_KEY.encode("utf-8")
    return _key_from_file(str(settings.AUDIT_KEY_FILE))


@functools.lru_cache(maxsize=4)
def _key_from_file(path: str) -> bytes:
    target = Path(path)
    try:
        return target.read_bytes().strip()
    except FileNotFoundError:
        pass
    # Written whole under another name, then linked into place: two workers starting at once
    # both end up reading the one key that won, never a half-written file.
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, target)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return target.read_bytes().strip()
