from .coding import (
    codes_css,
    coding_undo,
    excerpt_create,
    excerpt_delete,
    excerpt_detail,
    excerpt_update,
    transcript_detail,
    transcript_state,
)
from .deidentify import pseudonym_delete, pseudonym_list, transcript_deidentify
from .imports import import_transcripts, transcript_speakers
from .participants import (
    participant_create,
    participant_list,
    participant_sheet_import,
    participant_sheet_preview,
)
from .projects import project_detail, project_list, project_settings
from .transcripts import transcript_delete

__all__ = [
    "codes_css",
    "coding_undo",
    "excerpt_create",
    "excerpt_delete",
    "excerpt_detail",
    "excerpt_update",
    "transcript_state",
    "import_transcripts",
    "participant_create",
    "participant_list",
    "participant_sheet_import",
    "participant_sheet_preview",
    "project_detail",
    "project_list",
    "project_settings",
    "pseudonym_delete",
    "pseudonym_list",
    "transcript_deidentify",
    "transcript_delete",
    "transcript_detail",
    "transcript_speakers",
]
