"""Word (.docx) transcripts, read from word/document.xml with a streaming, DTD-free parser.

No Django imports. What comes out is the text a reader sees in the body, in document order:

- each paragraph is one line; w:tab and w:ptab become a tab, w:br and w:cr a line break,
  w:noBreakHyphen "-"; w:sym, w:softHyphen, drawings and footnote/endnote/comment marks add
  nothing;
- a table row is one line: its cells joined by a tab, the paragraphs inside a cell joined by
  line breaks (so a two-column "speaker | speech" table reads "Interviewer<TAB>So...");
- content controls, hyperlinks, smart tags and custom XML are read like their content; in
  text boxes (drawn or VML) the box's paragraphs come just before the paragraph holding it,
  and the VML fallback copy of a drawing is skipped;
- fields show their result: w:fldSimple's runs, and for complex fields the runs between the
  "separate" and "end" field characters; field codes (w:instrText) are skipped;
- tracked changes are accepted: w:ins and w:moveTo are kept, w:del, w:delText and w:moveFrom
  dropped, a deleted paragraph mark joins its paragraph to the next, a deleted table row goes;
- hidden text (w:vanish on a run) is skipped.

Headers, footers, footnotes, endnotes and comments live in other parts of the package and are
not imported; comments are counted in a note.

A paragraph whose first run(s) are bold and form a short label (at most 40 characters,
optionally ending with ":") followed by text that is not bold is passed to speaker detection
as a label, so "**Interviewer** So how..." starts a turn even without a colon. Bold means
direct formatting (w:b) or the built-in "Strong" character style.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transcripts.spans import normalize_text

from .base import ImportRefused, ParsedTranscript, quoted
from .safety import WORD, check_xml_prologs, find_member, open_package, parse_xml_member
from .speakers import MAX_LABEL, detect_turns
from .text import trim_blank_edges

_W_NAMESPACES = {
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
}
_PREFIXES = {
    "http://schemas.openxmlformats.org/markup-compatibility/2006": "mc",
    "http://schemas.openxmlformats.org/officeDocument/2006/math": "m",
    "http://purl.oclc.org/ooxml/officeDocument/math": "m",
    **{uri: "w" for uri in _W_NAMESPACES},
}
_SKIPPED = {
    "w:instrText",
    "w:delText",
    "w:delInstrText",
    "w:sdtPr",
    "w:sdtEndPr",
    "w:fldData",
    "w:rt",
    "mc:Fallback",
}
_CHARACTERS = {"w:tab": "\t", "w:ptab": "\t", "w:br": "\n", "w:cr": "\n", "w:noBreakHyphen": "-"}
_FALSE = {"0", "false", "off", "none"}
_MAX_OPEN_FIELDS = 64
# A long interview is a few thousand paragraphs. Each paragraph and element read costs time and
# memory before the text exists, so a document past either limit is refused while it is read:
# at these limits a worst-case document takes a few seconds and some tens of megabytes, and a
# long interview with heavy Word markup has a small fraction of either.
MAX_PARAGRAPHS = 50_000
MAX_ELEMENTS = 500_000


@dataclass(slots=True)
class _Paragraph:
    segments: list[tuple[str, bool]] = field(default_factory=list)
    mark_deleted: bool = False


@dataclass(slots=True)
class _Line:
    text: str
    bold_label: str | None = None


@dataclass(slots=True)
class _Container:
    lines: list[_Line] = field(default_factory=list)
    carry: list[tuple[str, bool]] | None = None

    def add(self, paragraph: _Paragraph) -> None:
        if paragraph.mark_deleted:
            # Accepting a deleted paragraph mark joins this paragraph to the next one.
            self.carry = paragraph.segments
        else:
            self.lines.append(_line_from(paragraph.segments))

    def flush(self) -> list[_Line]:
        if self.carry is not None:
            self.lines.append(_line_from(self.carry))
            self.carry = None
        return self.lines


@dataclass(slots=True)
class _Row:
    cells: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass(slots=True)
class _Run:
    bold: bool = False
    hidden: bool = False


class _BodyReader:
    """An ElementTree parser target that turns document.xml events into lines."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stack: list[str] = []
        self.skip_depth: int | None = None
        self.containers = [_Container()]
        self.paragraphs: list[_Paragraph] = []
        self.rows: list[_Row] = []
        self.runs: list[_Run] = []
        self.field_states: list[str] = []
        self.fields_in_code = 0
        self.tracked_changes = 0
        self.comments = 0
        self.n_elements = 0
        self.n_paragraphs = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.n_elements += 1
        if self.n_elements > MAX_ELEMENTS:
            raise ImportRefused(
                f"{quoted(self.name)} is too complex to import (more than {MAX_ELEMENTS:,} pieces of markup). "
                "Save it as plain text (.txt) from Word and import that."
            )
        name = _short_name(tag)
        self.stack.append(name)
        if self.skip_depth is not None:
            return
        if len(self.stack) == 1 and name != "w:document":
            raise ImportRefused(
                f"{quoted(self.name)} is a zip file but not a Word document. "
                "Save it from Word as .docx and try again."
            )
        parent = self.stack[-2] if len(self.stack) > 1 else ""
        grandparent = self.stack[-3] if len(self.stack) > 2 else ""
        if name in ("w:del", "w:moveFrom"):
            self._deletion(parent, grandparent)
        elif name in ("w:ins", "w:moveTo"):
            self.tracked_changes += 1
        elif name in _SKIPPED:
            self.skip_depth = len(self.stack)
        elif name == "w:commentReference":
            self.comments += 1
        elif name == "w:p":
            self._paragraph()
        elif name in ("w:tc", "w:txbxContent"):
            self.containers.append(_Container())
        elif name == "w:tr":
            self.rows.append(_Row())
        elif name in ("w:r", "m:r"):
            self.runs.append(_Run())
        elif parent == "w:rPr" and grandparent == "w:r" and self.runs:
            value = _attribute(attrib, "val")
            if name == "w:b":
                self.runs[-1].bold = value is None or value.lower() not in _FALSE
            elif name == "w:rStyle" and value == "Strong":
                self.runs[-1].bold = True
            elif name == "w:vanish":
                self.runs[-1].hidden = value is None or value.lower() not in _FALSE
        elif name == "w:fldChar":
            self._field_char(_attribute(attrib, "fldCharType"))
        elif name in _CHARACTERS and parent == "w:r":
            self._emit(_CHARACTERS[name])

    def _deletion(self, parent: str, grandparent: str) -> None:
        """A tracked deletion: of a paragraph mark, of a table row, or of the text inside it (skipped)."""
        self.tracked_changes += 1
        if parent == "w:rPr":
            if grandparent == "w:pPr" and self.paragraphs:
                self.paragraphs[-1].mark_deleted = True
        elif parent == "w:trPr":
            if self.rows:
                self.rows[-1].deleted = True
        else:
            self.skip_depth = len(self.stack)

    def _paragraph(self) -> None:
        self.n_paragraphs += 1
        if self.n_paragraphs > MAX_PARAGRAPHS:
            raise ImportRefused(
                f"{quoted(self.name)} has more than {MAX_PARAGRAPHS:,} paragraphs, which is more than one "
                "transcript can hold. Split it into smaller documents and import them one by one."
            )
        paragraph = _Paragraph()
        container = self.containers[-1]
        if container.carry is not None:
            paragraph.segments, container.carry = container.carry, None
        self.paragraphs.append(paragraph)

    def end(self, tag: str) -> None:
        name = self.stack.pop()
        if self.skip_depth is not None:
            if len(self.stack) < self.skip_depth:
                self.skip_depth = None
            return
        if name == "w:p" and self.paragraphs:
            self.containers[-1].add(self.paragraphs.pop())
        elif name == "w:tc" and len(self.containers) > 1:
            cell = self.containers.pop().flush()
            if self.rows:
                self.rows[-1].cells.append("\n".join(line.text for line in cell))
        elif name == "w:txbxContent" and len(self.containers) > 1:
            box = self.containers.pop().flush()
            self.containers[-1].lines.extend(box)
        elif name == "w:tr" and self.rows:
            row = self.rows.pop()
            if not row.deleted:
                self.containers[-1].lines.append(_Line("\t".join(row.cells)))
        elif name in ("w:r", "m:r") and self.runs:
            self.runs.pop()

    def data(self, text: str) -> None:
        if self.skip_depth is None and self.stack and self.stack[-1] in ("w:t", "m:t"):
            self._emit(text)

    def close(self) -> None:
        return None

    def lines(self) -> list[_Line]:
        return self.containers[0].flush()

    def _field_char(self, kind: str | None) -> None:
        if kind == "begin":
            if len(self.field_states) < _MAX_OPEN_FIELDS:
                self.field_states.append("code")
                self.fields_in_code += 1
        elif kind == "separate":
            if self.field_states and self.field_states[-1] == "code":
                self.field_states[-1] = "result"
                self.fields_in_code -= 1
        elif kind == "end" and self.field_states:
            if self.field_states.pop() == "code":
                self.fields_in_code -= 1

    def _emit(self, text: str) -> None:
        if not self.paragraphs or not self.runs or self.fields_in_code:
            return
        run = self.runs[-1]
        if not run.hidden:
            self.paragraphs[-1].segments.append((text, run.bold))


def _short_name(tag: str) -> str:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        prefix = _PREFIXES.get(uri)
        return f"{prefix}:{local}" if prefix else "?:" + local
    return "?:" + tag


def _attribute(attrib: dict[str, str], local: str) -> str | None:
    for key, value in attrib.items():
        if key == local or key.endswith("}" + local):
            return value
    return None


def _line_from(segments: list[tuple[str, bool]]) -> _Line:
    text = "".join(piece for piece, _ in segments)
    return _Line(text, _bold_label(segments))


def _bold_label(segments: list[tuple[str, bool]]) -> str | None:
    """The leading bold text when it is short and followed by text that is not bold."""
    index = 0
    while index < len(segments) and not segments[index][0].strip():
        index += 1
    label_parts = []
    while index < len(segments) and segments[index][1]:
        label_parts.append(segments[index][0])
        index += 1
    label = "".join(label_parts).strip()
    rest = "".join(piece for piece, _ in segments[index:])
    if not label or len(label) > MAX_LABEL + 1 or "\n" in label or not rest.strip():
        return None
    return label


def parse_docx(name: str, data: bytes) -> ParsedTranscript:
    """Parse a .docx transcript; ImportRefused for anything that is not a safe Word document."""
    archive = open_package(name, data, WORD)
    check_xml_prologs(name, archive)  # the parts we do not read, [Content_Types].xml among them
    reader = _BodyReader(name)
    parse_xml_member(name, archive, find_member(archive, WORD.main_part), reader)

    parts: list[str] = []
    bold_labels: dict[int, str] = {}
    line_number = 0
    for line in reader.lines():
        text = normalize_text(line.text)
        if line.bold_label is not None:
            label = normalize_text(line.bold_label)
            if text.lstrip(" \t").startswith(label):
                bold_labels[line_number] = label
        parts.append(text)
        line_number += text.count("\n") + 1
    text, dropped = trim_blank_edges("\n".join(parts))
    bold_labels = {number - dropped: label for number, label in bold_labels.items() if number >= dropped}

    notes = []
    if reader.tracked_changes:
        notes.append(
            f"This document had {_count(reader.tracked_changes, 'tracked change')}; "
            "it was imported as it reads with all changes accepted."
        )
    if reader.comments:
        notes.append(f"This document had {_count(reader.comments, 'comment')}; comments are not imported.")
    return ParsedTranscript(text=text, turns=detect_turns(text, bold_labels), format="docx", notes=notes)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
