"""Backups: a complete, versioned archive of the site or of one project, and its restore.

An archive is a zip file holding `manifest.json` (format version, scope, the migration each
app was at, object counts and the SHA-256 of the data) and `data.json` (every object, in
dependency order, in Django's JSON serialization). It restores only into an empty database at
the same migrations, in one transaction, so a restore is whole or nothing. Archives from
SQLite restore into PostgreSQL and back, except one holding a NUL character (which SQLite
stored before the site refused it): PostgreSQL cannot store it, so the restore is refused with
the rows named. It is not stripped: a memo would then differ from what the audit trail
recorded, and a transcript's text would shift under its excerpts.

An archive holds everything, including password hashes and the de-identification list: store
it like the database itself. It does not hold the audit key: the restored audit trail verifies
only where the key that sealed it is set (see transcripts.audit). A restore notes where each
restored chain stands in the checkpoint file, so a cut made after the restore is noticed.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from . import audit
from .actions import counts
from .models import AuditEvent, Excerpt, Membership, Project

class ExactTimes(DjangoJSONEncoder):
    """Django's JSON, but times keep their microseconds (Django's own keeps milliseconds, so a
    restored time could differ from the stored one, and an audit event's hash with it)."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time):
            return o.isoformat()
        return super().default(o)


FORMAT = "peercoding-backup"
FORMAT_VERSION = 1
USER_FIELDS = [
    "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
    "is_staff", "is_active", "date_joined",
]

# How each model of the app reaches its project; a test fails when a model is missing here.
PROJECT_PATHS = {
    "project": "pk",
    "membership": "project",
    "participant": "project",
    "attribute": "project",
    "attributevalue": "participant__project",
    "pseudonym": "project",
    "transcript": "project",
    "speakerturn": "transcript__project",
    "code": "project",
    "excerpt": "transcript__project",
    "codeapplication": "excerpt__transcript__project",
    "memo": "project",
    "auditevent": "project",
    "transcriptassignment": "transcript__project",
    "suggestionrejection": "transcript__project",
    # The site's own row belongs to no project: in a site archive, never in a project's.
    "sitesettings": None,
    # Background jobs are in no archive (NOT_ARCHIVED); this is how they would reach their project.
    "job": "project",
    # The review counts (models/counts.py) are never archived: a restore counts them again.
    "countsready": "project",
    "codetally": "project",
    "themetotal": "project",
    "suggestionmodel": "project",
    "suggestionprediction": "model__project",
}
# Rows an archive leaves out: a background job is a file waiting a day for its download, and the
# file itself is not archived; a restored job would offer a download that is not there.
# A fitted suggestion model is rebuilt from the coding by the worker, never restored.
NOT_ARCHIVED = {"job", "suggestionmodel", "suggestionprediction"}
COUNTED_AGAIN = {"countsready", "codetally", "themetotal"}


class RestoreRefused(Exception):
    """The archive cannot be restored here; the message says why."""


@dataclass
class Manifest:
    scope: str
    counts: dict[str, int]
    migrations: dict[str, str]


def app_models() -> list:
    """The app's models in an order where every object comes after what it refers to."""
    models = list(apps.get_app_config("transcripts").get_models())
    return serializers.sort_dependencies([("transcripts", models)], allow_cycles=True)


def _migration_state() -> dict[str, str]:
    applied = MigrationRecorder(connection).applied_migrations()
    latest: dict[str, str] = {}
    for app_label, name in sorted(applied):
        if app_label in ("transcripts", "auth", "axes"):
            latest[app_label] = max(latest.get(app_label, ""), name)
    return latest


def _querysets(project=None) -> list:
    User = get_user_model()
    querysets = []
    models = app_models()
    if project is None:
        users = User.objects.order_by("pk")
    else:
        ids = set(Membership.objects.filter(project=project).values_list("user_id", flat=True))
        ids |= set(Excerpt.objects.filter(transcript__project=project).values_list("coder_id", flat=True))
        ids |= set(AuditEvent.objects.filter(project=project).exclude(actor=None).values_list("actor_id", flat=True))
        ids |= {project.created_by_id} - {None}
        users = User.objects.filter(pk__in=ids).order_by("pk")
    querysets.append(users)
    for model in models:
        name = model._meta.model_name
        if name in NOT_ARCHIVED:
            continue
        if name not in PROJECT_PATHS:
            raise RuntimeError(f"{model.__name__} has no entry in transcripts.backup.PROJECT_PATHS")
        if name in COUNTED_AGAIN:
            continue
        queryset = model._default_manager.order_by("pk")
        if project is not None:
            if PROJECT_PATHS[name] is None:
                continue
            queryset = queryset.filter(**{PROJECT_PATHS[name]: project.pk})
        querysets.append(queryset)
    return querysets


def dump(project=None) -> bytes:
    """The archive of the whole site, or of one project, as zip bytes."""
    objects = []
    counts = {}
    User = get_user_model()
    for queryset in _querysets(project):
        model = queryset.model
        fields = USER_FIELDS if model is User else None
        data = json.loads(serializers.serialize("json", queryset.iterator(chunk_size=2000), fields=fields, cls=ExactTimes))
        counts[model._meta.label_lower] = len(data)
        objects.extend(data)
    payload = json.dumps(objects, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "scope": "site" if project is None else f"project:{project.slug}",
        "database": connection.vendor,
        "migrations": _migration_state(),
        "counts": counts,
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        archive.writestr("data.json", payload)
    return buffer.getvalue()


def read_archive(data: bytes) -> tuple[dict, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            payload = archive.read("data.json")
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise RestoreRefused("This is not a peercoding backup archive.") from None
    if manifest.get("format") != FORMAT:
        raise RestoreRefused("This is not a peercoding backup archive.")
    if manifest.get("version") != FORMAT_VERSION:
        raise RestoreRefused(f"This archive has format version {manifest.get('version')}; this peercoding reads {FORMAT_VERSION}.")
    if hashlib.sha256(payload).hexdigest() != manifest.get("sha256"):
        raise RestoreRefused("The archive is damaged: its data does not match its checksum.")
    return manifest, payload


def unstorable_text(objects: list[dict]) -> list[str]:
    """Where serialized objects hold a NUL character, as "model #pk field" (SQLite stores NUL;
    PostgreSQL refuses it in text and JSON alike)."""
    return [
        f"{item['model']} #{item['pk']} {name}"
        for item in objects
        for name, value in item["fields"].items()
        if _holds_nul(value)
    ]


def _holds_nul(value) -> bool:  # noqa: ANN001
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


@transaction.atomic
def restore(data: bytes) -> Manifest:
    """Load an archive into an empty database at the same migrations; all or nothing."""
    manifest, payload = read_archive(data)
    if manifest["migrations"] != _migration_state():
        raise RestoreRefused(
            "The archive was made at other migrations than this database has "
            f"({manifest['migrations']} here: {_migration_state()}); run the matching peercoding version."
        )
    User = get_user_model()
    if User.objects.exists() or Project.objects.exists():
        raise RestoreRefused("Restore only into an empty database: this one already has users or projects.")
    if connection.vendor == "postgresql" and (places := unstorable_text(json.loads(payload))):
        raise RestoreRefused(
            "PostgreSQL cannot store the NUL character (U+0000), and the archive holds it in "
            f"{len(places)} place(s): {'; '.join(places[:20])}{' ...' if len(places) > 20 else ''}. "
            "Nothing was restored. Remove the character on the site the archive comes from (edit "
            "the memo or name, or clear it with SQL), make a new backup and restore that."
        )
    models = set()
    for item in serializers.deserialize("json", payload):
        item.save()
        models.add(type(item.object))
    # PostgreSQL's id sequences must continue after the restored ids.
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    # The archive holds no review counts: they are counted again from the restored coding.
    for project in Project.objects.all():
        counts.recount(project)
    # The restored chains are checked from where they stand now (see transcripts.audit).
    transaction.on_commit(lambda: audit.note_heads(new_database=True))
    return Manifest(scope=manifest["scope"], counts=manifest["counts"], migrations=manifest["migrations"])
