"""A whole REFI-QDA project (.qdpx, .qde) brought in as a new peercoding project.

The pure reader (interop.qdpx) turns the file into plain shapes; `prepare_project_import` works
out, without writing anything, what will come in and under which names, what stays behind and
who in the file may be whom here: that is the preview. `import_project` then writes it all into
a new project in one transaction, so a file that fails half-way leaves nothing behind.

Source texts are normalised as every imported transcript is (spans.normalize_text), and each
selection's positions are carried through that normalisation by an offset map, so an excerpt
quotes exactly the characters the other tool highlighted.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from .. import audit, spans
from ..interop import qdpx
from ..interop.qdpx.themes import theme_from_code
from ..interop.readers.base import quoted
from ..models import Attribute, AttributeValue, Code, CodeApplication, Excerpt, Membership, Memo, Participant, Project, Transcript
from .base import excerpt_state
from .codebook import create_code, sibling_name
from .projects import create_project

LIMIT_SETTING = "PROJECT_ARCHIVE_MAX_MB"
_SET_AS_ATTRIBUTE = re.compile(r"^\s*([^:]{1,100}?)\s*:\s*(\S.*)$")  # ATLAS.ti's "gender: male"
_VERSION = re.compile(r"\s+v?\d.*$")
CODE_NAME_MAX = Code._meta.get_field("name").max_length
TITLE_MAX = Transcript._meta.get_field("title").max_length
LABEL_MAX = Participant._meta.get_field("label").max_length
ATTRIBUTE_MAX = Attribute._meta.get_field("name").max_length


def read_project_file(filename: str, data: bytes | BinaryIO) -> qdpx.Project:
    """The project in an uploaded .qdpx or .qde; ImportRefused naming the problem (and the limit's setting)."""
    return qdpx.read_project(
        filename, data, max_bytes=settings.PROJECT_ARCHIVE_MAX_BYTES, limit_setting=LIMIT_SETTING
    )


# The preview ------------------------------------------------------------------------------------------


COUNT_NOUNS = {
    "sources": ("source", "sources"),
    "codes": ("code", "codes"),
    "selections": ("selection", "selections"),
    "codings": ("coding", "codings"),
    "notes": ("note", "notes"),
    "cases": ("case", "cases"),
    "variables": ("variable", "variables"),
    "users": ("user", "users"),
}


@dataclass
class FileUser:
    """A user named in the file, and the accounts here the importer may say they are."""

    guid: str
    name: str
    email: str
    imported_name: str  # the inactive account's name if none is chosen
    candidates: list = field(default_factory=list)  # accounts matching by e-mail or name


@dataclass
class PreparedSource:
    source: qdpx.TextSource
    text: str
    spans: list[tuple[qdpx.Selection, int, int]]  # each kept selection with its normalised span
    title: str


@dataclass
class PreparedImport:
    """What importing the file will do; nothing is written to make it."""

    project: qdpx.Project
    filename: str
    tool: str
    sources: list[PreparedSource]
    users: list[FileUser]
    notes: list[str]  # what was bent, renamed or could not be carried over
    left_out: str  # "3 PDF sources, 2 audio sources and 16 sets", or ""
    code_names: dict[str, str]  # GUID -> the name it gets here, where that differs

    @property
    def counts(self) -> dict[str, int]:
        return self.project.counts()

    def counts_sentence(self) -> str:
        """ "2 sources, 262 codes, 158 selections, 205 codings, 0 notes, 0 cases, 0 variables and 1 user"."""
        parts = [f"{n:,} {COUNT_NOUNS[key][n != 1]}" for key, n in self.counts.items()]
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def left_out_sentence(self) -> str:
        """ "3 PDF sources and 1 graph are not imported.", or that nothing is left out."""
        if not self.left_out:
            return "Nothing is left out: everything in the file that peercoding can hold comes in."
        single = self.left_out.startswith("1 ") and "," not in self.left_out and " and " not in self.left_out
        return f"{self.left_out} {'is' if single else 'are'} not imported."

    def preview_lines(self) -> list[str]:
        """The preview as plain lines, for the command line."""
        file = self.project
        lines = [
            f"{self.filename}: “{file.name or 'unnamed project'}”" + (f", written by {file.origin}" if file.origin else ""),
            f"Comes in: {self.counts_sentence()}.",
            f"Selection positions read as {file.offset_reading}.",
            self.left_out_sentence(),
        ]
        lines += [f"Note: {note}" for note in self.notes]
        return lines


def tool_name(origin: str) -> str:
    """The other tool's name without its version: "NVivo for Mac 15.0.0" -> "NVivo for Mac"."""
    name = _VERSION.sub("", origin.split("(")[0].strip()).strip()
    return name[:60] or "REFI-QDA"


def prepare_project_import(project: qdpx.Project, filename: str) -> PreparedImport:
    """What importing `project` will bring in and leave out, for the preview and for import_project."""
    notes = list(project.messages)
    tool = tool_name(project.origin)
    prepared = [_prepare_source(source, notes) for source in project.sources]
    _unique_titles(prepared)
    code_names = _code_names(project.codes, notes)
    left = +project.left_out
    attribute_sets = [s for s in project.sets if _SET_AS_ATTRIBUTE.match(s.name) and not s.code_guids and not s.note_guids]
    if attribute_sets:
        notes.append(
            f"{len(attribute_sets):,} of the sets are named like attributes (“{attribute_sets[0].name}”), as ATLAS.ti "
            "writes document attributes; they were not made into participant attributes."
        )
    n_source_values = sum(len(source.values) for source in project.sources)
    if n_source_values:
        notes.append(
            f"{n_source_values:,} variable value{'s' if n_source_values != 1 else ''} set on sources rather than "
            "cases were not imported: attributes here belong to participants."
        )
    misfits = _values_that_do_not_fit(project)
    if misfits:
        notes.append(f"{misfits:,} case value{'s' if misfits != 1 else ''} did not fit the variable's type and will be left empty.")
    for target_kind, n in _unattachable_notes(project, prepared).items():
        became = "became a project memo" if n == 1 else "became project memos"
        notes.append(f"{n:,} note{'s' if n != 1 else ''} attached to a {target_kind.replace('_', ' ')} {became}.")
    return PreparedImport(
        project=project,
        filename=filename,
        tool=tool,
        sources=prepared,
        users=[_file_user(user, tool) for user in project.users],
        notes=notes,
        left_out=qdpx.describe_left_out(left),
        code_names=code_names,
    )


def _value_for(attribute: Attribute, raw: str) -> str:
    """A value as its attribute reads it; a yes/no variable's 1 and 0 are true and false."""
    raw = raw.strip()
    if attribute.kind == "choice" and attribute.choices == ["true", "false"]:
        return {"1": "true", "0": "false"}.get(raw.lower(), raw.lower())
    return raw


def _values_that_do_not_fit(project: qdpx.Project) -> int:
    attributes = {v.guid: Attribute(name=v.name, kind=v.kind, choices=v.choices if v.kind == "choice" else []) for v in project.variables}
    misfits = 0
    for case in project.cases:
        for value in case.values:
            attribute = attributes[value.variable_guid]
            try:
                attribute.parse(_value_for(attribute, value.value))
            except ValidationError:
                misfits += 1
    return misfits


def _prepare_source(source: qdpx.TextSource, notes: list[str]) -> PreparedSource:
    text, down, up = spans.normalize_with_map(source.text)
    kept = []
    emptied = 0
    for selection in source.selections:
        start, end = down[selection.start], up[selection.end]
        if end <= start:
            emptied += 1
            continue
        kept.append((selection, start, end))
    if emptied:
        notes.append(
            f"{emptied:,} selection{'s' if emptied != 1 else ''} in {quoted(source.name)} held only characters that "
            "peercoding removes from every transcript (control characters, byte-order marks) and were left out."
        )
    title = " ".join(source.name.split())[:TITLE_MAX] or "Untitled source"
    return PreparedSource(source, text, kept, title)


def _unique_titles(prepared: list[PreparedSource]) -> None:
    taken: set[str] = set()
    for item in prepared:
        title, n = item.title, 2
        while title.lower() in taken:
            suffix = f" ({n})"
            title = item.title[: TITLE_MAX - len(suffix)] + suffix
            n += 1
        taken.add(title.lower())
        item.title = title


def _code_names(codes: list[qdpx.Code], notes: list[str]) -> dict[str, str]:
    """Names that must change to fit here: blank, too long, or shared by two siblings (any case)."""
    renamed: dict[str, str] = {}
    counts: defaultdict[str, int] = defaultdict(int)

    def visit(level: list[qdpx.Code]) -> None:
        seen: set[str] = set()
        for code in level:
            name = " ".join(code.name.split())
            if not name:
                name = "Unnamed code"
                counts["had no name and were named “Unnamed code”"] += 1
            if len(name) > CODE_NAME_MAX:
                name = name[: CODE_NAME_MAX - 1] + "…"
                counts[f"had names longer than {CODE_NAME_MAX} characters, which were shortened"] += 1
            if name.lower() in seen:
                name = sibling_name(name, seen)
                counts["shared a name with a sibling and were numbered"] += 1
            seen.add(name.lower())
            if name != code.name:
                renamed[code.guid] = name
            visit(code.children)

    visit(codes)
    for what, n in counts.items():
        notes.append(f"{n:,} code{'s' if n != 1 else ''} {what}.")
    return renamed


_MEMO_KINDS = {"project", "code", "source", "selection", "coding"}


def _unattachable_notes(project: qdpx.Project, prepared: list[PreparedSource]) -> dict[str, int]:
    """Note targets that come in as project memos: kinds we hold no memo on, or things left out."""
    present = {"project": {""}, "code": {code.guid for code in project.all_codes()}, "source": set(), "selection": set(), "coding": set()}
    for item in prepared:
        present["source"].add(item.source.guid)
        for selection, _, _ in item.spans:
            present["selection"].add(selection.guid)
            present["coding"].update(coding.guid for coding in selection.codings)
    counts: defaultdict[str, int] = defaultdict(int)
    for note in project.notes:
        for target in note.attached_to:
            if target.kind not in _MEMO_KINDS:
                counts[target.kind] += 1
            elif target.guid not in present[target.kind]:
                counts[f"{target.kind} that is not imported"] += 1
    return counts


def imported_name(name: str, tool: str) -> tuple[str, str]:
    """First and last name of the inactive account made for a file's user: ("Ana R.", "(imported from NVivo)")."""
    return (" ".join(name.split()) or "Unnamed user")[:150], f"(imported from {tool})"[:150]


def _file_user(user: qdpx.User, tool: str) -> FileUser:
    User = get_user_model()
    name = " ".join(user.name.split())
    match = Q(pk__in=[])
    if user.email:
        match |= Q(email__iexact=user.email)
    if name:
        match |= Q(username__iexact=name)
        first, _, last = name.rpartition(" ")
        if first and last:
            match |= Q(first_name__iexact=first, last_name__iexact=last)
    first, last = imported_name(name, tool)
    return FileUser(
        guid=user.guid,
        name=name,
        email=user.email,
        imported_name=f"{first} {last}",
        candidates=list(User.objects.filter(match).order_by("username")[:10]),
    )


# The import --------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    project: Project
    transcripts: int = 0
    codes: int = 0
    excerpts: int = 0
    applications: int = 0
    memos: int = 0
    participants: int = 0
    attributes: int = 0
    accounts_created: int = 0
    accounts_mapped: int = 0
    notes: list[str] = field(default_factory=list)  # said after the import (values that did not fit)


@transaction.atomic
def import_project(
    prepared: PreparedImport,
    *,
    name: str,
    slug: str,
    by,
    mapping: dict[str, object] | None = None,
    description: str | None = None,
) -> ImportResult:
    """Write the prepared file into a new project led by `by`; all of it or, on any error, nothing.

    `mapping` says, per file user GUID, which existing account they are; the others get an
    inactive account that cannot log in. IntegrityError when the slug is taken.
    """
    file = prepared.project
    project = create_project(name, slug, by=by, description=file.description if description is None else description)
    result = ImportResult(project=project)
    users = _import_users(project, prepared, mapping or {}, by, result)

    def user_of(guid: str):
        return users.get(guid, by)

    codes = _import_codes(project, prepared, by, result)
    participants = _import_cases(project, file, by, result)
    transcripts = _import_sources(project, prepared, participants, by, user_of, codes, result)
    _import_notes(project, file, transcripts, codes, user_of, result)
    _record_excerpts(project, by)
    audit.record(
        "project.imported",
        by=by,
        project=project,
        obj=project,
        after={
            "file": prepared.filename[:200],
            "origin": file.origin[:200],
            "offset_reading": file.offset_reading,
            "transcripts": result.transcripts,
            "codes": result.codes,
            "excerpts": result.excerpts,
            "applications": result.applications,
            "memos": result.memos,
            "participants": result.participants,
            "attributes": result.attributes,
            "accounts_created": result.accounts_created,
            "accounts_mapped": result.accounts_mapped,
            "left_out": prepared.left_out,
        },
    )
    return result


def _record_excerpts(project: Project, by) -> None:
    """One excerpt.imported event per excerpt, in its final state, so verify_excerpts finds each on the trail.

    Not excerpt.created: an import is not undone excerpt by excerpt from the coding page.
    """
    code_ids: defaultdict[int, list[int]] = defaultdict(list)
    for excerpt_id, code_id in CodeApplication.objects.filter(excerpt__transcript__project=project).values_list("excerpt_id", "code_id"):
        code_ids[excerpt_id].append(code_id)
    for excerpt in Excerpt.objects.filter(transcript__project=project).order_by("pk"):
        audit.record("excerpt.imported", by=by, project=project, obj=excerpt, after=excerpt_state(excerpt, code_ids[excerpt.pk]))


def _unique_username(base: str) -> str:
    User = get_user_model()
    stem = (slugify(base)[:100] or "user") + "-imported"
    taken = set(User.objects.filter(username__startswith=stem).values_list("username", flat=True))
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def _import_users(project: Project, prepared: PreparedImport, mapping: dict, by, result: ImportResult) -> dict:
    User = get_user_model()
    users: dict[str, object] = {}
    for file_user in prepared.users:
        account = mapping.get(file_user.guid)
        if account is None:
            first, last = imported_name(file_user.name, prepared.tool)
            account = User(username=_unique_username(file_user.name), first_name=first, last_name=last, is_active=False)
            account.set_unusable_password()
            account.save()
            result.accounts_created += 1
            audit.record(
                "member.account_imported", by=by, project=project, obj=account,
                after={"username": account.username, "name": f"{first} {last}"},
            )
        else:
            result.accounts_mapped += 1
        users[file_user.guid] = account
        if account.pk != by.pk:
            _, made = Membership.objects.get_or_create(project=project, user=account, defaults={"role": Membership.Role.CODER})
            if made:
                audit.record(
                    "member.added", by=by, project=project, obj=account,
                    after={"user": account.get_username(), "role": Membership.Role.CODER},
                )
    return users


def _import_codes(project: Project, prepared: PreparedImport, by, result: ImportResult) -> dict[str, Code]:
    codes: dict[str, Code] = {}

    def visit(level: list[qdpx.Code], parent: Code | None) -> None:
        for order, code in enumerate(level):
            theme = theme_from_code(code)
            fields = {name: getattr(theme, name) for name in ("definition", "inclusion", "exclusion", "typical_example", "atypical_example")}
            if theme.color:
                fields["color"] = theme.color
            try:
                fields["guid"] = uuid.UUID(code.guid)
            except ValueError:
                fields["guid"] = uuid.uuid4()
                prepared.notes.append(f"The code {quoted(code.name)} had a GUID that is not one ({code.guid[:40]!r}); it was given a new one.")
            made = create_code(
                project, by=by, parent=parent, name=prepared.code_names.get(code.guid, code.name), archived=theme.archived, order=order, **fields
            )
            codes[code.guid] = made
            result.codes += 1
            visit(code.children, made)

    visit(prepared.project.codes, None)
    return codes


def _unique(wanted: str, limit: int, taken: set[str], fallback: str) -> str:
    base = " ".join(wanted.split())[:limit] or fallback
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: limit - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _import_cases(project: Project, file: qdpx.Project, by, result: ImportResult) -> dict[str, Participant]:
    """Variables as attributes, cases as participants with their values; source GUID -> participant."""
    attributes: dict[str, Attribute] = {}
    names: set[str] = set()
    for order, variable in enumerate(file.variables):
        attributes[variable.guid] = Attribute.objects.create(
            project=project,
            name=_unique(variable.name, ATTRIBUTE_MAX, names, f"Variable {order + 1}"),
            kind=variable.kind,
            choices=variable.choices if variable.kind == "choice" else [],
            order=order,
        )
        result.attributes += 1
    by_source: dict[str, Participant] = {}
    labels: set[str] = set()
    problems = 0
    for number, case in enumerate(file.cases, start=1):
        participant = Participant.objects.create(project=project, label=_unique(case.name, LABEL_MAX, labels, f"Case {number}"))
        result.participants += 1
        for value in case.values:
            attribute = attributes[value.variable_guid]
            try:
                text, number_value, date = attribute.parse(_value_for(attribute, value.value))
            except ValidationError:
                problems += 1
                continue
            if text:
                AttributeValue.objects.create(participant=participant, attribute=attribute, value=text[:500], number=number_value, date=date)
        for source_guid in case.source_guids:
            by_source.setdefault(source_guid, participant)
    if problems:
        result.notes.append(f"{problems:,} variable value{'s' if problems != 1 else ''} did not fit the variable's type and were left empty.")
    if file.cases or file.variables:
        audit.record(
            "participants.imported", by=by, project=project,
            after={"created": result.participants, "updated": 0, "columns": [a.name for a in attributes.values()]},
        )
    return by_source


def _import_sources(project, prepared, participants, by, user_of, codes, result) -> dict[str, tuple[Transcript, dict[str, list[Excerpt]]]]:  # noqa: ANN001
    """Transcripts with their excerpts; source GUID -> (transcript, selection or coding GUID -> excerpts)."""
    found = {}
    for item in prepared.sources:
        source = item.source
        transcript = Transcript(
            project=project,
            participant=participants.get(source.guid),
            title=item.title,
            text=item.text,
            source_name=f"{prepared.filename}: {source.text_from}"[:255],
            source_format=Transcript.Format.TXT,
            imported_by=by,
        )
        transcript.save()
        audit.record(
            "transcript.imported", by=by, project=project, obj=transcript,
            after={"title": transcript.title, "participant": transcript.participant.label if transcript.participant else None,
                   "source_name": transcript.source_name, "content_hash": transcript.content_hash,
                   "length": len(transcript.text), "turns": 0},
        )
        result.transcripts += 1
        if source.description.strip():
            Memo.objects.create(project=project, transcript=transcript, author=by, title="Description", body=source.description.strip())
            result.memos += 1
        excerpts, applications, owners = [], [], []
        for selection, start, end in item.spans:
            # Excerpts here have one coder: codings by several people make one excerpt each.
            by_coder: dict[object, list[qdpx.Coding]] = {}
            for coding in selection.codings:
                by_coder.setdefault(user_of(coding.creating_user or selection.creating_user), []).append(coding)
            if not by_coder:
                by_coder[user_of(selection.creating_user)] = []
            for coder, codings in by_coder.items():
                excerpt = Excerpt(
                    transcript=transcript, start=start, end=end, quote=item.text[start:end], coder=coder,
                    memo=selection.description,
                )
                excerpts.append(excerpt)
                owners.append((selection, codings))
        Excerpt.objects.bulk_create(excerpts)
        keyed: dict[str, list[Excerpt]] = defaultdict(list)
        for excerpt, (selection, codings) in zip(excerpts, owners, strict=True):
            keyed[selection.guid].append(excerpt)
            seen = set()
            for coding in codings:
                keyed[coding.guid].append(excerpt)
                code = codes[coding.code_guid]
                if code.pk in seen:
                    continue
                seen.add(code.pk)
                applications.append(CodeApplication(excerpt=excerpt, code=code, applied_by=excerpt.coder))
        CodeApplication.objects.bulk_create(applications)
        result.excerpts += len(excerpts)
        result.applications += len(applications)
        found[source.guid] = (transcript, keyed)
    return found


def _import_notes(project, file, transcripts, codes, user_of, result) -> None:  # noqa: ANN001
    """Notes as memos on what they were attached to; on selections and codings, as the excerpt's memo."""
    excerpts_by_guid: dict[str, list[Excerpt]] = {}
    for _, keyed in transcripts.values():
        excerpts_by_guid.update(keyed)
    changed: dict[int, Excerpt] = {}
    memos = []
    for note in file.notes:
        body = note.text.strip() or note.description.strip() or note.name.strip()
        if not body:
            continue
        author = user_of(note.creating_user)
        title = " ".join(note.name.split())[:200]
        targets = note.attached_to or [qdpx.NoteTarget("project", "")]
        for target in targets:
            if target.kind in ("selection", "coding") and target.guid in excerpts_by_guid:
                for excerpt in excerpts_by_guid[target.guid]:
                    excerpt.memo = "\n\n".join(part for part in (excerpt.memo, f"{title}: {body}" if title else body) if part)
                    changed[excerpt.pk] = excerpt
                continue
            memo = Memo(project=project, author=author, title=title, body=body)
            if target.kind == "source" and target.guid in transcripts:
                memo.transcript = transcripts[target.guid][0]
            elif target.kind == "code" and target.guid in codes:
                memo.code = codes[target.guid]
            memos.append(memo)
    Memo.objects.bulk_create(memos)
    if changed:
        Excerpt.objects.bulk_update(list(changed.values()), ["memo"])
    result.memos += len(memos)
