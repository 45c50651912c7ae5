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
