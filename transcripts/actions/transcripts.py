"""Transcripts: imported (or typed in) with their speaker turns, de-identified, deleted.

The pure parsers live in `transcripts.interop.readers`; this module matches what they found to the
project's participants and stores it, one file per transaction, so a refused file never
leaves anything behind and never stops the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .. import audit, spans
from ..interop.readers import ImportRefused, ParsedTranscript, check_filename, parse_transcript
from ..models import CodeApplication, Participant, Project, SpeakerTurn, Transcript, TranscriptTextLocked
from ..suggestions.tasks import after_coding_changed
from . import counts
from .base import ConfirmationRequired, StaleEdit
from .participants import LABEL_IN_NAME, canonical_label, participant_for_label

INTERVIEWER_LABELS = {"interviewer", "i", "q", "int", "interviewer 1", "interviewer 2", "moderator", "facilitator"}


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
    after_coding_changed(transcript.project_id)
    with counts.changing(transcript.project_id, lambda: transcript.excerpts.values_list("pk", flat=True)):
        CodeApplication.objects.filter(excerpt__transcript=transcript).delete()
        transcript.excerpts.all().delete()
        transcript.delete()


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


# Importing files ------------------------------------------------------------------------------


@dataclass
class FileResult:
    """What happened to one uploaded file, for the page and the command line."""

    name: str
    transcript: Transcript | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)
    speakers: dict[str, str] = field(default_factory=dict)  # label -> role

    @property
    def ok(self) -> bool:
        return self.transcript is not None


def guess_participant_label(filename: str, parsed: ParsedTranscript) -> str | None:
    """A label like P07 from the file name, else from a speaker label, else None."""
    match = LABEL_IN_NAME.search(PurePath(filename).stem)
    if match:
        return canonical_label(match.group(1))
    for turn in parsed.turns:
        if LABEL_IN_NAME.fullmatch(turn.speaker.strip()):
            return canonical_label(turn.speaker)
    return None


def guess_speaker_roles(parsed: ParsedTranscript, participant_label: str | None) -> dict[str, str]:
    roles: dict[str, str] = {}
    for turn in parsed.turns:
        label = turn.speaker
        if label in roles:
            continue
        key = label.strip().lower()
        if key in INTERVIEWER_LABELS or key.startswith("interviewer"):
            roles[label] = SpeakerTurn.Role.INTERVIEWER
        elif participant_label and LABEL_IN_NAME.fullmatch(label.strip()) and canonical_label(label) == participant_label:
            roles[label] = SpeakerTurn.Role.PARTICIPANT
        elif key in {"a", "r", "participant", "interviewee", "respondent"}:
            roles[label] = SpeakerTurn.Role.PARTICIPANT
        else:
            roles[label] = SpeakerTurn.Role.OTHER
    # Two voices, one of them the interviewer: the other is the participant.
    others = [label for label, role in roles.items() if role == SpeakerTurn.Role.OTHER]
    if len(roles) == 2 and len(others) == 1 and SpeakerTurn.Role.INTERVIEWER in roles.values():
        roles[others[0]] = SpeakerTurn.Role.PARTICIPANT
    return roles


def _unique_title(project: Project, wanted: str) -> str:
    taken = set(project.transcripts.filter(title__startswith=wanted).values_list("title", flat=True))
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted} ({n})" in taken:
        n += 1
    return f"{wanted} ({n})"


def import_transcript_file(project: Project, filename: str, data: bytes, *, by) -> FileResult:
    """Parse and store one file in its own transaction; never raises for bad input."""
    result = FileResult(name=filename)
    try:
        name = check_filename(filename)
        result.name = name
        parsed = parse_transcript(name, data, max_bytes=settings.UPLOAD_MAX_BYTES)
    except ImportRefused as refusal:
        result.error = str(refusal)
        return result
    label = guess_participant_label(name, parsed)
    roles = guess_speaker_roles(parsed, label)
    try:
        with transaction.atomic():
            transcript = create_transcript(
                project,
                title=_unique_title(project, PurePath(name).stem[:200]),
                text=parsed.text,
                by=by,
                participant=participant_for_label(project, label, by=by) if label else None,
                turns=parsed.turns,
                source_name=name,
                source_format=parsed.format,
                speaker_roles=roles,
            )
    except (ValidationError, IntegrityError) as error:
        result.error = f"{name} could not be saved: {_plain_error(error)}"
        return result
    result.transcript = transcript
    result.notes = list(parsed.notes)
    result.speakers = roles
    return result


def _plain_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return "it conflicts with data already in the project."


@transaction.atomic
def set_speaker_roles(transcript: Transcript, roles: dict[str, str], *, by) -> None:
    """Map speaker labels to interviewer / participant / other for one transcript."""
    valid = set(SpeakerTurn.Role.values)
    before = dict(transcript.turns.values_list("speaker", "role").distinct())
    for label, role in roles.items():
        if role not in valid:
            raise ValidationError(f"{role!r} is not a speaker role.")
        transcript.turns.filter(speaker=label).update(role=role)
    after = dict(transcript.turns.values_list("speaker", "role").distinct())
    if after != before:
        audit.record(
            "transcript.speakers_mapped", by=by, project=transcript.project_id, obj=transcript, before=before, after=after
        )
