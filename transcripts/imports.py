"""Getting transcripts and participant sheets into a project.

The pure parsers live in `transcripts.interop.readers`; this module matches what they found to the
project's participants and stores it, one file per transaction, so a refused file never
leaves anything behind and never stops the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import actions, audit
from .interop.readers import ImportRefused, ParsedTranscript, check_filename, parse_participant_sheet, parse_transcript
from .models import Attribute, AttributeValue, Participant, Project, SpeakerTurn, Transcript

INTERVIEWER_LABELS = {"interviewer", "i", "q", "int", "interviewer 1", "interviewer 2", "moderator", "facilitator"}
_LABEL_IN_NAME = re.compile(r"(?<![A-Za-z0-9])(P\s?-?\d{1,4})(?![0-9])", re.IGNORECASE)


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
    match = _LABEL_IN_NAME.search(PurePath(filename).stem)
    if match:
        return _canonical_label(match.group(1))
    for turn in parsed.turns:
        if _LABEL_IN_NAME.fullmatch(turn.speaker.strip()):
            return _canonical_label(turn.speaker)
    return None


def _canonical_label(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    return f"P{int(digits):02d}"


def guess_speaker_roles(parsed: ParsedTranscript, participant_label: str | None) -> dict[str, str]:
    roles: dict[str, str] = {}
    for turn in parsed.turns:
        label = turn.speaker
        if label in roles:
            continue
        key = label.strip().lower()
        if key in INTERVIEWER_LABELS or key.startswith("interviewer"):
            roles[label] = SpeakerTurn.Role.INTERVIEWER
        elif participant_label and _LABEL_IN_NAME.fullmatch(label.strip()) and _canonical_label(label) == participant_label:
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
            participant = None
            if label:
                participant = project.participants.filter(label__iexact=label).first()
                if participant is None:
                    participant = Participant.objects.create(project=project, label=label)
                    audit.record("participant.created", by=by, project=project, obj=participant, after={"label": label})
            transcript = actions.create_transcript(
                project,
                title=_unique_title(project, PurePath(name).stem[:200]),
                text=parsed.text,
                by=by,
                participant=participant,
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


# Participant sheets ---------------------------------------------------------------------------


@dataclass
class SheetResult:
    created: int = 0
    updated: int = 0
    linked_transcripts: int = 0


@transaction.atomic
def import_participant_sheet(
    project: Project, sheet, *, by, kinds: dict[str, str] | None = None
) -> SheetResult:
    """Create or update participants and their attributes from a parsed sheet.

    `kinds` overrides the inferred type of a column. Every value is validated against its
    attribute's type first; one bad value refuses the whole sheet (ValidationError listing
    the problems), so a sheet is imported whole or not at all.
    """
    kinds = kinds or {}
    result = SheetResult()
    attributes: dict[str, Attribute] = {}
    for order, column in enumerate(sheet.columns):
        kind = kinds.get(column.name, column.kind)
        if kind not in Attribute.Kind.values:
            raise ValidationError(f"{kind!r} is not an attribute type.")
        attribute = project.attributes.filter(name__iexact=column.name).first()
        if attribute is None:
            attribute = Attribute.objects.create(
                project=project,
                name=column.name,
                kind=kind,
                choices=sorted({row.values.get(column.name, "") for row in sheet.rows} - {""}) if kind == "choice" else [],
                order=order,
            )
        elif attribute.kind == Attribute.Kind.CHOICE:
            extra = {row.values.get(column.name, "") for row in sheet.rows} - {""} - set(attribute.choices)
            if extra:
                attribute.choices = sorted({*attribute.choices, *extra})
                attribute.save(update_fields=["choices"])
        attributes[column.name] = attribute

    problems: list[str] = []
    parsed_rows = []
    for row in sheet.rows:
        values = {}
        for name, raw in row.values.items():
            if name not in attributes:
                continue
            try:
                values[name] = attributes[name].parse(raw)
            except ValidationError as error:
                problems.append(f"{row.label}: {' '.join(error.messages)}")
        parsed_rows.append((row.label, values))
    if problems:
        raise ValidationError(problems[:20] + ([f"…and {len(problems) - 20} more."] if len(problems) > 20 else []))

    existing = {p.label.lower(): p for p in project.participants.all()}
    for label, values in parsed_rows:
        participant = existing.get(label.lower())
        if participant is None:
            participant = Participant.objects.create(project=project, label=label)
            existing[label.lower()] = participant
            result.created += 1
        else:
            result.updated += 1
        for name, (text, number, date) in values.items():
            AttributeValue.objects.update_or_create(
                participant=participant,
                attribute=attributes[name],
                defaults={"value": text, "number": number, "date": date},
            )
    # Match transcripts that have no participant yet by their title (e.g. "P07 interview").
    for transcript in project.transcripts.filter(participant__isnull=True).defer("text"):
        match = _LABEL_IN_NAME.search(transcript.title)
        if match and _canonical_label(match.group(1)).lower() in existing:
            transcript.participant = existing[_canonical_label(match.group(1)).lower()]
            transcript.save(update_fields=["participant"])
            result.linked_transcripts += 1
    audit.record(
        "participants.imported",
        by=by,
        project=project,
        after={"created": result.created, "updated": result.updated, "columns": [c.name for c in sheet.columns]},
    )
    return result


def read_participant_sheet(filename: str, data: bytes):
    """Parse a sheet or raise ImportRefused with a message for the researcher."""
    name = check_filename(filename)
    return parse_participant_sheet(name, data, max_bytes=settings.UPLOAD_MAX_BYTES)
