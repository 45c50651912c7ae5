"""REFI-QDA codebooks: write a .qdc, read .qdc/.qde/.qdpx from other tools. No Django.

A code's Description carries the definition and then its criteria and examples, each as a
paragraph that starts with its label ("Inclusion criteria: ..."), so peercoding reads its own
files back field by field while other tools still show one readable text.

Reading is lenient, because real files break the schema (Taguette writes an empty <Sets/>):
what was bent or dropped is said in `notes`, which the import preview shows.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from .codebook import FIELD_LABELS, TEXT_FIELDS, Theme, walk
from .qdpx.model import describe_left_out
from .readers.base import MB, ImportRefused, describe_size, quoted
from .readers.safety import check_filename, check_members, extension_of, find_member, parse_xml_document, read_member

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_LOCATION = "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ORIGIN = "peercoding"
ACCEPTED = (".qdc", ".qde", ".qdpx")
MAX_XML_BYTES = 20 * MB
MAX_CODES = 5_000
MAX_NAME = 120  # Code.name's max_length

_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_COLOUR = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
# What XML 1.0 cannot carry (Word's manual line break U+000B among them): never written.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})  # Word's manual line and page breaks
# Codebook.xsd needs at least one Code, so an empty codebook is written with this one code,
# not codable, which read_codebook() recognises and drops.
EMPTY_PLACEHOLDER_GUID = "7b0d1979-cd52-5c51-a414-10a3d33c4322"
EMPTY_PLACEHOLDER = Theme(
    name="No codes yet",
    guid=EMPTY_PLACEHOLDER_GUID,
    archived=True,
    definition="The codebook had no codes when it was exported; the format needs one, so this stands in.",
)
_LABELLED = {FIELD_LABELS[name]: name for name in TEXT_FIELDS if name != "definition"}
_SECTION = re.compile(r"(?:^|\n\n)(" + "|".join(re.escape(label) for label in _LABELLED) + r"): ")


# Writing --------------------------------------------------------------------------------------------


def describe(theme: Theme) -> str:
    """The Description text of a code: definition first, then labelled criteria and examples."""
    parts = [theme.definition] if theme.definition else []
    for name in TEXT_FIELDS[1:]:
        value = getattr(theme, name)
        if value:
            parts.append(f"{FIELD_LABELS[name]}: {value}")
    return "\n\n".join(parts)


def split_description(text: str) -> dict[str, str]:
    """The fields packed by describe(); text without labels is all definition."""
    fields = dict.fromkeys(TEXT_FIELDS, "")
    matches = list(_SECTION.finditer(text))
    fields["definition"] = (text[: matches[0].start()] if matches else text).strip()
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields[_LABELLED[match.group(1)]] = text[match.end() : end].strip()
    return fields


def write_qdc(themes: list[Theme]) -> bytes:
    """A REFI-QDA codebook (QDA-XML 1.0); archived codes are written as not codable.

    Control characters XML 1.0 cannot hold are left out of names and descriptions.
    """
    ET.register_namespace("", CODEBOOK_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": ORIGIN})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{CODEBOOK_NS} {SCHEMA_LOCATION}")
    codes = ET.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    for theme in themes or [EMPTY_PLACEHOLDER]:
        _write_code(codes, theme)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def _write_code(parent: ET.Element, theme: Theme) -> None:
    attributes = {
        "guid": theme.guid.upper(),
        "name": _NOT_XML.sub("", " ".join(theme.name.translate(_BREAKS).split())),
        "isCodable": "false" if theme.archived else "true",
    }
    if theme.color and _COLOUR.match(theme.color):
        attributes["color"] = theme.color.upper()
    element = ET.SubElement(parent, f"{{{CODEBOOK_NS}}}Code", attributes)
    description = _NOT_XML.sub("", describe(theme).translate(_BREAKS))
    if description:
        ET.SubElement(element, f"{{{CODEBOOK_NS}}}Description").text = description
    for child in theme.children:
        _write_code(element, child)


# Reading --------------------------------------------------------------------------------------------


@dataclass
class ImportedCodebook:
    themes: list[Theme]
    origin: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def n_codes(self) -> int:
        return sum(1 for _ in walk(self.themes))


def read_codebook(filename: str, data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> ImportedCodebook:
    """The codebook of a .qdc, .qde or .qdpx file; ImportRefused with a message otherwise."""
    name = check_filename(filename)
    extension = extension_of(name)
    if extension not in ACCEPTED:
        raise ImportRefused(f"REFI-QDA codebooks are .qdc, .qde or .qdpx files; {quoted(name)} is not one of these.")
    if not data:
        raise ImportRefused(f"{quoted(name)} is empty.")
    if len(data) > max_bytes:
        raise ImportRefused(f"{quoted(name)} is larger than the {describe_size(max_bytes)} limit for codebooks.")
    notes: list[str] = []
    if extension == ".qdpx":
        data, inner = _project_from_zip(name, data, max_bytes)
        notes.append(f"Read the codebook of {quoted(inner)} inside the project file.")
    root = _parse(name, data)
    try:
        return _codebook(name, root, notes)
    except ImportRefused:
        raise
    except RecursionError as exc:
        raise ImportRefused(f"{quoted(name)} nests its codes too deeply to be a codebook.") from exc


def _project_from_zip(name: str, data: bytes, max_bytes: int) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportRefused(f"{quoted(name)} is not a REFI-QDA project: .qdpx files are zip archives.") from exc
    if len(infos) > 10_000:
        raise ImportRefused(f"{quoted(name)} holds too many files to be opened.")
    check_members(name, archive, infos, 500 * MB, 2_000 * MB)
    # Tools name the project file differently (project.qde, Project.qde, or after the project).
    candidates = [info for info in infos if "/" not in info.filename and info.filename.lower().endswith(".qde")]
    if not candidates:
        raise ImportRefused(f"{quoted(name)} has no project.qde inside, so it is not a REFI-QDA project.")
    chosen = next((i for i in candidates if i.filename.lower() == "project.qde"), candidates[0])
    return read_member(name, archive, find_member(archive, chosen.filename), limit=max_bytes), chosen.filename


def _parse(name: str, data: bytes) -> ET.Element:
    return parse_xml_document(
        name, data, never_needed_by="codebooks", unreadable="is not a readable XML file, so it is not a REFI-QDA codebook."
    )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _codebook(name: str, root: ET.Element, notes: list[str]) -> ImportedCodebook:
    kind = _local(root.tag)
    if kind == "CodeBook":
        book = root
    elif kind == "Project":
        book = next((child for child in root if _local(child.tag) == "CodeBook"), None)
        if book is None:
            raise ImportRefused(f"{quoted(name)} is a REFI-QDA project without a codebook.")
    else:
        raise ImportRefused(f"{quoted(name)} is XML but not a REFI-QDA codebook (its root element is <{kind}>).")
    if kind == "Project":
        left_out = project_left_out(root)
        if left_out:
            notes.append(
                f"Only the codebook is imported here: {left_out} in the file are not. "
                "To bring a whole project in, import it from the project list as a new project."
            )
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if namespace not in (CODEBOOK_NS, "urn:QDA-XML:project:1.0"):
        notes.append("The file does not use the REFI-QDA namespace; it was read as if it did.")
    for sets in (child for child in book if _local(child.tag) == "Sets"):
        if len(sets) == 0:
            notes.append("The file has an empty <Sets/> element, which the REFI-QDA schema does not allow; it was ignored.")
    codes = next((child for child in book if _local(child.tag) == "Codes"), None)
    reader = _Reader(notes)
    elements = [element for element in (codes if codes is not None else []) if _local(element.tag) == "Code"]
    if len(elements) == 1 and (elements[0].get("guid") or "").strip("{}").lower() == EMPTY_PLACEHOLDER_GUID:
        elements = []  # our own stand-in for an empty codebook
    themes = [reader.theme(element, 0) for element in elements]
    if not themes:
        notes.append("The codebook has no codes.")
    if reader.count > MAX_CODES:
        raise ImportRefused(f"{quoted(name)} has more than {MAX_CODES:,} codes, which is more than peercoding imports.")
    notes.extend(reader.summary())
    return ImportedCodebook(themes=themes, origin=root.get("origin", ""), notes=notes)


# What a codebook import leaves behind in a project file, in the order the sentence names it.
_PROJECT_PARTS = {
    "TextSource": ("text source", "text sources"),
    "PlainTextSelection": ("text selection", "text selections"),
    "Coding": ("coding", "codings"),
    "Note": ("note", "notes"),
    "Case": ("case", "cases"),
    "Variable": ("variable", "variables"),
}
# The rest as interop.qdpx counts it (its LEFT_OUT_NOUNS), by element.
_PROJECT_MEDIA = {
    "PDFSource": "pdf_source",
    "PictureSource": "picture_source",
    "AudioSource": "audio_source",
    "VideoSource": "video_source",
    "PDFSelection": "pdf_selection",
    "PictureSelection": "picture_selection",
    "AudioSelection": "audio_selection",
    "VideoSelection": "video_selection",
    "Transcript": "media_transcript",
    "Set": "set",
    "Graph": "graph",
    "Link": "link",
}


def project_left_out(root: ET.Element) -> str:
    """ "2 text sources, 158 text selections, 205 codings and 1 graph": what a project holds besides its codebook."""
    counts: dict[str, int] = {}
    for element in root.iter():
        local = _local(element.tag)
        if local in _PROJECT_PARTS or local in _PROJECT_MEDIA:
            counts[local] = counts.get(local, 0) + 1
    parts = [f"{n:,} {_PROJECT_PARTS[k][n != 1]}" for k in _PROJECT_PARTS if (n := counts.get(k, 0))]
    rest = describe_left_out({_PROJECT_MEDIA[k]: n for k, n in counts.items() if k in _PROJECT_MEDIA})
    if rest:
        return ", ".join([*parts, rest])
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return "".join(parts)


class _Reader:
    def __init__(self, notes: list[str]) -> None:
        self.notes = notes
        self.count = 0
        self.seen_guids: set[str] = set()
        self.problems: dict[str, int] = {}

    def bent(self, problem: str) -> None:
        self.problems[problem] = self.problems.get(problem, 0) + 1

    def summary(self) -> list[str]:
        return [f"{problem} ({n} code{'s' if n != 1 else ''})." for problem, n in self.problems.items()]

    def theme(self, element: ET.Element, depth: int) -> Theme:
        self.count += 1
        if self.count > MAX_CODES:
            raise ImportRefused(f"The file has more than {MAX_CODES:,} codes, which is more than peercoding imports.")
        name = " ".join((element.get("name") or "").split())
        if not name:
            name = f"Unnamed code {self.count}"
            self.bent("A code had no name and was given one")
        if len(name) > MAX_NAME:
            name = name[: MAX_NAME - 1] + "…"
            self.bent(f"A name longer than {MAX_NAME} characters was shortened")
        match = _GUID.match((element.get("guid") or "").strip())
        guid = match.group(1).lower() if match else ""
        if not guid or guid in self.seen_guids:
            self.bent("A code had a missing, malformed or repeated GUID and was given a new one")
            guid = str(uuid.uuid4())
        self.seen_guids.add(guid)
        color = (element.get("color") or "").strip()
        if color and not _COLOUR.match(color):
            self.bent(f"A colour that is not #RRGGBB ({color[:12]}) was dropped")
            color = ""
        if len(color) == 4:
            color = "#" + "".join(ch * 2 for ch in color[1:])
        codable = (element.get("isCodable") or "true").strip().lower()
        if element.get("isCodable") is None:
            self.bent("isCodable was missing and taken as true")
        description = next((child.text or "" for child in element if _local(child.tag) == "Description"), "")
        theme = Theme(name=name, color=color.lower(), guid=guid, archived=codable in ("false", "0"), **split_description(description))
        theme.children = [self.theme(child, depth + 1) for child in element if _local(child.tag) == "Code"]
        return theme
