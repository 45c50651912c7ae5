"""The audit trail: who changed what research data, when, from what to what."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN001, ANN201
        raise PermissionError("Audit events cannot be changed.")

    def delete(self):  # noqa: ANN201
        raise PermissionError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """An append-only record. Each carries a hash over its content and the previous hash."""

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
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["project", "-created_at"]), models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.verb} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN201
        raise PermissionError("Audit events cannot be deleted.")

    def compute_hash(self) -> str:
        payload = {
            "prev": self.prev_hash,
            "project": self.project_id,
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
        encoded = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
