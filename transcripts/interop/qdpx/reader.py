"""Reading a REFI-QDA project (.qdpx or .qde) into the shapes of model.py. No Django imports.

Text sources, their plain-text selections and codings, the codebook, users, variables, cases,
notes and sets come in; everything else is counted by kind in Project.left_out so the preview
can say what stays behind. Refused with ImportRefused: files that are not projects, XML that
does not parse or declares entities, selections outside their source, codings of codes the
codebook does not hold, and archives over the limit.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from typing import BinaryIO
from xml.etree import ElementTree as ET

from transcripts.interop.readers.base import ImportRefused, quoted
from transcripts.interop.readers.safety import check_filename

from . import offsets
from .archive import DEFAULT_MAX_BYTES, Limit, ProjectFile, open_project, parse_xml
from .model import (
    Case,
    Code,
    Coding,
    Graph,
    Note,
    NoteTarget,
    Project,
    Selection,
    Set,
    TextSource,
    User,
    Variable,
    VariableValue,
)

PROJECT_NS = "urn:QDA-XML:project:1.0"
CHOICES_HEADING = "Choices:"
LABEL_HEADING = "Label:"  # peercoding's display name of a variable, a paragraph of its Description
_COLOUR = re.compile(r"^#([0-9a-f]{6}|[0-9a-f]{3})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MEDIA = {"PDFSource": "pdf", "PictureSource": "picture", "AudioSource": "audio", "VideoSource": "video"}
_NOTE_HOLDERS = {
    "Project": "project",
    "Code": "code",
    "TextSource": "source",
    "PlainTextSelection": "selection",
    "Coding": "coding",
    "Note": "note",
    "Link": "link",
    "PDFSource": "pdf_source",
    "PDFSelection": "pdf_selection",
    "PictureSource": "picture_source",
    "PictureSelection": "picture_selection",
    "AudioSource": "audio_source",
    "AudioSelection": "audio_selection",
    "VideoSource": "video_source",
    "VideoSelection": "video_selection",
    "Transcript": "media_transcript",
    "TranscriptSelection": "transcript_selection",
}


def read_project(
    filename: str, data: bytes | BinaryIO, *, max_bytes: int = DEFAULT_MAX_BYTES, limit_setting: str = ""
) -> Project:
    """The project in a .qdpx or .qde; ImportRefused with a message naming the problem.

    `max_bytes` bounds what is read out of the file (its XML and text sources, not its media);
    `limit_setting` names the setting that holds it, for the refusal message.
    """
    name = check_filename(filename)
    source = open_project(name, data, limit=Limit(max_bytes, limit_setting))
    root = parse_xml(name, source.xml)
    if _local(root.tag) != "Project":
        raise ImportRefused(f"{quoted(name)} is XML but not a REFI-QDA project (its root element is <{_local(root.tag)}>).")
    try:
        return _Reader(source, root).project()
    except RecursionError as exc:
        raise ImportRefused(f"{quoted(name)} nests its elements too deeply to be a REFI-QDA project.") from exc


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element | None, local: str) -> list[ET.Element]:
    return [child for child in (element if element is not None else []) if _local(child.tag) == local]


def _child(element: ET.Element | None, local: str) -> ET.Element | None:
    found = _children(element, local)
    return found[0] if found else None


def _text_of(element: ET.Element | None, local: str) -> str:
    child = _child(element, local)
    return (child.text or "") if child is not None else ""


def guid_of(value: str | None) -> str:
    """A GUID as we keep it: trimmed, without braces, lower case."""
    return (value or "").strip().strip("{}").lower()


def when(value: str | None) -> datetime.datetime | None:
    """An xsd:dateTime as an aware datetime (UTC when the file gives no zone); None if absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def described_and_stamped(element: ET.Element, *, user_suffix: str = "") -> dict:
    """An element's Description and who made and changed it when, as the model's field names.
    The Project element names its users creatingUserGUID and modifyingUserGUID, the others
    creatingUser and modifyingUser."""
    return {
        "description": _text_of(element, "Description"),
        "creating_user": guid_of(element.get("creatingUser" + user_suffix)),
        "created": when(element.get("creationDateTime")),
        "modifying_user": guid_of(element.get("modifyingUser" + user_suffix)),
        "modified": when(element.get("modifiedDateTime")),
    }


def split_choices(description: str) -> tuple[str, list[str]]:
    """A Variable's Description without its "Choices:" block, and the choices listed there."""
    head, sep, tail = description.rpartition(CHOICES_HEADING + "\n")
    if not sep or (head and not head.endswith("\n\n")):
        return description, []
    return head.rstrip("\n"), [line for line in tail.split("\n") if line]


def split_label(description: str) -> tuple[str, str]:
    """A Variable's Description without its closing "Label:" paragraph, and the label given there."""
    head, sep, tail = description.rpartition(LABEL_HEADING + "\n")
    if not sep or (head and not head.endswith("\n\n")) or not tail.strip() or "\n" in tail.strip():
        return description, ""
    return head.rstrip("\n"), tail.strip()


class _Reader:
    def __init__(self, source: ProjectFile, root: ET.Element) -> None:
        self.file = source
        self.name = source.name
        self.root = root
        self.left_out: Counter[str] = Counter()
        self.messages: list[str] = []
        self.variable_guids: set[str] = set()
        self.code_guids: set[str] = set()

    def project(self) -> Project:
        root = self.root
        if not root.tag.startswith("{" + PROJECT_NS + "}"):
            self.messages.append("The file does not use the REFI-QDA project namespace; it was read as if it did.")
        codes = [self.code(element) for element in _children(_child(_child(root, "CodeBook"), "Codes"), "Code")]
        project = Project(
            name=root.get("name") or "",
            origin=root.get("origin") or "",
            **described_and_stamped(root, user_suffix="GUID"),
            users=[self.user(element) for element in _children(_child(root, "Users"), "User")],
            codes=codes,
        )
        project.variables = self.variables(_child(root, "Variables"), labelled=project.from_peercoding)
        project.cases = self.cases(_child(root, "Cases"), {v.guid for v in project.variables})
        project.sources, project.offset_reading = self.sources(_child(root, "Sources"), project)
        project.notes = self.notes(_child(root, "Notes"))
        project.sets = [self.set(element) for element in _children(_child(root, "Sets"), "Set")]
        project.graphs = [self.graph(element) for element in _children(_child(root, "Graphs"), "Graph")]
        self.left_out["set"] += len(project.sets)
        self.left_out["graph"] += len(project.graphs)
        self.left_out["link"] += len(_children(_child(root, "Links"), "Link"))
        project.left_out = +self.left_out
        project.messages = self.messages
        return project

    # Users, codes, variables, cases ------------------------------------------------------------------

    def user(self, element: ET.Element) -> User:
        identifier = element.get("id") or ""
        email = identifier if _EMAIL.match(identifier.strip()) else ""
        return User(guid=guid_of(element.get("guid")), name=element.get("name") or "", email=email.strip(), id=identifier)

    def code(self, element: ET.Element) -> Code:
        guid = guid_of(element.get("guid"))
        if guid in self.code_guids:
            raise ImportRefused(
                f"{quoted(self.name)}: two codes share the GUID {guid or '(none)'}, so their codings cannot be told apart."
            )
        self.code_guids.add(guid)
        color = (element.get("color") or "").strip().lower()
        if color and not _COLOUR.match(color):
            self.messages.append(f"The colour {color[:12]!r} of the code {quoted(element.get('name') or guid)} is not #RRGGBB; it was dropped.")
            color = ""
        if len(color) == 4:
            color = "#" + "".join(ch * 2 for ch in color[1:])
        return Code(
            guid=guid,
            name=element.get("name") or "",
            color=color,
            codable=(element.get("isCodable") or "true").strip().lower() not in ("false", "0"),
            description=_text_of(element, "Description"),
            children=[self.code(child) for child in _children(element, "Code")],
        )

    def variables(self, parent: ET.Element | None, *, labelled: bool) -> list[Variable]:
        """The variables; `labelled` (a file peercoding wrote) reads a display name out of each Description."""
        found = []
        for element in _children(parent, "Variable"):
            type_of = (element.get("typeOfVariable") or "").strip()
            description, choices = split_choices(_text_of(element, "Description"))
            description, label = split_label(description) if labelled else (description, "")
            variable = Variable(guid_of(element.get("guid")), element.get("name") or "", type_of, description, choices, label)
            if variable.kind is None:
                self.left_out["datetime_variable" if type_of == "DateTime" else "unknown_variable"] += 1
                continue
            if type_of == "Boolean":
                variable.choices = ["true", "false"]
            found.append(variable)
        return found

    def values(self, element: ET.Element, known: set[str]) -> list[VariableValue]:
        found = []
        for value in _children(element, "VariableValue"):
            ref = _child(value, "VariableRef")
            target = guid_of((ref if ref is not None else value).get("targetGUID"))
            if target not in known:
                continue  # a variable left out (DateTime) or missing: its values go with it
            written = next((child.text or "" for child in value if _local(child.tag).endswith("Value")), "")
            found.append(VariableValue(target, written))
        return found

    def cases(self, parent: ET.Element | None, variables: set[str]) -> list[Case]:
        found = []
        for element in _children(parent, "Case"):
            self.left_out["case_code_link"] += len(_children(element, "CodeRef"))
            self.left_out["case_selection_link"] += len(_children(element, "SelectionRef"))
            found.append(
                Case(
                    guid=guid_of(element.get("guid")),
                    name=element.get("name") or "",
                    description=_text_of(element, "Description"),
                    values=self.values(element, variables),
                    source_guids=[guid_of(ref.get("targetGUID")) for ref in _children(element, "SourceRef")],
                )
            )
        self.variable_guids = variables
        return found

    # Sources and selections --------------------------------------------------------------------------

    def sources(self, parent: ET.Element | None, project: Project) -> tuple[list[TextSource], str]:
        elements = []
        for element in parent if parent is not None else []:
            kind = _local(element.tag)
            if kind == "TextSource":
                elements.append(element)
            elif kind in _MEDIA:
                self.media(element, _MEDIA[kind])
        texts = self.source_texts(elements)
        found: list[tuple[TextSource, list[tuple[ET.Element, int, int]]]] = []
        for element in elements:
            self.left_out["source_coding"] += len(_children(element, "Coding"))
            selections = _children(element, "PlainTextSelection")
            if id(element) not in texts:
                self.left_out["text_source_without_text"] += 1
                self.left_out["selection_in_source_without_text"] += len(selections)
                continue
            text, text_from = texts[id(element)]
            if not text.strip() and not selections:
                self.left_out["empty_text_source"] += 1  # NVivo for Mac writes 1-byte .txt files
                continue
            source = self.text_source(element, text, text_from)
            found.append((source, [(sel, self.position(sel, "startPosition"), self.position(sel, "endPosition")) for sel in selections]))
        reading = self.reading([(s.text, [(start, end) for _, start, end in raw]) for s, raw in found], project.origin)
        codes = {code.guid for code in project.all_codes()}
        for source, raw in found:
            converted = offsets.convert(source.text, [(start, end) for _, start, end in raw], reading)
            for (element, start, end), span in zip(raw, converted, strict=True):
                if span is None:
                    raise self.outside(element, source, start, end, reading)
                if span[0] == span[1]:
                    self.left_out["empty_selection"] += 1
                    continue
                source.selections.append(self.selection(element, source, span, codes))
        return [source for source, _ in found], reading

    def reading(self, sources: list[tuple[str, list[tuple[int, int]]]], origin: str) -> str:
        """The reading of the file's positions, with a message when it is not the specification's."""
        reading, scores = offsets.choose_reading(sources, offsets.preferred_reading(origin))

        def same_as(other: str) -> bool:
            return all(offsets.convert(t, spans, other) == offsets.convert(t, spans, reading) for t, spans in sources)

        if reading != offsets.CODE_POINTS and same_as(offsets.CODE_POINTS):
            reading = offsets.CODE_POINTS  # no character here is counted differently
        if reading != offsets.CODE_POINTS:
            self.messages.append(
                f"Selection positions were counted in {reading}, not in characters as REFI-QDA says "
                "(NVivo for Windows counts UTF-16 code units); they were converted."
            )
        if origin.lower().startswith("peercoding"):
            return reading
        # A BOM shift often ties on line-based selections and is settled silently; a tie between
        # counting emoji as one or two is worth a look.
        twin = {
            offsets.CODE_POINTS: offsets.UTF16,
            offsets.UTF16: offsets.CODE_POINTS,
            offsets.CODE_POINTS_BOM: offsets.UTF16_BOM,
            offsets.UTF16_BOM: offsets.CODE_POINTS_BOM,
        }[reading]
        rivals = [twin] if scores[twin].key() == scores[reading].key() else []
        differing = [other for other in rivals if not same_as(other)]
        if differing:
            self.messages.append(
                f"Selection positions fit {reading} and {differing[0]} equally well; they were read as {reading}. "
                "Check a few excerpts against the other tool."
            )
        return reading

    def media(self, element: ET.Element, kind: str) -> None:
        self.left_out[f"{kind}_source"] += 1
        selection = {"pdf": "PDFSelection", "picture": "PictureSelection", "audio": "AudioSelection", "video": "VideoSelection"}[kind]
        self.left_out[f"{kind}_selection"] += len(_children(element, selection))
        self.left_out["media_transcript"] += len(_children(element, "Transcript"))
        self.left_out["source_coding"] += len(_children(element, "Coding"))

    def source_texts(self, elements: list[ET.Element]) -> dict[int, tuple[str, str]]:
        """The text of each text source that has one in the file, keyed by id(element)."""
        found: dict[int, tuple[str, str]] = {}
        members = {}
        for element in elements:
            content = _child(element, "PlainTextContent")
            if content is not None:
                found[id(element)] = (content.text or "", "PlainTextContent")
                continue
            info = self.file.member_for(element.get("plainTextPath") or "")
            if info is not None:
                members[id(element)] = info
        unique = {info.filename: info for info in members.values()}
        self.file.check_members(list(unique.values()))
        read = {filename: self.decode(info.filename, self.file.read(info)) for filename, info in unique.items()}
        for key, info in members.items():
            found[key] = (read[info.filename], info.filename)
        return found

    def decode(self, member: str, data: bytes) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                f"{quoted(self.name)}: the text source {quoted(member)} is not UTF-8 text, as REFI-QDA requires; "
                "it was not imported."
            ) from exc

    def text_source(self, element: ET.Element, text: str, text_from: str) -> TextSource:
        return TextSource(
            guid=guid_of(element.get("guid")),
            # qc writes no name; the file the text came from is the next best thing.
            name=element.get("name") or text_from.rsplit("/", 1)[-1].rsplit(".", 1)[0],
            text=text,
            **described_and_stamped(element),
            values=self.values(element, self.variable_guids),
            text_from=text_from,
        )

    def position(self, element: ET.Element, attribute: str) -> int:
        raw = (element.get(attribute) or "").strip()
        try:
            return int(raw)
        except ValueError:
            raise ImportRefused(
                f"{quoted(self.name)}: the selection {quoted(element.get('name') or guid_of(element.get('guid')))} "
                f"has a {attribute} that is not a whole number ({raw[:20]!r}); it was not imported."
            ) from None

    def outside(self, element: ET.Element, source: TextSource, start: int, end: int, reading: str) -> ImportRefused:
        label = element.get("name") or guid_of(element.get("guid"))
        return ImportRefused(
            f"{quoted(self.name)}: the selection {quoted(label[:60])} in {quoted(source.name)} runs from {start} to "
            f"{end}, which is not inside the source's {len(source.text):,} characters (read as {reading}); "
            "it was not imported."
        )

    def selection(self, element: ET.Element, source: TextSource, span: tuple[int, int], codes: set[str]) -> Selection:
        codings = []
        for coding in _children(element, "Coding"):
            ref = _child(coding, "CodeRef")
            target = guid_of((ref if ref is not None else coding).get("targetGUID"))
            if target not in codes:
                raise ImportRefused(
                    f"{quoted(self.name)}: a coding in {quoted(source.name)} names a code ({target or 'none'}) "
                    "that is not in the codebook; it was not imported."
                )
            codings.append(
                Coding(
                    guid=guid_of(coding.get("guid")),
                    code_guid=target,
                    creating_user=guid_of(coding.get("creatingUser")),
                    created=when(coding.get("creationDateTime")),
                )
            )
        return Selection(
            guid=guid_of(element.get("guid")),
            source_guid=source.guid,
            start=span[0],
            end=span[1],
            name=element.get("name") or "",
            **described_and_stamped(element),
            codings=codings,
        )

    # Notes, sets, graphs -----------------------------------------------------------------------------

    def notes(self, parent: ET.Element | None) -> list[Note]:
        found = []
        for element in _children(parent, "Note"):
            content = _child(element, "PlainTextContent")
            text = content.text or "" if content is not None else ""
            if content is None and element.get("plainTextPath"):
                info = self.file.member_for(element.get("plainTextPath") or "")
                if info is None:
                    self.messages.append(f"The text of the note {quoted(element.get('name') or '')} is not in the file.")
                else:
                    self.file.check_members([info])
                    text = self.decode(info.filename, self.file.read(info))
            found.append(
                Note(
                    guid=guid_of(element.get("guid")),
                    name=element.get("name") or "",
                    text=text,
                    **described_and_stamped(element),
                )
            )
        self.attach(found)
        return found

    def attach(self, notes: list[Note]) -> None:
        """Fill each note's attached_to from the NoteRefs anywhere in the project."""
        by_guid = {note.guid: note for note in notes}
        dangling = 0
        stack = [self.root]
        while stack:
            holder = stack.pop()
            for child in holder:
                if _local(child.tag) != "NoteRef":
                    stack.append(child)
                    continue
                note = by_guid.get(guid_of(child.get("targetGUID")))
                if note is None:
                    dangling += 1
                    continue
                kind = _NOTE_HOLDERS.get(_local(holder.tag), _local(holder.tag))
                note.attached_to.append(NoteTarget(kind, "" if kind == "project" else guid_of(holder.get("guid"))))
        if dangling:
            self.messages.append(f"{dangling:,} note reference{'s' if dangling != 1 else ''} named no note and were ignored.")

    def set(self, element: ET.Element) -> Set:
        def members(local: str) -> list[str]:
            return [guid_of(m.get("targetGUID") or m.get("guid")) for m in _children(element, local)]

        return Set(
            guid=guid_of(element.get("guid")),
            name=element.get("name") or "",
            description=_text_of(element, "Description"),
            code_guids=members("MemberCode"),
            source_guids=members("MemberSource"),
            note_guids=members("MemberNote"),
        )

    def graph(self, element: ET.Element) -> Graph:
        return Graph(
            guid=guid_of(element.get("guid")),
            name=element.get("name") or "",
            n_vertices=len(_children(element, "Vertex")),
            n_edges=len(_children(element, "Edge")),
        )
