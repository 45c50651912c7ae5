"""Writes that span models, must be atomic, or need an audit row.

Every function here takes `by`, the user on whose behalf it acts, and records an AuditEvent
inside the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import audit, spans
from .models import (
    Code,
    CodeApplication,
    Excerpt,
    Membership,
    Participant,
    Project,
    SpeakerTurn,
    Transcript,
    TranscriptTextLocked,
)


class ConfirmationRequired(Exception):
    """A destructive change that touches coding needs a lead's explicit confirmation."""

    def __init__(self, message: str, *, n_excerpts: int) -> None:
        super().__init__(message)
        self.n_excerpts = n_excerpts


class StaleEdit(Exception):
    """Somebody else changed the object since the form was loaded."""


CODE_FIELDS = (
    "name",
    "color",
    "definition",
    "inclusion",
    "exclusion",
    "typical_example",
    "atypical_example",
    "order",
    "archived",
    "parent_id",
)


def _code_state(code: Code) -> dict:
    return {field: getattr(code, field) for field in CODE_FIELDS}


def _excerpt_state(excerpt: Excerpt, code_ids: Iterable[int] | None = None) -> dict:
    if code_ids is None:
        code_ids = excerpt.applications.values_list("code_id", flat=True)
    return {
        "transcript": excerpt.transcript_id,
        "start": excerpt.start,
        "end": excerpt.end,
        "quote": excerpt.quote,
        "memo": excerpt.memo,
        "codes": sorted(code_ids),
        "coder": excerpt.coder_id,
    }


# Projects and members -----------------------------------------------------------------------


@transaction.atomic
def create_project(name: str, slug: str, *, by, description: str = "") -> Project:
    project = Project.objects.create(name=name, slug=slug, description=description, created_by=by)
    Membership.objects.create(project=project, user=by, role=Membership.Role.LEAD)
    audit.record("project.created", by=by, project=project, obj=project, after={"name": name, "slug": slug})
    return project


@transaction.atomic
def set_role(project: Project, user, role: str, *, by) -> Membership:
    membership, created = Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    before = None if created else {"role": membership.role}
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    audit.record(
        "member.added" if created else "member.role_changed",
        by=by,
        project=project,
        obj=membership,
        object_repr=user.get_username(),
        before=before,
        after={"user": user.get_username(), "role": role},
    )
    return membership


# Transcripts ------------------------------------------------------------------------------------


@transaction.atomic
def create_transcript(
    project: Project,
    *,
    title: str,
    text: str,
    by,
    participant: Participant | None = None,
    turns: Sequence = (),
    source_name: str = "",
    source_format: str = Transcript.Format.TYPED,
    speaker_roles: dict[str, str] | None = None,
) -> Transcript:
    """Store a transcript with its speaker turns; `text` is normalized here if it is not yet."""
    text = spans.normalize_text(text)
    transcript = Transcript(
        project=project,
        participant=participant,
        title=title,
        text=text,
        source_name=source_name,
        source_format=source_format,
        imported_by=by,
    )
    transcript.full_clean(exclude=["content_hash"], validate_unique=False)
    transcript.save()
    roles = speaker_roles or {}
    SpeakerTurn.objects.bulk_create(
        SpeakerTurn(
            transcript=transcript,
            start=turn.start,
            end=turn.end,
            body_start=turn.body_start,
            speaker=turn.speaker[:100],
            role=roles.get(turn.speaker, SpeakerTurn.Role.OTHER),
            time_ms=turn.time_ms,
        )
        for turn in turns
    )
    audit.record(
        "transcript.imported",
        by=by,
        project=project,
        obj=transcript,
        after={
            "title": title,
            "participant": participant.label if participant else None,
            "source_name": source_name,
            "content_hash": transcript.content_hash,
            "length": len(text),
            "turns": len(turns),
        },
    )
    return transcript


@transaction.atomic
def delete_transcript(transcript: Transcript, *, by, confirmed: bool = False) -> None:
    """Delete a transcript; with excerpts, only when a lead has confirmed it."""
    n_excerpts = transcript.excerpts.count()
    if n_excerpts and not confirmed:
        raise ConfirmationRequired(
            f"“{transcript.title}” has {n_excerpts} coded excerpts; deleting it deletes them too.",
            n_excerpts=n_excerpts,
        )
    state = {"title": transcript.title, "content_hash": transcript.content_hash, "excerpts": n_excerpts}
    audit.record("transcript.deleted", by=by, project=transcript.project_id, obj=transcript, before=state)
    CodeApplication.objects.filter(excerpt__transcript=transcript).delete()
    transcript.excerpts.all().delete()
    transcript.delete()


# Codes --------------------------------------------------------------------------------------------


@transaction.atomic
def create_code(project: Project, *, by, **fields) -> Code:
    code = Code(project=project, **fields)
    code.full_clean(exclude=["guid"], validate_constraints=False)
    try:
        with transaction.atomic():
            code.save()
    except IntegrityError:
        raise ValidationError({"name": "A code with this name already exists at this level."}) from None
    audit.record("code.created", by=by, project=project, obj=code, after=_code_state(code))
    return code


@transaction.atomic
def delete_code(code: Code, *, by, confirmed: bool = False) -> None:
    """Delete a code; if excerpts carry it, only when a lead has confirmed it.

    Excerpts that carry other codes keep them; an excerpt left with no code is deleted with
    it, since an excerpt without a code means nothing. Codes with subthemes must be emptied first.
    """
    if code.children.exists():
        raise ValidationError("Move or delete the subthemes of this code first.")
    n_excerpts = code.applications.count()
    if n_excerpts and not confirmed:
        raise ConfirmationRequired(
            f"“{code.name}” is applied to {n_excerpts} excerpts; deleting it removes it from them.",
            n_excerpts=n_excerpts,
        )
    audit.record(
        "code.deleted", by=by, project=code.project_id, obj=code, before={**_code_state(code), "excerpts": n_excerpts}
    )
    excerpt_ids = list(code.applications.values_list("excerpt_id", flat=True))
    code.applications.all().delete()
    Excerpt.objects.filter(pk__in=excerpt_ids, applications__isnull=True).delete()
    code.delete()


# Excerpts -----------------------------------------------------------------------------------------


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

    With a client_token, a repeated request returns the excerpt the first one made.
    """
    if client_token:
        existing = Excerpt.objects.filter(client_token=client_token).first()
        if existing is not None:
            if existing.transcript_id != transcript.pk or existing.coder_id != by.pk:
                raise ValidationError("This request token was already used for something else.")
            return existing
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
    try:
        with transaction.atomic():
            excerpt.save()
    except IntegrityError:
        if client_token:
            return Excerpt.objects.get(client_token=client_token)
        raise
    CodeApplication.objects.bulk_create(
        CodeApplication(excerpt=excerpt, code=code, applied_by=by) for code in dict.fromkeys(codes)
    )
    audit.record(
        "excerpt.created",
        by=by,
        project=transcript.project_id,
        obj=excerpt,
        after=_excerpt_state(excerpt, [code.pk for code in codes]),
    )
    return excerpt


# De-identification --------------------------------------------------------------------------------


def deidentify_preview(transcript: Transcript) -> list[spans.Replacement]:
    rules = list(transcript.project.pseudonyms.values_list("original", "replacement"))
    return spans.find_replacements(transcript.text, rules)


@transaction.atomic
def deidentify_transcript(transcript: Transcript, *, by, expected_hash: str) -> int:
    """Apply the project's pseudonym list to an uncoded transcript; return the number of changes.

    `expected_hash` is the content hash the user previewed: if the text changed since, the
    preview is stale and nothing is applied.
    """
    transcript = Transcript.objects.select_for_update().get(pk=transcript.pk)
    if transcript.excerpts.exists():
        raise TranscriptTextLocked("This transcript has coded excerpts, so its text can no longer change.")
    if transcript.content_hash != expected_hash:
        raise StaleEdit("The transcript changed since the preview; look at the new preview before applying it.")
    replacements = deidentify_preview(transcript)
    if not replacements:
        return 0
    rules = list(transcript.project.pseudonyms.values_list("original", "replacement"))
    before_hash = transcript.content_hash
    new_text = spans.apply_replacements(transcript.text, replacements)
    turns = [
        SpeakerTurn(
            transcript=transcript,
            start=spans.shift_offset(turn.start, replacements),
            end=spans.shift_offset(turn.end, replacements),
            body_start=spans.shift_offset(turn.body_start, replacements),
            speaker=spans.apply_replacements(turn.speaker, spans.find_replacements(turn.speaker, rules))[:100],
            role=turn.role,
            time_ms=turn.time_ms,
        )
        for turn in transcript.turns.all()
    ]
    transcript.text = new_text
    transcript.save(update_fields=["text"])
    # Recreated rather than updated: shifted starts could collide with the unique (transcript, start)
    # constraint half-way through an UPDATE on PostgreSQL.
    transcript.turns.all().delete()
    SpeakerTurn.objects.bulk_create(turns)
    # The audit trail says what changed without storing the real names it removed.
    audit.record(
        "transcript.deidentified",
        by=by,
        project=transcript.project_id,
        obj=transcript,
        before={"content_hash": before_hash},
        after={"content_hash": transcript.content_hash, "replacements": len(replacements)},
    )
    return len(replacements)


def _excerpt_for_update(excerpt: Excerpt) -> Excerpt:
    try:
        # of=("self",): lock the excerpt row only, not the joined transcript, which other
        # transactions' foreign-key checks need at commit (a deadlock otherwise, on PostgreSQL).
        return Excerpt.objects.select_for_update(of=("self",)).select_related("transcript").get(pk=excerpt.pk)
    except Excerpt.DoesNotExist:
        raise StaleEdit("This excerpt was deleted meanwhile.") from None


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
    """Change an excerpt's codes, memo or boundaries; refuse if someone changed it since `expected_version`."""
    excerpt = _excerpt_for_update(excerpt)
    if excerpt.version != expected_version:
        raise StaleEdit("Someone else changed this excerpt meanwhile; look at their change before saving yours.")
    current_codes = list(excerpt.applications.values_list("code_id", flat=True))
    before = _excerpt_state(excerpt, current_codes)
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
    after = _excerpt_state(excerpt, new_code_ids)
    audit.record(verb, by=by, project=excerpt.transcript.project_id, obj=excerpt, before=before, after=after)
    return excerpt


@transaction.atomic
def delete_excerpt(excerpt: Excerpt, *, by, expected_version: int | None = None) -> None:
    excerpt = _excerpt_for_update(excerpt)
    if expected_version is not None and excerpt.version != expected_version:
        raise StaleEdit("Someone else changed this excerpt meanwhile; look at their change first.")
    before = _excerpt_state(excerpt)
    audit.record("excerpt.deleted", by=by, project=excerpt.transcript.project_id, obj=excerpt, before=before)
    excerpt.delete()


UNDOABLE = ("excerpt.created", "excerpt.changed", "excerpt.deleted")


def last_undoable(transcript: Transcript, user):
    """The user's most recent coding action on this transcript that has not been undone yet."""
    from .models import AuditEvent

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
    codes = {code.pk: code for code in Code.objects.filter(project_id=transcript.project_id)}
    if event.verb == "excerpt.created":
        if excerpt is None:
            raise ValidationError("That excerpt was already deleted.")
        before = _excerpt_state(excerpt)
        pk = excerpt.pk
        excerpt.delete()
        excerpt.pk = pk  # so the trail names the excerpt that was removed
        message = "Undid: new excerpt removed."
        result = {"undid": event.pk, "deleted": before}
    elif event.verb == "excerpt.deleted":
        state = event.before
        missing = [code_id for code_id in state["codes"] if code_id not in codes]
        if missing:
            raise ValidationError("The excerpt's code was deleted meanwhile, so it cannot be restored.")
        restored = Excerpt(
            transcript=transcript, start=state["start"], end=state["end"], coder=by, memo=state.get("memo", "")
        )
        restored.save()
        CodeApplication.objects.bulk_create(
            CodeApplication(excerpt=restored, code_id=code_id, applied_by=by) for code_id in state["codes"]
        )
        message = "Undid: deleted excerpt restored."
        result = {"undid": event.pk, "restored": _excerpt_state(restored, state["codes"])}
        excerpt = restored
    else:
        if excerpt is None:
            raise ValidationError("That excerpt was deleted meanwhile.")
        state = event.before
        if any(code_id not in codes for code_id in state["codes"]):
            raise ValidationError("A code the excerpt had was deleted meanwhile, so the change cannot be undone.")
        before = _excerpt_state(excerpt)
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
        message = "Undid: the excerpt's last change."
        result = {"undid": event.pk, "before": before, "after": _excerpt_state(excerpt, state["codes"])}
    audit.record(
        "excerpt.undone",
        by=by,
        project=transcript.project_id,
        obj=excerpt,
        after={**result, "transcript": transcript.pk},
    )
    return message
