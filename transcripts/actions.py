"""Writes that span models, must be atomic, or need an audit row.

Every function here takes `by`, the user on whose behalf it acts, and records an AuditEvent
inside the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

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
    # With the guid, the codebook history can replay a code's life from the audit trail alone.
    "guid",
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


# Teamwork: members, accounts, assignments, blind coding, consensus ------------------------------


def _refuse_losing_the_last_lead(membership: Membership) -> None:
    if membership.role == Membership.Role.LEAD and not (
        Membership.objects.filter(project_id=membership.project_id, role=Membership.Role.LEAD)
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ValidationError("A project needs at least one lead: make someone else a lead first.")


@transaction.atomic
def change_role(membership: Membership, role: str, *, by) -> Membership:
    """Give a member another role; the last lead keeps theirs."""
    if role not in Membership.Role.values:
        raise ValidationError("Choose lead, coder or reader.")
    if role == membership.role:
        return membership
    _refuse_losing_the_last_lead(membership)
    return set_role(membership.project, membership.user, role, by=by)


@transaction.atomic
def remove_member(membership: Membership, *, by) -> None:
    """Take someone off a project: access ends with their next request.

    Their coding stays (it is research data, attributed to them); their unfinished assignments
    go; and they are logged out everywhere, so no open page of theirs keeps showing the project.
    """
    from django.contrib.sessions.models import Session

    from .models import TranscriptAssignment

    _refuse_losing_the_last_lead(membership)
    user = membership.user
    open_assignments = TranscriptAssignment.objects.filter(
        transcript__project_id=membership.project_id, coder=user, done_at__isnull=True
    )
    n_open = open_assignments.count()
    open_assignments.delete()
    audit.record(
        "member.removed",
        by=by,
        project=membership.project_id,
        obj=membership,
        object_repr=user.get_username(),
        before={"user": user.get_username(), "role": membership.role},
        after={"open_assignments_removed": n_open},
    )
    membership.delete()
    # Sessions are few (they expire after a short idle time), so reading each one is cheap.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()


@transaction.atomic
def create_account(project: Project, *, username: str, first_name: str, last_name: str, role: str, by):
    """A new account with no usable password, added to the project; the lead hands over a
    one-time link to set the password (views.set_password)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError("That user name is taken; add the existing account instead.")
    user = User(username=username, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    user.save()
    audit.record(
        "account.created", by=by, project=project, obj=user, object_repr=username, after={"username": username}
    )
    set_role(project, user, role, by=by)
    return user


@transaction.atomic
def assign_with_overlap(
    project: Project, transcripts: Sequence[Transcript], coders: Sequence, *, share: float, seed: int, by
) -> list:
    """Assign transcripts round-robin, a random `share` to a second coder too (assigning.plan_overlap).

    Pairs that already exist are kept as they are. The seed goes into the audit trail, so the
    sample can be drawn again exactly.
    """
    from .assigning import plan_overlap
    from .models import TranscriptAssignment

    for transcript in transcripts:
        if transcript.project_id != project.pk:
            raise ValidationError("A transcript of another project cannot be assigned here.")
    members = set(
        Membership.objects.filter(
            project=project, role__in=[Membership.Role.LEAD, Membership.Role.CODER]
        ).values_list("user_id", flat=True)
    )
    if any(coder.pk not in members for coder in coders):
        raise ValidationError("Only the project's leads and coders can be assigned transcripts.")
    try:
        plan = plan_overlap([t.pk for t in transcripts], [c.pk for c in coders], share, seed)
    except ValueError as error:
        raise ValidationError(str(error).capitalize() + ".") from None
    existing = set(
        TranscriptAssignment.objects.filter(transcript__in=transcripts).values_list("transcript_id", "coder_id")
    )
    new = [pair for pair in plan if pair not in existing]
    created = TranscriptAssignment.objects.bulk_create(
        TranscriptAssignment(transcript_id=transcript_id, coder_id=coder_id, assigned_by=by)
        for transcript_id, coder_id in new
    )
    audit.record(
        "assignment.created",
        by=by,
        project=project,
        after={
            "seed": seed,
            "share": share,
            "transcripts": [t.pk for t in transcripts],
            "coders": [c.pk for c in coders],
            "assigned": [list(pair) for pair in new],
            "already_assigned": [list(pair) for pair in plan if pair in existing],
        },
    )
    return created


@transaction.atomic
def set_assignment_done(assignment, done: bool, *, by) -> None:
    """Mark a coder's assignment done, or open it again."""
    before = {"done_at": assignment.done_at}
    assignment.done_at = timezone.now() if done else None
    assignment.save(update_fields=["done_at"])
    audit.record(
        "assignment.done" if done else "assignment.reopened",
        by=by,
        project=assignment.transcript.project_id,
        obj=assignment,
        before=before,
        after={"done_at": assignment.done_at, "transcript": assignment.transcript_id, "coder": assignment.coder_id},
    )


@transaction.atomic
def remove_assignment(assignment, *, by) -> None:
    audit.record(
        "assignment.removed",
        by=by,
        project=assignment.transcript.project_id,
        obj=assignment,
        before={"transcript": assignment.transcript_id, "coder": assignment.coder_id, "done_at": assignment.done_at},
    )
    assignment.delete()


@transaction.atomic
def set_blinding(project: Project, *, blind_coding: bool, comparison_open: bool, by) -> None:
    """Turn the project's blind coding on or off, and open or close comparison."""
    before = {"blind_coding": project.blind_coding, "comparison_open": project.comparison_open}
    after = {"blind_coding": blind_coding, "comparison_open": comparison_open}
    if before == after:
        return
    project.blind_coding, project.comparison_open = blind_coding, comparison_open
    project.save(update_fields=["blind_coding", "comparison_open"])
    audit.record("project.blinding_changed", by=by, project=project, obj=project, before=before, after=after)


@transaction.atomic
def set_transcript_blinding(transcript: Transcript, blind: bool, *, by) -> None:
    if transcript.blind_coding == blind:
        return
    before = {"blind_coding": transcript.blind_coding}
    transcript.blind_coding = blind
    # An update, not save(): save() re-hashes the text, which this change does not touch.
    Transcript.objects.filter(pk=transcript.pk).update(blind_coding=blind)
    audit.record(
        "transcript.blinding_changed", by=by, project=transcript.project_id, obj=transcript,
        before=before, after={"blind_coding": blind},
    )


@transaction.atomic
def settle_consensus(
    transcript: Transcript,
    *,
    originals: Sequence[Excerpt],
    versions: Sequence[tuple[int, int, Sequence[Code]]],
    choice: str,
    note: str,
    by,
) -> list[Excerpt]:
    """Write the consensus for one disagreement: new excerpts marked `is_consensus`, by the lead,
    with the note as their memo. The coders' own excerpts (`originals`) are never changed.

    `versions` are the (start, end, codes) to write; `choice` says how they were reached
    ("accept:<coder id>", "merge" or "new") and goes into the audit trail with the originals' ids.
    """
    note = note.strip()
    if not note:
        raise ValidationError("Write a note on why: it stays with the consensus.")
    if not versions:
        raise ValidationError("There is nothing to write into the consensus.")
    for original in originals:
        if original.transcript_id != transcript.pk or original.is_consensus:
            raise ValidationError("Those excerpts are not coders' coding of this transcript.")
    settled = []
    for start, end, codes in versions:
        if not codes:
            raise ValidationError("A consensus excerpt needs at least one code.")
        if any(code.project_id != transcript.project_id for code in codes):
            raise ValidationError("A code of another project cannot be applied here.")
        try:
            spans.check_span(transcript.text, start, end)
        except ValueError as error:
            raise ValidationError(f"The passage does not fit the transcript: {error}.") from None
        excerpt = Excerpt(transcript=transcript, start=start, end=end, coder=by, memo=note, is_consensus=True)
        excerpt.save()
        CodeApplication.objects.bulk_create(
            CodeApplication(excerpt=excerpt, code=code, applied_by=by) for code in dict.fromkeys(codes)
        )
        settled.append(excerpt)
    audit.record(
        "consensus.settled",
        by=by,
        project=transcript.project_id,
        obj=transcript,
        after={
            "choice": choice,
            "note": note,
            "from_excerpts": sorted(original.pk for original in originals),
            "consensus": [
                {"excerpt": e.pk, "start": e.start, "end": e.end, "quote": e.quote, "codes": sorted({c.pk for c in codes})}
                for e, (_, _, codes) in zip(settled, versions)
            ],
        },
    )
    return settled


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
    excerpt.code_ids = list(new_code_ids)
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


# Review -------------------------------------------------------------------------------------------


@transaction.atomic
def set_exemplar(application: CodeApplication, is_exemplar: bool, *, by) -> CodeApplication:
    """Mark or unmark an excerpt as an exemplar of one of its codes; recorded even when unchanged."""
    application = CodeApplication.objects.select_for_update(of=("self",)).select_related("code").get(pk=application.pk)
    before = {"is_exemplar": application.is_exemplar}
    if application.is_exemplar != is_exemplar:
        application.is_exemplar = is_exemplar
        application.save(update_fields=["is_exemplar"])
    audit.record(
        "exemplar.marked" if is_exemplar else "exemplar.unmarked",
        by=by,
        project=application.code.project_id,
        obj=application,
        before=before,
        after={"is_exemplar": is_exemplar, "code": application.code_id, "excerpt": application.excerpt_id},
    )
    return application


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


# Second factor ----------------------------------------------------------------------------------


@transaction.atomic
def confirm_second_factor(device, *, by) -> None:
    """Count a TOTP device once its owner has entered a right code; drop any other pending one."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).exclude(pk=device.pk).delete()
    audit.record("account.2fa_enabled", by=by, obj=device.user, object_repr=device.user.get_username())


@transaction.atomic
def remove_second_factor(user, *, by) -> None:
    """Delete every TOTP device of the user, confirmed or pending."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    audit.record("account.2fa_disabled", by=by, obj=user, object_repr=user.get_username())
