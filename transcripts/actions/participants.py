"""Participants: created as transcripts name them, and filled in from a participant sheet.

The pure sheet parser lives in `transcripts.interop.readers`; a sheet is stored in one transaction,
so a sheet with one bad value leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import audit
from ..interop.readers import check_filename, parse_participant_sheet
from ..models import Attribute, AttributeValue, Excerpt, Participant, Project
from . import counts

# A participant label inside a file name or a title: "P07", "p-7", "P 12".
LABEL_IN_NAME = re.compile(r"(?<![A-Za-z0-9])(P\s?-?\d{1,4})(?![0-9])", re.IGNORECASE)


def canonical_label(raw: str) -> str:
    """The label written the project's way: "p-7" -> "P07"."""
    digits = re.sub(r"\D", "", raw)
    return f"P{int(digits):02d}"


def participant_for_label(project: Project, label: str, *, by) -> Participant:
    """The project's participant of that label (any case), created (and audited) if there is none."""
    participant = project.participants.filter(label__iexact=label).first()
    if participant is None:
        participant = Participant.objects.create(project=project, label=label)
        audit.record("participant.created", by=by, project=project, obj=participant, after={"label": label})
    return participant


@transaction.atomic
def create_participant(project: Project, label: str, values: dict[Attribute, str], *, by) -> Participant:
    """A participant with its attribute values, audited; a value its attribute refuses raises
    ValidationError and nothing is saved."""
    participant = Participant.objects.create(project=project, label=label)
    stored = {}
    for attribute, raw in values.items():
        value = AttributeValue(participant=participant, attribute=attribute, value=raw)
        value.full_clean()
        value.save()
        stored[attribute.name] = value.value
    audit.record("participant.created", by=by, project=project, obj=participant, after={"label": label, **stored})
    return participant


@dataclass
class SheetResult:
    created: int = 0
    updated: int = 0
    linked_transcripts: int = 0


def read_participant_sheet(filename: str, data: bytes):
    """Parse a sheet or raise ImportRefused with a message for the researcher."""
    name = check_filename(filename)
    return parse_participant_sheet(name, data, max_bytes=settings.UPLOAD_MAX_BYTES)


@transaction.atomic
def import_participant_sheet(project: Project, sheet, *, by, kinds: dict[str, str] | None = None) -> SheetResult:
    """Create or update participants and their attributes from a parsed sheet.

    `kinds` overrides the inferred type of a column. Every value is validated against its
    attribute's type first; one bad value refuses the whole sheet (ValidationError listing
    the problems), so a sheet is imported whole or not at all.
    """
    result = SheetResult()
    attributes = _sheet_attributes(project, sheet, kinds or {})
    parsed_rows = _parsed_rows(sheet, attributes)
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
    result.linked_transcripts = _link_transcripts_by_title(project, existing)
    audit.record(
        "participants.imported",
        by=by,
        project=project,
        after={"created": result.created, "updated": result.updated, "columns": [c.name for c in sheet.columns]},
    )
    return result


def _sheet_attributes(project: Project, sheet, kinds: dict[str, str]) -> dict[str, Attribute]:
    """The project's attribute for each column, created if new; a choice attribute learns new choices."""
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
                label=Attribute.label_for(column.name),
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
    return attributes


@transaction.atomic
def change_attribute_label(attribute: Attribute, label: str, *, by) -> None:
    """Rename what people read for an attribute; its key (the sheet's header) stays."""
    before = attribute.label
    attribute.label = label.strip() or Attribute.label_for(attribute.name)
    if attribute.label == before:
        return
    attribute.save(update_fields=["label"])
    audit.record(
        "attribute.relabelled",
        by=by,
        project=attribute.project_id,
        obj=attribute,
        before={"name": attribute.name, "label": before},
        after={"name": attribute.name, "label": attribute.label},
    )


def _parsed_rows(sheet, attributes: dict[str, Attribute]) -> list[tuple[str, dict]]:
    """Each row's label and parsed values; ValidationError listing the first 20 bad values."""
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
    return parsed_rows


def _link_transcripts_by_title(project: Project, participants: dict[str, Participant]) -> int:
    """Give transcripts without a participant the one their title names (e.g. "P07 interview")."""
    linked = []
    for transcript in project.transcripts.filter(participant__isnull=True).defer("text"):
        match = LABEL_IN_NAME.search(transcript.title)
        if match and canonical_label(match.group(1)).lower() in participants:
            transcript.participant = participants[canonical_label(match.group(1)).lower()]
            linked.append(transcript)
    # Their excerpts now count for a participant (actions/counts.py).
    coded = Excerpt.objects.filter(transcript__in=[t.pk for t in linked]).values_list("pk", flat=True)
    with counts.changing(project.pk, lambda: list(coded) if linked else [], pairs=False):
        for transcript in linked:
            transcript.save(update_fields=["participant"])
    return len(linked)
