"""The codebook as exports and imports see it: plain shapes, no Django, so writers and readers test alone."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field

# The fields a code carries besides its name, in the order documents show them.
TEXT_FIELDS = ("definition", "inclusion", "exclusion", "typical_example", "atypical_example")
FIELD_LABELS = {
    "definition": "Definition",
    "inclusion": "Inclusion criteria",
    "exclusion": "Exclusion criteria",
    "typical_example": "Typical example",
    "atypical_example": "Atypical example",
}


@dataclass
class Quote:
    text: str
    participant: str  # a pseudonymous label such as P07, or the transcript title
    coder: str = ""


@dataclass
class Theme:
    """One code of a codebook, with its subthemes; counts are None when not exported."""

    name: str
    color: str = ""
    guid: str = ""
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    typical_example: str = ""
    atypical_example: str = ""
    archived: bool = False
    n_excerpts: int | None = None
    n_transcripts: int | None = None
    n_participants: int | None = None
    quotes: list[Quote] = field(default_factory=list)
    children: list["Theme"] = field(default_factory=list)

    def fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in TEXT_FIELDS}


def walk(themes: list[Theme], depth: int = 0, path: tuple[str, ...] = ()) -> Iterator[tuple[Theme, int, tuple[str, ...]]]:
    """Every theme, parents before children: (theme, depth, path of names from the top)."""
    for theme in themes:
        here = (*path, theme.name)
        yield theme, depth, here
        yield from walk(theme.children, depth + 1, here)


@dataclass
class CodebookDocument:
    """What an export shows: the tree and the title block."""

    project: str
    themes: list[Theme]
    exported_on: datetime.date
    version: str  # e.g. "42" (the number of recorded codebook changes)
    version_note: str = ""  # how the version is counted, for the title block
    as_of: datetime.date | None = None
