"""Coding: excerpts made, changed, deleted and undone, one by one or from a search."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .. import audit, spans
from . import counts
from ..models import AuditEvent, Code, CodeApplication, Excerpt, Project, Transcript
from ..suggestions.tasks import after_coding_changed
from .base import StaleEdit, excerpt_state


class DuplicateCoding(ValidationError):
    """The coder already has an excerpt of exactly this span with one of these codes; it would
    count twice in the quotes and in every figure."""

    def __init__(self, existing: Excerpt, code_names: Sequence[str], *, mine: bool = True) -> None:
        who = "You already coded" if mine else "Its coder already coded"
        super().__init__(
            f"{who} exactly this passage with {', '.join(code_names)}; a second excerpt would count twice."
        )
        self.existing = existing


def _same_span_as(excerpt: Excerpt, prefix: str = "") -> dict:
    """Lookups for the excerpts of the same coder (or the consensus) over the same span."""
    same = {
        "transcript_id": excerpt.transcript_id,
        "coder_id": excerpt.coder_id,
        "start": excerpt.start,
        "end": excerpt.end,
        "is_consensus": excerpt.is_consensus,
    }
    return {prefix + name: value for name, value in same.items()}


@contextmanager
def coding_write(project_id: int, excerpt_ids: Sequence[int] = ()) -> Iterator[list[int]]:
    """counts.changing for a write to coding; once it commits, the project's suggestions are fitted again soon."""
    with counts.changing(project_id, excerpt_ids) as changed:
        yield changed
    after_coding_changed(project_id)


def _duplicate_of(excerpt: Excerpt, code_ids: Sequence[int], *, by) -> DuplicateCoding | None:
    """The refusal to give when another excerpt of the same coder covers exactly the same span
    with one of `code_ids` (consensus excerpts compared only with consensus excerpts)."""
    twin = (
        Excerpt.objects.filter(**_same_span_as(excerpt), applications__code_id__in=code_ids)
        .exclude(pk=excerpt.pk)
        .order_by("pk")
        .first()
    )
    if twin is None:
        return None
    names = Code.objects.filter(pk__in=code_ids, applications__excerpt=twin).order_by("name").values_list("name", flat=True)
    return DuplicateCoding(twin, list(names), mine=by.pk == excerpt.coder_id)


def _apply_codes_unless_duplicate(excerpt: Excerpt, code_ids: list[int], *, by) -> int:
    """Apply the codes to a new excerpt, in one statement that inserts nothing when the coder
    already has an excerpt of the same span with one of them; returns how many were applied.

    One INSERT ... SELECT ... WHERE NOT EXISTS rather than a look then a write, so coding costs
    no extra query; run after the audit row, whose lock orders the coding writes, it sees
    every duplicate committed before it.
    """
    twins = (
        CodeApplication.objects.filter(**_same_span_as(excerpt, "excerpt__"), code_id__in=code_ids)
        .exclude(excerpt_id=excerpt.pk)
        .values("pk")
    )
    twins_sql, twins_params = twins.query.sql_with_params()
    q = connection.ops.quote_name
    applications, codes = q(CodeApplication._meta.db_table), q(Code._meta.db_table)
    sql = (
        f"INSERT INTO {applications} ({q('excerpt_id')}, {q('code_id')}, {q('applied_by_id')}, {q('applied_at')}, "
        f"{q('is_exemplar')}) SELECT %s, {codes}.{q('id')}, %s, %s, %s FROM {codes} "
        f"WHERE {codes}.{q('id')} IN ({', '.join(['%s'] * len(code_ids))}) AND NOT EXISTS ({twins_sql})"
    )
    applied_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [excerpt.pk, by.pk, applied_at, False, *code_ids, *twins_params])
        return cursor.rowcount


@transaction.atomic
def create_excerpt(
    transcript: Transcript,
    *,
    start: int,
    end: int,
    codes: Sequence[Code],
    by,
    memo: str = "",
    client_token: str | None = None,
) -> Excerpt:
    """Code [start, end) of a transcript with one or more codes of its project.

    With a client_token, a repeated request returns the excerpt the first one made: the unique
    constraint on the token refuses the second row, so no query is spent looking first.
    """
    if not codes:
        raise ValidationError("Choose at least one code.")
    for code in codes:
        if code.project_id != transcript.project_id:
            raise ValidationError("A code of another project cannot be applied here.")
    excerpt = Excerpt(transcript=transcript, start=start, end=end, coder=by, memo=memo, client_token=client_token)
    try:
        spans.check_span(transcript.text, start, end)
    except ValueError as error:
        raise ValidationError(f"The selection does not fit the transcript: {error}.") from None
    with coding_write(transcript.project_id) as changed:
        try:
            with transaction.atomic():
                excerpt.save()
        except IntegrityError:
            existing = Excerpt.objects.filter(client_token=client_token).first() if client_token else None
            if existing is None:
                raise
            if existing.transcript_id != transcript.pk or existing.coder_id != by.pk:
                raise ValidationError("This request token was already used for something else.") from None
            return existing
        code_ids = [code.pk for code in dict.fromkeys(codes)]
        audit.record("excerpt.created", by=by, project=transcript.project_id, obj=excerpt, after=excerpt_state(excerpt, code_ids))
        # The codes go on after the audit row: its lock (PostgreSQL's advisory lock, SQLite's write
        # lock) orders coding writes, so two tabs coding the same span cannot both get through.
        if _apply_codes_unless_duplicate(excerpt, code_ids, by=by) != len(code_ids):
            raise _duplicate_of(excerpt, code_ids, by=by) or ValidationError("A code you chose was deleted meanwhile.")
        changed.append(excerpt.pk)
    return excerpt


def _excerpt_for_update(excerpt: Excerpt) -> Excerpt:
    """The excerpt's row, locked. Its transcript and coder come from `excerpt` when it has them
    loaded (a transcript's text never changes once coded, and an excerpt keeps its coder)."""
    # of=("self",): lock the excerpt row only, not the joined transcript, which other
    # transactions' foreign-key checks need at commit (a deadlock otherwise, on PostgreSQL).
    queryset = Excerpt.objects.select_for_update(of=("self",))
    known = Excerpt.transcript.is_cached(excerpt)
    if not known:
        queryset = queryset.select_related("transcript")
    try:
        locked = queryset.get(pk=excerpt.pk)
    except Excerpt.DoesNotExist:
        raise StaleEdit("This excerpt was deleted meanwhile.") from None
    if known:
        locked.transcript = excerpt.transcript
    if Excerpt.coder.is_cached(excerpt):
        locked.coder = excerpt.coder
    return locked


@transaction.atomic
def change_excerpt(
    excerpt: Excerpt,
    *,
    by,
    expected_version: int,
    codes: Sequence[Code] | None = None,
    memo: str | None = None,
    start: int | None = None,
    end: int | None = None,
    verb: str = "excerpt.changed",
) -> Excerpt:
    """Change an excerpt's codes, memo or boundaries; refuse if someone changed it since `expected_version`.

    The excerpt returned carries `code_ids`, its codes' ids after the change.
    """
    excerpt = _excerpt_for_update(excerpt)
    if excerpt.version != expected_version:
        raise StaleEdit("Someone else changed this excerpt meanwhile; look at their change before saving yours.")
    # A memo alone changes no figure; codes and boundaries change the counts (actions/counts.py).
    coding = codes is not None or start is not None or end is not None
    with coding_write(excerpt.transcript.project_id, [excerpt.pk]) if coding else nullcontext():
        current_codes = list(excerpt.applications.values_list("code_id", flat=True))
        before = excerpt_state(excerpt, current_codes)
        fields = ["version", "updated_at"]
        if start is not None or end is not None:
            new_start = excerpt.start if start is None else start
            new_end = excerpt.end if end is None else end
            try:
                spans.check_span(excerpt.transcript.text, new_start, new_end)
            except ValueError as error:
                raise ValidationError(f"The new boundaries do not fit the transcript: {error}.") from None
            excerpt.start, excerpt.end = new_start, new_end
            fields += ["start", "end"]
        if memo is not None:
            excerpt.memo = memo
            fields.append("memo")
        new_code_ids = current_codes
        if codes is not None:
            if not codes:
                raise ValidationError("An excerpt needs at least one code; delete it instead.")
            for code in codes:
                if code.project_id != excerpt.transcript.project_id:
                    raise ValidationError("A code of another project cannot be applied here.")
            new_code_ids = [code.pk for code in dict.fromkeys(codes)]
            excerpt.applications.exclude(code_id__in=new_code_ids).delete()
            CodeApplication.objects.bulk_create(
                CodeApplication(excerpt=excerpt, code_id=code_id, applied_by=by)
                for code_id in new_code_ids
                if code_id not in current_codes
            )
        excerpt.version += 1
        excerpt.save(update_fields=fields)
        after = excerpt_state(excerpt, new_code_ids)
        audit.record(verb, by=by, project=excerpt.transcript.project_id, obj=excerpt, before=before, after=after)
        # Checked after the audit row, under its lock, like a new excerpt (create_excerpt).
        if (codes is not None or "start" in fields) and (duplicate := _duplicate_of(excerpt, new_code_ids, by=by)):
            raise duplicate
    excerpt.code_ids = list(new_code_ids)
    return excerpt


@transaction.atomic
def delete_excerpt(excerpt: Excerpt, *, by, expected_version: int | None = None) -> None:
    excerpt = _excerpt_for_update(excerpt)
    if expected_version is not None and excerpt.version != expected_version:
        raise StaleEdit("Someone else changed this excerpt meanwhile; look at their change first.")
    before = excerpt_state(excerpt)
    with coding_write(excerpt.transcript.project_id, [excerpt.pk]):
        audit.record("excerpt.deleted", by=by, project=excerpt.transcript.project_id, obj=excerpt, before=before)
        excerpt.delete()


UNDOABLE = ("excerpt.created", "excerpt.changed", "excerpt.deleted")


def last_undoable(transcript: Transcript, user):
    """The user's most recent coding action on this transcript that has not been undone yet."""
    recent = list(
        AuditEvent.objects.filter(project_id=transcript.project_id, actor=user, verb__in=(*UNDOABLE, "excerpt.undone"))
        .order_by("-pk")
        .only("pk", "verb", "before", "after", "object_id")[:200]
    )
    undone = {event.after.get("undid") for event in recent if event.verb == "excerpt.undone" and event.after}
    for event in recent:
        if event.verb == "excerpt.undone" or event.pk in undone:
            continue
        state = event.after if event.verb != "excerpt.deleted" else event.before
        if state and state.get("transcript") == transcript.pk:
            return event
    return None


@transaction.atomic
def undo_last(transcript: Transcript, *, by) -> str:
    """Undo the user's last coding action on a transcript; return a sentence saying what was undone.

    The undo is itself recorded, so the trail shows both the action and its reversal.
    """
    event = last_undoable(transcript, by)
    if event is None:
        raise ValidationError("There is nothing of yours to undo on this transcript.")
    excerpt = Excerpt.objects.select_for_update().filter(pk=int(event.object_id)).first()
    code_ids = set(Code.objects.filter(project_id=transcript.project_id).values_list("pk", flat=True))
    with coding_write(transcript.project_id, [excerpt.pk] if excerpt else []) as changed:
        if event.verb == "excerpt.created":
            excerpt, message, result = _undo_creation(excerpt)
        elif event.verb == "excerpt.deleted":
            excerpt, message, result = _undo_deletion(transcript, event.before, code_ids, by=by)
        else:
            excerpt, message, result = _undo_change(excerpt, event.before, code_ids, by=by)
        changed.append(excerpt.pk)
    audit.record(
        "excerpt.undone",
        by=by,
        project=transcript.project_id,
        obj=excerpt,
        after={"undid": event.pk, **result, "transcript": transcript.pk},
    )
    if event.verb != "excerpt.created" and (duplicate := _duplicate_of(excerpt, _codes_of(result), by=by)):
        raise duplicate
    return message


def _codes_of(result: dict) -> list[int]:
    """The codes an undo left on its excerpt."""
    return (result.get("restored") or result["after"])["codes"]


def _undo_creation(excerpt: Excerpt | None) -> tuple[Excerpt, str, dict]:
    if excerpt is None:
        raise ValidationError("That excerpt was already deleted.")
    before = excerpt_state(excerpt)
    pk = excerpt.pk
    excerpt.delete()
    excerpt.pk = pk  # so the trail names the excerpt that was removed
    return excerpt, "Undid: new excerpt removed.", {"deleted": before}


def _undo_deletion(transcript: Transcript, state: dict, code_ids: set[int], *, by) -> tuple[Excerpt, str, dict]:
    if any(code_id not in code_ids for code_id in state["codes"]):
        raise ValidationError("The excerpt's code was deleted meanwhile, so it cannot be restored.")
    restored = Excerpt(
        transcript=transcript, start=state["start"], end=state["end"], coder=by, memo=state.get("memo", "")
    )
    restored.save()
    CodeApplication.objects.bulk_create(
        CodeApplication(excerpt=restored, code_id=code_id, applied_by=by) for code_id in state["codes"]
    )
    return restored, "Undid: deleted excerpt restored.", {"restored": excerpt_state(restored, state["codes"])}


def _undo_change(excerpt: Excerpt | None, state: dict, code_ids: set[int], *, by) -> tuple[Excerpt, str, dict]:
    if excerpt is None:
        raise ValidationError("That excerpt was deleted meanwhile.")
    if any(code_id not in code_ids for code_id in state["codes"]):
        raise ValidationError("A code the excerpt had was deleted meanwhile, so the change cannot be undone.")
    before = excerpt_state(excerpt)
    excerpt.applications.exclude(code_id__in=state["codes"]).delete()
    have = set(excerpt.applications.values_list("code_id", flat=True))
    CodeApplication.objects.bulk_create(
        CodeApplication(excerpt=excerpt, code_id=code_id, applied_by=by)
        for code_id in state["codes"]
        if code_id not in have
    )
    excerpt.start, excerpt.end, excerpt.memo = state["start"], state["end"], state.get("memo", "")
    excerpt.version += 1
    excerpt.save(update_fields=["start", "end", "memo", "version", "updated_at"])
    after = excerpt_state(excerpt, state["codes"])
    return excerpt, "Undid: the excerpt's last change.", {"before": before, "after": after}


@transaction.atomic
def code_search_hits(project: Project, hits: Sequence, code: Code, *, by, query: str) -> tuple[int, int]:
    """Code every search hit (objects with .transcript, .start, .end) with `code` as `by`.

    A hit `by` already coded with `code` at exactly that span is skipped, so applying twice
    changes nothing. One audit event names the search; each new excerpt has its own as well.
    Returns (created, skipped).
    """
    if code.project_id != project.pk:
        raise ValidationError("A code of another project cannot be applied here.")
    done = set(
        Excerpt.objects.filter(
            transcript__project=project, coder=by, applications__code=code
        ).values_list("transcript_id", "start", "end")
    )
    created = skipped = 0
    for hit in hits:
        key = (hit.transcript.pk, hit.start, hit.end)
        if key in done:
            skipped += 1
            continue
        create_excerpt(hit.transcript, start=hit.start, end=hit.end, codes=[code], by=by)
        done.add(key)
        created += 1
    audit.record(
        "search.coded",
        by=by,
        project=project,
        obj=code,
        after={"query": query, "code": code.pk, "hits": len(hits), "created": created, "skipped": skipped},
    )
    return created, skipped
