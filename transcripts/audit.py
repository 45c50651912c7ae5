"""Writing and checking the audit trail: one hash chain per project, keyed, with checkpoints.

Each project's records form a chain (site-wide records, such as a second factor enabled, form
one more). A record carries its place in the chain, the previous record's hash and an HMAC over
its content and both, keyed with AUDIT_KEY or else with the key file that the data folder gets
on first use: someone who can write to the database but cannot read that key cannot forge a
record, nor recompute the chain after changing one. Because a chain can still be cut short by
deleting its newest records, every committed record is also noted (chain, place, hash) in an
append-only checkpoint file in the data folder, which the database user cannot rewrite; the
check compares each chain's length and head with the last note about it.

The checkpoint file belongs to one host: with several app servers on one PostgreSQL, each notes
only the records it wrote, and the check on one server says how many newer records it could
not confirm. A restore (and the upgrade that first keyed the chains) notes where each restored
chain stands, so a restored project verifies and is checked from there on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not on Unix; see _lock()
    fcntl = None

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEvent
from .models.audit import signing_key

logger = logging.getLogger(__name__)

# Any constant works; it names the lock that serializes appends to the chains on PostgreSQL.
# actions/counts.py takes it too, earlier in the same transactions, so the two never wait on
# each other in opposite orders.
CHAIN_LOCK = 7_201_715


def _plain(value: Any) -> Any:
    """The value as it reads back from a JSON column, so the hash is stable across a round trip."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _now_to_the_millisecond():
    """JSON (and so a backup) keeps milliseconds; the hash must survive a backup and restore."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# Checkpoints --------------------------------------------------------------------------------------


def database_label() -> str:
    """Which database a checkpoint is about, so one file can serve a test run next to the site."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:{Path(str(config['NAME'])).name}"
    return f"{connection.vendor}:{config.get('NAME')}@{config.get('HOST') or 'local'}:{config.get('PORT') or ''}"


def _append(lines: list[dict]) -> None:
    """Append to the checkpoint file in one write, under a lock; a failure is logged, not raised:
    the change is committed already, and the check reports records it cannot confirm."""
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            _lock(handle)
            handle.write(text)
    except OSError:
        logger.exception("Could not note audit checkpoints in %s", path)


def _lock(handle) -> None:  # noqa: ANN001
    if fcntl is None:  # not on Unix: appends of one short line are whole anyway
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _note(chain: int | None, seq: int, hash_: str, *, restart: bool = False) -> dict:
    line = {"db": database_label(), "chain": chain, "seq": seq, "hash": hash_, "at": timezone.now().isoformat()}
    if restart:
        line["restart"] = True
    return line


def note_heads(events: models.QuerySet | None = None, *, new_database: bool = False) -> None:
    """Note where every chain now stands, replacing what the file knew of it. After a restore
    (`new_database`), also forget the chains an earlier database of the same name had."""
    events = AuditEvent.objects.all() if events is None else events
    tops = events.order_by().values("project_id").annotate(top=models.Max("seq"))
    lines = [{"db": database_label(), "new_database": True, "at": timezone.now().isoformat()}] if new_database else []
    for row in tops:
        head = events.filter(project_id=row["project_id"], seq=row["top"]).values_list("hash", flat=True).first()
        lines.append(_note(row["project_id"], row["top"], head, restart=True))
    if lines:
        _append(lines)


def read_checkpoints() -> dict[int | None, tuple[int, str]]:
    """For each chain of this database: (place, hash) of the newest record the file notes."""
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    label = database_label()
    known: dict[int | None, tuple[int, str]] = {}
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return known
    with handle:
        for raw in handle:
            try:
                line = json.loads(raw)
                if line["db"] != label:
                    continue
                if line.get("new_database"):
                    known.clear()
                    continue
                chain, seq, hash_ = line["chain"], int(line["seq"]), str(line["hash"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
            if line.get("restart") or seq > known.get(chain, (0, ""))[0]:
                known[chain] = (seq, hash_)
    return known


# Writing ------------------------------------------------------------------------------------------


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
    # A transaction of its own when called outside one, so that reading the chain's head and
    # appending to it happen under one lock (the advisory lock, or SQLite's write lock).
    with transaction.atomic(savepoint=False):
        return _append_event(verb, by, getattr(project, "pk", project), obj, before, after, object_repr)


def _append_event(verb, by, project_id, obj, before, after, object_repr) -> AuditEvent:  # noqa: ANN001
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    last = AuditEvent.objects.filter(project_id=project_id).order_by("-seq").values_list("seq", "hash").first()
    actor = by if by is not None and getattr(by, "is_authenticated", False) else None
    event = AuditEvent(
        project_id=project_id,
        actor=actor,
        actor_name=actor.get_username() if actor else "system",
        verb=verb,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        before=_plain(before),
        after=_plain(after),
        created_at=_now_to_the_millisecond(),
        seq=last[0] + 1 if last else 1,
        prev_hash=last[1] if last else "",
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    line = _note(project_id, event.seq, event.hash)
    transaction.on_commit(lambda: _append([line]))
    return event


# Checking -----------------------------------------------------------------------------------------


def chain_name(chain: int | None) -> str:
    return "the site-wide chain" if chain is None else f"project {chain}'s chain"


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None  # pk of the first event that was altered, or follows a removed one
    problem: str = ""  # what is wrong, in a sentence; empty when intact
    chains: int = 0
    unconfirmed: int = 0  # records newer than the checkpoint file's notes: their removal goes unseen

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain() -> ChainReport:
    """Recompute every chain in order and compare each with its last checkpoint.

    Reports the first event that was altered or follows a removed one, or a chain whose newest
    records were removed, and how many records no checkpoint confirms yet.
    """
    key = signing_key()
    marks = read_checkpoints()
    lengths: dict[int | None, int] = {}
    checked = 0
    chain, seq, previous = object(), 0, ""
    for event in AuditEvent.objects.order_by("project_id", "seq").iterator(chunk_size=2000):
        if event.project_id != chain:
            chain, seq, previous = event.project_id, 0, ""
        seq += 1
        problem = ""
        if event.seq != seq:
            problem = f"follows a gap in {chain_name(chain)}: {event.seq - seq} earlier records were removed"
        elif event.prev_hash != previous:
            problem = "does not follow its predecessor's hash"
        elif not hmac.compare_digest(event.compute_hash(key), event.hash):
            problem = "does not match its keyed hash: its content was changed"
        elif marks.get(chain, (0, ""))[0] == seq and marks[chain][1] != event.hash:
            problem = "differs from what the checkpoint file noted for it"
        if problem:
            return ChainReport(checked=checked, broken_at=event.pk, problem=problem, chains=len(lengths) + 1)
        lengths[chain] = seq
        previous = event.hash
        checked += 1
    unconfirmed = 0
    for name, length in lengths.items():
        unconfirmed += max(0, length - marks.get(name, (0, ""))[0])
    for name, (noted, _) in marks.items():
        held = lengths.get(name, 0)
        if held < noted:
            problem = (
                f"the newest {noted - held} records of {chain_name(name)} were removed: the checkpoint "
                f"file notes {noted}, the database holds {held}"
            )
            return ChainReport(checked=checked, problem=problem, chains=len(lengths), unconfirmed=unconfirmed)
    return ChainReport(checked=checked, chains=len(lengths), unconfirmed=unconfirmed)
