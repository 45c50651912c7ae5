"""Import transcripts and participant sheets from uploaded bytes. Pure: no Django imports.

parse_transcript() and parse_participant_sheet() either return the parsed content or raise
ImportRefused with a message for the researcher; no other exception escapes them.
"""

from __future__ import annotations

from .base import (
    ACCEPTED_FORMATS,
    ACCEPTED_SHEET_FORMATS,
    DEFAULT_MAX_BYTES,
    ImportRefused,
    ParsedTranscript,
    ParticipantSheet,
    SheetColumn,
    SheetRow,
    Turn,
    list_formats,
    quoted,
)
from .captions import parse_srt, parse_vtt
from .docx import parse_docx
from .safety import check_filename, check_size, extension_of, refusing_failures
from .sheets import DEFAULT_SHEET_MAX_BYTES, parse_participant_sheet
from .text import parse_txt

__all__ = [
    "ACCEPTED_FORMATS",
    "ACCEPTED_SHEET_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_SHEET_MAX_BYTES",
    "ImportRefused",
    "ParsedTranscript",
    "ParticipantSheet",
    "SheetColumn",
    "SheetRow",
    "Turn",
    "check_filename",
    "parse_participant_sheet",
    "parse_transcript",
]

PARSERS = {".docx": parse_docx, ".txt": parse_txt, ".vtt": parse_vtt, ".srt": parse_srt}


def parse_transcript(filename: str, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedTranscript:
    """Parse an uploaded transcript by its extension; ImportRefused for anything unusable."""
    name = check_filename(filename)
    extension = extension_of(name)
    parser = PARSERS.get(extension)
    if parser is None:
        raise ImportRefused(
            f"peercoding imports {list_formats(ACCEPTED_FORMATS)} files; "
            f"{quoted(name)} is not one of these."
        )
    check_size(name, data, max_bytes, "transcripts")
    with refusing_failures(
        f"{quoted(name)} could not be read. Check that it opens normally, save it again and try again."
    ):
        parsed = parser(name, data)
    if not parsed.text.strip():
        raise ImportRefused(f"{quoted(name)} contains no text.")
    if not any(turn.speaker for turn in parsed.turns):
        parsed.notes.append("No speaker labels were recognised, so the text has no speaker turns.")
    return parsed
