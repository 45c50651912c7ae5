"""Writing a REFI-QDA project (.qdpx) from the shapes of model.py, with bounded memory. No Django.

The zip is streamed to the file object given (it need not be seekable). Each text source goes
in as sources/<GUID>.txt, UTF-8, exactly as given, as soon as it is reached, so `Project.sources`
may be a generator that loads one transcript at a time; project.qde is written meanwhile to a
temporary file and copied in last. Positions are written as code points, end exclusive.

XML 1.0 cannot carry most control characters (U+0000-U+001F but tab, line feed and carriage
return; U+FFFE, U+FFFF; lone surrogates): they are never written. Word's line and page breaks
(U+000B, U+000C) become line feeds, the others are removed, in names, descriptions and note
texts; WriteResult.removed counts them all. Source texts go in .txt members, not XML, and are
written untouched, so selection positions keep pointing at the same characters.
"""

from __future__ import annotations

import datetime
import io
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, BinaryIO

from .model import Code, Note, Project, Selection, Set, TextSource, User, Variable, VariableValue
from .reader import CHOICES_HEADING, LABEL_HEADING, PROJECT_NS

SCHEMA_LOCATION = "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ORIGIN = "peercoding"
NOTE_KINDS = ("project", "code", "source", "selection", "coding")  # where Project.xsd allows a NoteRef

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})  # Word's manual line and page breaks
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_COLOUR = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_VALUE_FORMS = {
    "Integer": ("IntegerValue", re.compile(r"^[+-]?\d+$")),
    "Float": ("FloatValue", re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")),
    "Date": ("DateValue", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    "Boolean": ("BooleanValue", re.compile(r"^(true|false|1|0)$")),
    "DateTime": ("DateTimeValue", re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")),
}
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


@dataclass
class WriteResult:
    sources: int = 0
    selections: int = 0
    removed: int = 0  # control characters left out of names, descriptions and notes
    notes_not_attached: int = 0  # NoteTargets whose kind has no NoteRef in Project.xsd (cases, ...)


def guid_out(guid: str) -> str:
    """A GUID as written: upper case, no braces; ValueError when it is not a GUID."""
    match = _GUID.match(guid.strip())
    if not match:
        raise ValueError(f"not a GUID: {guid!r}")
    return match.group(1).upper()


def date_out(moment: datetime.datetime) -> str:
    """An xsd:dateTime in UTC, to the second."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def variable_description(variable: Variable) -> str:
    """The Description written for a variable: its own text, its label, then its choices, one a line."""
    parts = [variable.description] if variable.description else []
    if variable.label:
        parts.append(LABEL_HEADING + "\n" + " ".join(variable.label.split()))
    if variable.choices:
        parts.append(CHOICES_HEADING + "\n" + "\n".join(variable.choices))
    return "\n\n".join(parts)


class _Xml:
    """Escaped XML written to a text stream, counting what XML 1.0 cannot hold."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.removed = 0

    def clean(self, value: str) -> str:
        if not _NOT_XML.search(value):
            return value
        self.removed += len(_NOT_XML.findall(value))
        return _NOT_XML.sub("", value.translate(_BREAKS))

    def open(self, tag: str, attributes: dict[str, str | None] | None = None, *, empty: bool = False) -> None:
        parts = [tag]
        for key, value in (attributes or {}).items():
            if value is not None and value != "":
                parts.append(f'{key}="{self.clean(value).translate(_ATTRIBUTE_ESCAPES)}"')
        self.stream.write("<" + " ".join(parts) + ("/>" if empty else ">"))

    def close(self, tag: str) -> None:
        self.stream.write(f"</{tag}>")

    def empty(self, tag: str, attributes: dict[str, str | None]) -> None:
        self.open(tag, attributes, empty=True)

    def text(self, tag: str, value: str) -> None:
        self.stream.write(f"<{tag}>{self.clean(value).translate(_TEXT_ESCAPES)}</{tag}>")

    def optional_text(self, tag: str, value: str) -> None:
        if value:
            self.text(tag, value)


def write_project(project: Project, out: BinaryIO) -> WriteResult:
    """Write `project` to `out` as a .qdpx; ValueError for a malformed GUID or selection."""
    result = WriteResult()
    refs = _note_refs(project.notes, result)
    types = {_lower(variable.guid): variable.type_of for variable in project.variables}
    with tempfile.TemporaryFile() as spool, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        stream = io.TextIOWrapper(spool, encoding="utf-8", newline="\n", write_through=False)
        xml = _Xml(stream)
        stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
        _project_open(xml, project)
        _users(xml, project.users)
        _codebook(xml, project.codes, refs)
        _variables(xml, project.variables)
        _cases(xml, project, types)
        _sources(xml, archive, project.sources, refs, types, result)
        _notes(xml, project.notes)
        _sets(xml, project.sets)
        xml.optional_text("Description", project.description)
        for guid in refs.get(("project", ""), []):
            xml.empty("NoteRef", {"targetGUID": guid})
        xml.close("Project")
        stream.write("\n")
        stream.flush()
        spool.seek(0)
        with archive.open("project.qde", "w") as member:
            shutil.copyfileobj(spool, member, 64 * 1024)
        stream.detach()
        result.removed = xml.removed
    return result


def _note_refs(notes: list[Note], result: WriteResult) -> dict[tuple[str, str], list[str]]:
    refs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for note in notes:
        for target in note.attached_to:
            if target.kind not in NOTE_KINDS:
                result.notes_not_attached += 1
                continue
            key = (target.kind, "" if target.kind == "project" else target.guid.strip().strip("{}").lower())
            refs[key].append(guid_out(note.guid))
    return refs


def _lower(guid: str) -> str:
    return guid.strip().strip("{}").lower()


def _project_open(xml: _Xml, project: Project) -> None:
    xml.open(
        "Project",
        {
            "xmlns": PROJECT_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{PROJECT_NS} {SCHEMA_LOCATION}",
            "name": project.name or "Untitled project",
            "origin": project.origin or ORIGIN,
            "creatingUserGUID": guid_out(project.creating_user) if project.creating_user else None,
            "creationDateTime": date_out(project.created) if project.created else None,
            "modifyingUserGUID": guid_out(project.modifying_user) if project.modifying_user else None,
            "modifiedDateTime": date_out(project.modified) if project.modified else None,
        },
    )


def _users(xml: _Xml, users: list[User]) -> None:
    if not users:
        return  # a present container must not be empty
    xml.open("Users")
    for user in users:
        xml.empty("User", {"guid": guid_out(user.guid), "name": user.name, "id": user.id or user.email})
    xml.close("Users")


def _codebook(xml: _Xml, codes: list[Code], refs: dict[tuple[str, str], list[str]]) -> None:
    if not codes:
        return
    xml.open("CodeBook")
    xml.open("Codes")
    stack: list[Code | str] = list(reversed(codes))
    while stack:  # iterative, so a deep tree cannot exhaust the stack
        item = stack.pop()
        if isinstance(item, str):
            xml.close(item)
            continue
        colour = item.color if _COLOUR.match(item.color or "") else None
        attributes = {"guid": guid_out(item.guid), "name": item.name, "isCodable": "true" if item.codable else "false"}
        attributes["color"] = colour.upper() if colour else None
        xml.open("Code", attributes)
        xml.optional_text("Description", item.description)
        for note in refs.get(("code", _lower(item.guid)), []):
            xml.empty("NoteRef", {"targetGUID": note})
        stack.append("Code")
        stack.extend(reversed(item.children))
    xml.close("Codes")
    xml.close("CodeBook")


def _variables(xml: _Xml, variables: list[Variable]) -> None:
    if not variables:
        return
    xml.open("Variables")
    for variable in variables:
        xml.open("Variable", {"guid": guid_out(variable.guid), "name": variable.name, "typeOfVariable": variable.type_of})
        xml.optional_text("Description", variable_description(variable))
        xml.close("Variable")
    xml.close("Variables")


def _values(xml: _Xml, values: list[VariableValue], types: dict[str, str]) -> None:
    for value in values:
        element, pattern = _VALUE_FORMS.get(types.get(_lower(value.variable_guid), "Text"), ("TextValue", None))
        if pattern is not None and not pattern.match(value.value.strip()):
            element = "TextValue"  # the schema lets any variable hold a text value; better than dropping it
        xml.open("VariableValue")
        xml.empty("VariableRef", {"targetGUID": guid_out(value.variable_guid)})
        xml.text(element, value.value if element == "TextValue" else value.value.strip())
        xml.close("VariableValue")


def _cases(xml: _Xml, project: Project, types: dict[str, str]) -> None:
    if not project.cases:
        return
    xml.open("Cases")
    for case in project.cases:
        xml.open("Case", {"guid": guid_out(case.guid), "name": case.name})
        xml.optional_text("Description", case.description)
        _values(xml, case.values, types)
        for source in case.source_guids:
            xml.empty("SourceRef", {"targetGUID": guid_out(source)})
        xml.close("Case")
    xml.close("Cases")


def _dated(prefix: dict[str, str | None], thing: Selection | TextSource | Note) -> dict[str, str | None]:
    prefix.update(
        {
            "creatingUser": guid_out(thing.creating_user) if thing.creating_user else None,
            "creationDateTime": date_out(thing.created) if thing.created else None,
            "modifyingUser": guid_out(thing.modifying_user) if thing.modifying_user else None,
            "modifiedDateTime": date_out(thing.modified) if thing.modified else None,
        }
    )
    return prefix


def _sources(
    xml: _Xml, archive: zipfile.ZipFile, sources: Iterable[TextSource], refs, types: dict[str, str], result: WriteResult
) -> None:
    started = False
    for source in sources:
        if not started:
            xml.open("Sources")
            started = True
        guid = guid_out(source.guid)
        with archive.open(f"sources/{guid}.txt", "w") as member:
            member.write(source.text.encode("utf-8"))
        attributes = _dated({"guid": guid, "name": source.name, "plainTextPath": f"internal://{guid}.txt"}, source)
        xml.open("TextSource", attributes)
        xml.optional_text("Description", source.description)
        for selection in source.selections:
            _selection(xml, source, selection, refs)
        for note in refs.get(("source", _lower(source.guid)), []):
            xml.empty("NoteRef", {"targetGUID": note})
        _values(xml, source.values, types)
        xml.close("TextSource")
        result.sources += 1
        result.selections += len(source.selections)
    if started:
        xml.close("Sources")


def _selection(xml: _Xml, source: TextSource, selection: Selection, refs) -> None:
    if not 0 <= selection.start <= selection.end <= len(source.text):
        raise ValueError(f"selection {selection.guid} ({selection.start}-{selection.end}) is outside its source")
    attributes = {"guid": guid_out(selection.guid), "name": selection.name}
    attributes.update(startPosition=str(selection.start), endPosition=str(selection.end))
    xml.open("PlainTextSelection", _dated(attributes, selection))
    xml.optional_text("Description", selection.description)
    for coding in selection.codings:
        xml.open(
            "Coding",
            {
                "guid": guid_out(coding.guid),
                "creatingUser": guid_out(coding.creating_user) if coding.creating_user else None,
                "creationDateTime": date_out(coding.created) if coding.created else None,
            },
        )
        xml.empty("CodeRef", {"targetGUID": guid_out(coding.code_guid)})
        for note in refs.get(("coding", _lower(coding.guid)), []):
            xml.empty("NoteRef", {"targetGUID": note})
        xml.close("Coding")
    for note in refs.get(("selection", _lower(selection.guid)), []):
        xml.empty("NoteRef", {"targetGUID": note})
    xml.close("PlainTextSelection")


def _notes(xml: _Xml, notes: list[Note]) -> None:
    if not notes:
        return
    xml.open("Notes")
    for note in notes:
        xml.open("Note", _dated({"guid": guid_out(note.guid), "name": note.name}, note))
        xml.optional_text("Description", note.description)
        xml.text("PlainTextContent", note.text)
        xml.close("Note")
    xml.close("Notes")


def _sets(xml: _Xml, sets: list[Set]) -> None:
    if not sets:
        return
    xml.open("Sets")
    for group in sets:
        xml.open("Set", {"guid": guid_out(group.guid), "name": group.name})
        xml.optional_text("Description", group.description)
        for tag, guids in (("MemberCode", group.code_guids), ("MemberSource", group.source_guids), ("MemberNote", group.note_guids)):
            for guid in guids:
                xml.empty(tag, {"targetGUID": guid_out(guid)})
        xml.close("Set")
    xml.close("Sets")
