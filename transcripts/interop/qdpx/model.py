"""The shapes a REFI-QDA project is read into and written from. No Django imports.

GUIDs are kept as the file spells them, lower-cased and without braces; positions are code
points into the source's text, end exclusive, whatever the file counted (see offsets.py).
Dates are aware datetimes, or None when the file gives none.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

# Our attribute kinds and the schema's typeOfVariable values; "choice" is written as Text with
# its choices listed in the Variable's Description (see writer.variable_description).
KIND_TO_TYPE = {"text": "Text", "number": "Float", "date": "Date", "choice": "Text"}
TYPE_TO_KIND = {"Text": "text", "Integer": "number", "Float": "number", "Date": "date", "Boolean": "choice"}

# How a file peercoding wrote marks what REFI-QDA has no element for, so that it reads back whole:
# the consensus coding is made by a user of this id and name (the lead who settled it modifies it),
# and an excerpt's memo is a note of one of these names on its selection.
PEERCODING_ORIGIN = "peercoding"
CONSENSUS_USER_ID = "peercoding:consensus"
CONSENSUS_USER_NAME = "Consensus"
EXCERPT_MEMO_NAME = "Excerpt memo"
CONSENSUS_MEMO_NAME = "Why the consensus"


@dataclass
class User:
    guid: str
    name: str = ""
    email: str = ""  # from the User's id attribute when it looks like an address
    id: str = ""  # the User's id attribute as written (NVivo puts initials there)


@dataclass
class Code:
    guid: str
    name: str
    color: str = ""  # "#rrggbb" or ""
    codable: bool = True  # isCodable; peercoding writes archived codes as not codable
    description: str = ""  # refi.split_description() turns it into definition and criteria
    children: list[Code] = field(default_factory=list)


@dataclass
class Variable:
    guid: str
    name: str
    type_of: str  # the schema's typeOfVariable: Text, Integer, Float, Date, Boolean, DateTime
    description: str = ""
    choices: list[str] = field(default_factory=list)
    label: str = ""  # the name shown on pages when it is not the one made from `name` (peercoding's Attribute.label)

    @property
    def kind(self) -> str | None:
        """Our attribute kind ("text", "number", "date", "choice"), None when we have no such kind."""
        if self.choices:
            return "choice"
        return TYPE_TO_KIND.get(self.type_of)


@dataclass
class VariableValue:
    variable_guid: str
    value: str  # as written: "42", "2024-05-01", "true", free text


@dataclass
class Case:
    guid: str
    name: str = ""
    description: str = ""
    values: list[VariableValue] = field(default_factory=list)
    source_guids: list[str] = field(default_factory=list)


@dataclass
class Coding:
    guid: str
    code_guid: str
    creating_user: str = ""
    created: datetime.datetime | None = None


@dataclass
class Selection:
    guid: str
    source_guid: str
    start: int  # code points, end exclusive
    end: int
    name: str = ""
    description: str = ""
    creating_user: str = ""
    created: datetime.datetime | None = None
    modifying_user: str = ""
    modified: datetime.datetime | None = None
    codings: list[Coding] = field(default_factory=list)


@dataclass
class TextSource:
    guid: str
    name: str
    text: str  # the full plain text; the BOM of a .txt member is not part of it
    description: str = ""
    creating_user: str = ""
    created: datetime.datetime | None = None
    modifying_user: str = ""
    modified: datetime.datetime | None = None
    selections: list[Selection] = field(default_factory=list)
    values: list[VariableValue] = field(default_factory=list)  # source-level attributes
    text_from: str = ""  # where the text came from: "sources/x.txt", "PlainTextContent", ...


@dataclass
class NoteTarget:
    kind: str  # "project", "code", "source", "selection", "coding", "case", "variable", "set", "note"
    guid: str  # "" for the project


@dataclass
class Note:
    guid: str
    name: str = ""
    text: str = ""
    description: str = ""
    creating_user: str = ""
    created: datetime.datetime | None = None
    modifying_user: str = ""
    modified: datetime.datetime | None = None
    attached_to: list[NoteTarget] = field(default_factory=list)  # from the NoteRefs that name it


@dataclass
class Set:
    guid: str
    name: str
    description: str = ""
    code_guids: list[str] = field(default_factory=list)
    source_guids: list[str] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)


@dataclass
class Graph:
    guid: str
    name: str = ""
    n_vertices: int = 0
    n_edges: int = 0


# What the reader leaves out, as (one, many) for the preview's sentence.
LEFT_OUT_NOUNS = {
    "pdf_source": ("PDF source", "PDF sources"),
    "picture_source": ("picture source", "picture sources"),
    "audio_source": ("audio source", "audio sources"),
    "video_source": ("video source", "video sources"),
    "text_source_without_text": (
        "text source whose text is not in the file",
        "text sources whose text is not in the file",
    ),
    "empty_text_source": ("text source with no text", "text sources with no text"),
    "selection_in_source_without_text": (
        "selection in a text source whose text is not in the file",
        "selections in text sources whose text is not in the file",
    ),
    "pdf_selection": ("PDF selection", "PDF selections"),
    "picture_selection": ("picture selection", "picture selections"),
    "audio_selection": ("audio selection", "audio selections"),
    "video_selection": ("video selection", "video selections"),
    "media_transcript": ("transcript of an audio or video source", "transcripts of audio or video sources"),
    "empty_selection": ("empty selection (start equals end)", "empty selections (start equals end)"),
    "source_coding": ("coding of a whole source", "codings of whole sources"),
    "case_code_link": ("code linked to a case", "codes linked to cases"),
    "case_selection_link": ("selection linked to a case", "selections linked to cases"),
    "datetime_variable": ("date-and-time variable", "date-and-time variables"),
    "unknown_variable": ("variable of an unknown type", "variables of unknown types"),
    "set": ("set", "sets"),
    "graph": ("graph", "graphs"),
    "link": ("link", "links"),
}


def describe_left_out(counts: Counter[str] | dict[str, int]) -> str:
    """ "3 PDF sources, 2 audio sources and 1 graph", in LEFT_OUT_NOUNS order; "" when nothing."""
    parts = []
    for kind, (one, many) in LEFT_OUT_NOUNS.items():
        n = counts.get(kind, 0)
        if n:
            parts.append(f"{n:,} {one if n == 1 else many}")
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return "".join(parts)


@dataclass
class Project:
    name: str
    origin: str = ""
    description: str = ""
    creating_user: str = ""
    created: datetime.datetime | None = None
    modifying_user: str = ""
    modified: datetime.datetime | None = None
    users: list[User] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    sources: list[TextSource] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    sets: list[Set] = field(default_factory=list)
    graphs: list[Graph] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)
    offset_reading: str = "code points"  # how the file's positions were read (offsets.READINGS)
    messages: list[str] = field(default_factory=list)  # what was bent on the way, for the preview

    @property
    def from_peercoding(self) -> bool:
        """Whether peercoding wrote the file, so its marks (consensus user, excerpt memos) may be read as such."""
        return self.origin.strip().lower().startswith(PEERCODING_ORIGIN)

    def consensus_user(self) -> str:
        """The GUID of the user that stands for peercoding's consensus coding, or ""."""
        if not self.from_peercoding:
            return ""
        return next((user.guid for user in self.users if user.id.strip() == CONSENSUS_USER_ID), "")

    def all_codes(self) -> list[Code]:
        """Every code, parents before children."""
        found: list[Code] = []
        stack = list(reversed(self.codes))
        while stack:
            code = stack.pop()
            found.append(code)
            stack.extend(reversed(code.children))
        return found

    def counts(self) -> dict[str, int]:
        """What comes in, for the preview."""
        selections = [s for source in self.sources for s in source.selections]
        return {
            "sources": len(self.sources),
            "codes": len(self.all_codes()),
            "selections": len(selections),
            "codings": sum(len(s.codings) for s in selections),
            "notes": len(self.notes),
            "cases": len(self.cases),
            "variables": len(self.variables),
            "users": len(self.users),
        }
