"""What a REFI-QDA project file (.qdpx, .qde) will bring in, worked out before anything is written.

The pure reader (interop.qdpx) turns the file into plain shapes; `prepare_project_import` works
out what will come in and under which names, what stays behind, and who in the file may be whom
here: that is the preview. project_import.py writes what it prepared.

A file peercoding wrote carries its consensus coding as the selections of a user with the id
CONSENSUS_USER_ID: that user is no person, so no account is asked for or made for them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from .. import spans
from ..interop import qdpx
from ..interop.readers.base import quoted
from ..models import Attribute, Code, Transcript
from .codebook import sibling_name

LIMIT_SETTING = "PROJECT_ARCHIVE_MAX_MB"
_SET_AS_ATTRIBUTE = re.compile(r"^\s*([^:]{1,100}?)\s*:\s*(\S.*)$")  # ATLAS.ti's "gender: male"
_VERSION = re.compile(r"\s+v?\d.*$")
CODE_NAME_MAX = Code._meta.get_field("name").max_length
TITLE_MAX = Transcript._meta.get_field("title").max_length


def read_project_file(filename: str, data: bytes | BinaryIO) -> qdpx.Project:
    """The project in an uploaded .qdpx or .qde; ImportRefused naming the problem (and the limit's setting)."""
    return qdpx.read_project(
        filename, data, max_bytes=settings.PROJECT_ARCHIVE_MAX_BYTES, limit_setting=LIMIT_SETTING
    )


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
    consensus_user: str = ""  # GUID of the user standing for peercoding's consensus coding, or ""

    @property
    def counts(self) -> dict[str, int]:
        """The file's counts, its users being the people in it (the consensus user is none)."""
        return {**self.project.counts(), "users": len(self.users)}

    def is_consensus(self, selection: qdpx.Selection) -> bool:
        return bool(self.consensus_user) and selection.creating_user == self.consensus_user

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


def prepare_project_import(
    project: qdpx.Project, filename: str, progress: Callable[[int], None] | None = None
) -> PreparedImport:
    """What importing `project` will bring in and leave out, for the preview and for import_project;
    `progress` is told how many sources are prepared, as they are."""
    notes = list(project.messages)
    tool = tool_name(project.origin)
    prepared = []
    for source in project.sources:
        prepared.append(_prepare_source(source, notes))
        if progress:
            progress(len(prepared))
    _unique_titles(prepared)
    code_names = _code_names(project.codes, notes)
    consensus = project.consensus_user()
    if consensus:
        notes.append(_consensus_note(prepared, consensus))
    _note_values_left_out(project, notes)
    for target_kind, n in _unattachable_notes(project, prepared).items():
        became = "became a project memo" if n == 1 else "became project memos"
        notes.append(f"{n:,} note{'s' if n != 1 else ''} attached to a {target_kind.replace('_', ' ')} {became}.")
    return PreparedImport(
        project=project,
        filename=filename,
        tool=tool,
        sources=prepared,
        users=[_file_user(user, tool) for user in project.users if user.guid != consensus],
        notes=notes,
        left_out=qdpx.describe_left_out(+project.left_out),
        code_names=code_names,
        consensus_user=consensus,
    )


def _consensus_note(prepared: list[PreparedSource], consensus: str) -> str:
    n = sum(1 for item in prepared for selection, _, _ in item.spans if selection.creating_user == consensus)
    return (
        f"Consensus coding was recognised: {n:,} selection{'s' if n != 1 else ''} by “{qdpx.CONSENSUS_USER_NAME}” "
        "come back as the project's consensus, each settled by the lead the file names (or by you where it names "
        "none); no account is made for “Consensus”."
    )


def _note_values_left_out(project: qdpx.Project, notes: list[str]) -> None:
    """Say which attribute-like sets and variable values do not become participant attributes."""
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


def value_for(attribute: Attribute, raw: str) -> str:
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
                attribute.parse(value_for(attribute, value.value))
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
