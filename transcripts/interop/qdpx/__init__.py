"""REFI-QDA projects (.qdpx, .qde): the format alone, read into and written from plain shapes.

themes.py (Theme <-> Code) is imported on its own: it needs transcripts.interop.refi, which may import this package.
"""

from .archive import DEFAULT_MAX_BYTES
from .model import (
    CONSENSUS_MEMO_NAME,
    CONSENSUS_USER_ID,
    CONSENSUS_USER_NAME,
    EXCERPT_MEMO_NAME,
    PEERCODING_ORIGIN,
    KIND_TO_TYPE,
    LEFT_OUT_NOUNS,
    TYPE_TO_KIND,
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
    describe_left_out,
)
from .offsets import READINGS, choose_reading
from .reader import read_project
from .writer import WriteResult, write_project

__all__ = [
    "CONSENSUS_MEMO_NAME",
    "CONSENSUS_USER_ID",
    "CONSENSUS_USER_NAME",
    "EXCERPT_MEMO_NAME",
    "PEERCODING_ORIGIN",
    "DEFAULT_MAX_BYTES",
    "KIND_TO_TYPE",
    "LEFT_OUT_NOUNS",
    "READINGS",
    "TYPE_TO_KIND",
    "Case",
    "Code",
    "Coding",
    "Graph",
    "Note",
    "NoteTarget",
    "Project",
    "Selection",
    "Set",
    "TextSource",
    "User",
    "Variable",
    "VariableValue",
    "choose_reading",
    "describe_left_out",
    "read_project",
    "write_project",
    "WriteResult",
]
