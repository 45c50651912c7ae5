"""A project as a REFI-QDA .qdpx: the database read into the shapes of interop/qdpx, as rows stream.

Reads only, beside codebook.py; the one write is the audit event that says the export happened.
Transcripts, excerpts and code applications come from three queries read in step (each ordered
by transcript, then excerpt), so one transcript's text and coding are in memory at a time and
the number of queries is the same for ten excerpts or a million. What is held whole: the
codebook, participants and their values, people, memos, and the text of excerpt memos (the
writer needs every note before the first source, to place the NoteRefs).

Never exported: the de-identification list (Pseudonym), the audit trail, transcripts' original
file names (they may carry a real name), speaker turns, assignments and exemplar marks.

The consensus coding a lead settled is told apart by who made it: its selections and codings are
created by a user named CONSENSUS_USER_NAME, and the lead who settled it is the selection's
modifying user. Everyone else's coding is created by its coder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.contrib.auth import get_user_model

from . import audit
from .codebook import current_themes
from .interop import qdpx
from .interop.qdpx.themes import code_from_theme
from .models import Attribute, AuditEvent, AttributeValue, CodeApplication, Excerpt, Memo, Participant, Project, Transcript

CONSENSUS_USER_NAME = "Consensus"
CONSENSUS_USER_ID = "peercoding:consensus"
# GUIDs of what has no stored GUID (everything but codes) are uuid5 names under this namespace,
# salted with the project, so a re-export of the same project gives the same GUIDs.
GUID_NAMESPACE = uuid.UUID("6f1d2c3e-8a4b-5e6f-9a0b-1c2d3e4f5a6b")
# Rows fetched per round trip when streaming; bounds memory, not the number of queries counted.
CHUNK = 500


@dataclass(frozen=True)
class ExportOptions:
    consensus_only: bool = False  # only the consensus; otherwise every coder's coding and the consensus
    transcript_ids: tuple[int, ...] = ()  # empty: every transcript


@dataclass
class ExportSummary:
    sources: int = 0
    selections: int = 0
    codings: int = 0
    notes: int = 0
    codes: int = 0
    cases: int = 0
    users: int = 0
    removed: int = 0  # control characters the writer left out of names and notes

    def as_dict(self) -> dict[str, int]:
        return {
            "sources": self.sources,
            "selections": self.selections,
            "codings": self.codings,
            "notes": self.notes,
            "codes": self.codes,
            "cases": self.cases,
            "users": self.users,
        }


class _Guids:
    """Stable GUIDs for one project's rows."""

    def __init__(self, project: Project) -> None:
        self.salt = f"peercoding:{project.slug}:{project.created_at.isoformat()}"

    def __call__(self, kind: str, pk: int | str) -> str:
        return str(uuid.uuid5(GUID_NAMESPACE, f"{self.salt}:{kind}:{pk}"))


def export_project(
    project: Project, out: BinaryIO, *, options: ExportOptions | None = None, by=None,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write `project` to `out` as a .qdpx and record the export in the audit trail; the counts written.

    `progress`, when given, is told how many transcripts have been written so far.
    """
    options = options or ExportOptions()
    shape, summary = build_project(project, options)
    if progress is not None:
        shape.sources = told(shape.sources, progress)
    result = qdpx.write_project(shape, out)
    summary.sources, summary.removed = result.sources, result.removed
    audit.record(
        "project.exported",
        by=by,
        project=project,
        obj=project,
        object_repr=project.name,
        after={
            "format": "qdpx",
            "consensus_only": options.consensus_only,
            "transcripts": "all" if not options.transcript_ids else len(options.transcript_ids),
            **summary.as_dict(),
        },
    )
    return summary


def told(sources: Iterator, progress: Callable[[int], None]) -> Iterator:
    """The sources as they come, telling `progress` how many have been handed on."""
    for done, source in enumerate(sources, start=1):
        yield source
        progress(done)


def build_project(project: Project, options: ExportOptions) -> tuple[qdpx.Project, ExportSummary]:
    """The project in the writer's shapes; `sources` is a generator that queries as it is read."""
    guid = _Guids(project)
    summary = ExportSummary()
    transcripts = project.transcripts.all()
    if options.transcript_ids:
        transcripts = transcripts.filter(pk__in=options.transcript_ids)
    excerpts = Excerpt.objects.filter(transcript__in=transcripts)
    if options.consensus_only:
        excerpts = excerpts.filter(is_consensus=True)
    applications = CodeApplication.objects.filter(excerpt__in=excerpts)

    themes = current_themes(project, quotes=False, counts=False)
    codes = [code_from_theme(theme) for theme in themes]
    code_guids = {code.pk: str(code.guid) for code in project.codes.only("pk", "guid")}
    summary.codes = len(code_guids)

    variables, attributes = _variables(project, guid)
    sources_of = _sources_of_participants(transcripts, guid)
    cases = _cases(project, guid, attributes, sources_of, every=not options.transcript_ids)
    summary.cases = len(cases)

    notes = _memo_notes(project, transcripts, guid) + _excerpt_memo_notes(excerpts, guid)
    summary.notes = len(notes)

    user_ids = _user_ids(project, transcripts, excerpts, applications)
    has_consensus = excerpts.filter(is_consensus=True).exists()
    users = _users(user_ids, guid, consensus=has_consensus)
    summary.users = len(users)
    creator = project.created_by_id

    shape = qdpx.Project(
        name=project.name,
        origin="peercoding",
        description=project.description,
        creating_user=guid("user", creator) if creator in user_ids else "",
        created=project.created_at,
        users=users,
        codes=codes,
        variables=variables,
        cases=cases,
        sources=_sources(transcripts, excerpts, applications, code_guids, guid, summary, has_consensus, user_ids),
        notes=notes,
    )
    return shape, summary


# People -----------------------------------------------------------------------------------------------


def _user_ids(project: Project, transcripts, excerpts, applications) -> set[int]:
    """Everyone who wrote something exported: coders, whoever applied a code, memo authors,
    importers, the project's creator, and the codes' creators (as the trail recorded them)."""
    ids: set[int] = set()
    ids.update(excerpts.order_by().values_list("coder_id", flat=True).distinct())
    ids.update(applications.order_by().values_list("applied_by_id", flat=True).distinct())
    ids.update(Memo.objects.filter(project=project).order_by().values_list("author_id", flat=True).distinct())
    ids.update(transcripts.exclude(imported_by=None).order_by().values_list("imported_by_id", flat=True).distinct())
    creators = AuditEvent.objects.filter(project_id=project.pk, verb="code.created").exclude(actor=None)
    ids.update(creators.order_by().values_list("actor_id", flat=True).distinct())
    if project.created_by_id:
        ids.add(project.created_by_id)
    return ids


def _users(user_ids: set[int], guid: _Guids, *, consensus: bool) -> list[qdpx.User]:
    """A User per person named, and the Consensus user when the file holds consensus coding."""
    users = []
    for person in get_user_model().objects.filter(pk__in=user_ids).order_by("username"):
        name = person.get_full_name() or person.get_username()
        users.append(qdpx.User(guid=guid("user", person.pk), name=name, email=person.email, id=person.get_username()))
    if consensus:
        users.append(qdpx.User(guid=guid("user", "consensus"), name=CONSENSUS_USER_NAME, id=CONSENSUS_USER_ID))
    return users


# Participants -----------------------------------------------------------------------------------------


def _variables(project: Project, guid: _Guids) -> tuple[list[qdpx.Variable], dict[int, Attribute]]:
    variables, attributes = [], {}
    for attribute in project.attributes.order_by("order", "name", "pk"):
        attributes[attribute.pk] = attribute
        variables.append(
            qdpx.Variable(
                guid=guid("attribute", attribute.pk),
                name=attribute.name,
                type_of=qdpx.KIND_TO_TYPE[attribute.kind],
                choices=list(attribute.choices or []) if attribute.kind == Attribute.Kind.CHOICE else [],
            )
        )
    return variables, attributes


def _sources_of_participants(transcripts, guid: _Guids) -> dict[int, list[str]]:
    sources: dict[int, list[str]] = {}
    for pk, participant_id in transcripts.exclude(participant=None).order_by("pk").values_list("pk", "participant_id"):
        sources.setdefault(participant_id, []).append(guid("transcript", pk))
    return sources


def _cases(project: Project, guid: _Guids, attributes: dict, sources_of: dict[int, list[str]], *, every: bool) -> list[qdpx.Case]:
    """A case per participant with their values; with a chosen set of transcripts, only theirs."""
    participants = Participant.objects.filter(project=project).order_by("label", "pk")
    if not every:
        participants = participants.filter(pk__in=list(sources_of))
    values: dict[int, list[qdpx.VariableValue]] = {}
    rows = AttributeValue.objects.filter(participant__in=participants).exclude(value="").order_by("participant_id", "attribute_id")
    for participant_id, attribute_id, value in rows.values_list("participant_id", "attribute_id", "value"):
        if attribute_id in attributes:
            values.setdefault(participant_id, []).append(qdpx.VariableValue(guid("attribute", attribute_id), value))
    return [
        qdpx.Case(
            guid=guid("participant", participant.pk),
            name=participant.label,
            values=values.get(participant.pk, []),
            source_guids=sources_of.get(participant.pk, []),
        )
        for participant in participants.only("pk", "label")
    ]


# Memos ------------------------------------------------------------------------------------------------


def _memo_notes(project: Project, transcripts, guid: _Guids) -> list[qdpx.Note]:
    """Memos on the project, on an exported transcript, or on a code."""
    exported = set(transcripts.values_list("pk", flat=True))
    notes = []
    memos = Memo.objects.filter(project=project).select_related("code").order_by("created_at", "pk")
    for memo in memos:
        if memo.code_id is not None:
            target = qdpx.NoteTarget("code", str(memo.code.guid))
        elif memo.transcript_id is not None:
            if memo.transcript_id not in exported:
                continue
            target = qdpx.NoteTarget("source", guid("transcript", memo.transcript_id))
        else:
            target = qdpx.NoteTarget("project", "")
        notes.append(
            qdpx.Note(
                guid=guid("memo", memo.pk),
                name=memo.title,
                text=memo.body,
                creating_user=guid("user", memo.author_id),
                created=memo.created_at,
                modifying_user=guid("user", memo.author_id),
                modified=memo.updated_at,
                attached_to=[target],
            )
        )
    return notes


def _excerpt_memo_notes(excerpts, guid: _Guids) -> list[qdpx.Note]:
    """The memo written on an excerpt (for consensus, the lead's note why) as a note on its selection."""
    notes = []
    rows = excerpts.exclude(memo="").order_by("transcript_id", "pk")
    for pk, memo, coder_id, is_consensus, created, updated in rows.values_list(
        "pk", "memo", "coder_id", "is_consensus", "created_at", "updated_at"
    ).iterator(chunk_size=CHUNK):
        notes.append(
            qdpx.Note(
                guid=guid("excerpt-memo", pk),
                name="Why the consensus" if is_consensus else "Excerpt memo",
                text=memo,
                creating_user=guid("user", coder_id),
                created=created,
                modifying_user=guid("user", coder_id),
                modified=updated,
                attached_to=[qdpx.NoteTarget("selection", guid("excerpt", pk))],
            )
        )
    return notes


# Sources ----------------------------------------------------------------------------------------------


def _sources(
    transcripts, excerpts, applications, code_guids: dict[int, str], guid: _Guids, summary: ExportSummary,
    has_consensus: bool, user_ids: set[int],
) -> Iterator[qdpx.TextSource]:
    """One TextSource at a time, its selections and codings read in step from two more streams."""
    consensus = guid("user", "consensus") if has_consensus else ""
    people = {pk: guid("user", pk) for pk in user_ids}

    def person(pk: int | None) -> str:
        # Someone who started coding after the people were read is left unnamed, not named wrongly.
        return people.get(pk, "")

    excerpt_rows = _peekable(
        excerpts.order_by("transcript_id", "start", "end", "pk")
        .values_list("pk", "transcript_id", "start", "end", "quote", "coder_id", "is_consensus", "created_at", "updated_at")
        .iterator(chunk_size=CHUNK)
    )
    application_rows = _peekable(
        applications.order_by("excerpt__transcript_id", "excerpt__start", "excerpt__end", "excerpt_id", "code__order", "pk")
        .values_list(
            "excerpt__transcript_id", "excerpt__start", "excerpt__end", "excerpt_id", "code_id", "applied_by_id", "applied_at", "pk"
        )
        .iterator(chunk_size=CHUNK)
    )
    rows = transcripts.order_by("pk").values_list("pk", "title", "text", "imported_by_id", "imported_at")
    for pk, title, text, imported_by, imported_at in rows.iterator(chunk_size=20):
        source = qdpx.TextSource(
            guid=guid("transcript", pk),
            name=title,
            text=text,
            creating_user=person(imported_by),
            created=imported_at,
        )
        excerpt_rows.skip_while(lambda row: row[1] < pk)
        while excerpt_rows.peek() is not None and excerpt_rows.peek()[1] == pk:
            e_pk, _, start, end, quote, coder_id, is_consensus, created, updated = next(excerpt_rows)
            maker = consensus if is_consensus else person(coder_id)
            selection = qdpx.Selection(
                guid=guid("excerpt", e_pk),
                source_guid=source.guid,
                start=start,
                end=end,
                name=_short(quote),
                creating_user=maker,
                created=created,
                modifying_user=person(coder_id),
                modified=updated,
            )
            applier = (lambda _: consensus) if is_consensus else person
            selection.codings = list(_codings(application_rows, (pk, start, end, e_pk), code_guids, guid, applier))
            source.selections.append(selection)
            summary.codings += len(selection.codings)
        summary.selections += len(source.selections)
        yield source


def _codings(application_rows, key: tuple, code_guids: dict[int, str], guid: _Guids, applier) -> Iterator[qdpx.Coding]:  # noqa: ANN001
    """The codings of the excerpt at `key`, read from the application stream that shares its order."""
    # Rows before this excerpt belong to none that is exported.
    application_rows.skip_while(lambda row: row[:4] < key)
    while application_rows.peek() is not None and application_rows.peek()[:4] == key:
        *_, code_id, applied_by, applied_at, a_pk = next(application_rows)
        if code_id not in code_guids:  # a code made after the codebook was read
            continue
        yield qdpx.Coding(
            guid=guid("application", a_pk), code_guid=code_guids[code_id], creating_user=applier(applied_by), created=applied_at
        )


def _short(quote: str, limit: int = 80) -> str:
    """A selection's name: the start of its quote on one line."""
    line = " ".join(quote.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class _peekable:
    """An iterator that can show its next item without taking it."""

    _END = object()

    def __init__(self, items) -> None:
        self.items = iter(items)
        self.head = next(self.items, self._END)

    def peek(self):
        return None if self.head is self._END else self.head

    def __iter__(self):
        return self

    def __next__(self):
        if self.head is self._END:
            raise StopIteration
        item, self.head = self.head, next(self.items, self._END)
        return item

    def skip_while(self, keep_skipping) -> None:
        while self.head is not self._END and keep_skipping(self.head):
            self.head = next(self.items, self._END)
