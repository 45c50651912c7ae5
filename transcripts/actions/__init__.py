"""Writes that span models, must be atomic, or need an audit row, one module per area.

Every write takes `by`, the user on whose behalf it acts, and records an AuditEvent inside the
same transaction as the change. Call sites use `from transcripts import actions` and
`actions.merge_codes(...)`; the areas are:

    base          the errors writes raise, and the states their audit events store
    projects      a project started, its creator made lead
    members       members, accounts, second factors
    teamwork      assignments, blind coding, consensus
    transcripts   transcripts imported, typed in, de-identified, deleted; speaker roles
    participants  participants and participant sheets
    coding        excerpts created, changed, deleted, undone; coding search hits
    jobs          background reports and exports started
    project_preview what a REFI-QDA project file (.qdpx, .qde) will bring in, before any write
    project_import  a REFI-QDA project brought in as a new project
    suggestions   code suggestions fitted, accepted, rejected; their models forgotten
    codebook      codes created, changed, moved, reordered, archived, merged, deleted,
                  imported; exemplars
    counts        the review counts kept exact by every write above that changes coding
"""

from .base import CODE_FIELDS, ConfirmationRequired, StaleEdit, code_state, excerpt_state
from .codebook import (
    MergeResult,
    PlannedCode,
    apply_import,
    archive_code,
    change_code,
    create_code,
    delete_code,
    merge_codes,
    move_code,
    next_order,
    plan_import,
    reorder_code,
    set_exemplar,
)
from .counts import forget as forget_review_counts
from .counts import recount as recount_review_counts
from .coding import UNDOABLE, DuplicateCoding, change_excerpt, code_search_hits, create_excerpt, delete_excerpt, last_undoable, undo_last
from .jobs import (
    confirm_project_preview,
    restart_job,
    start_job,
    start_project_import,
    start_project_preview,
    start_transcripts_import,
)
from .members import (
    change_role,
    confirm_second_factor,
    create_account,
    remove_member,
    remove_second_factor,
    set_role,
)
from .projects import create_project
from .project_import import ImportResult, import_project
from .project_preview import FileUser, PreparedImport, prepare_project_import, read_project_file
from .participants import (
    LABEL_IN_NAME,
    SheetResult,
    canonical_label,
    change_attribute_label,
    create_participant,
    import_participant_sheet,
    participant_for_label,
    read_participant_sheet,
)
from ..suggestions.training import model_row, train_suggestions
from .suggestions import accept_suggestion, delete_suggestion_models, reject_suggestion
from .teamwork import (
    assign_with_overlap,
    remove_assignment,
    set_assignment_done,
    set_blinding,
    set_transcript_blinding,
    settle_consensus,
)
from .transcripts import (
    INTERVIEWER_LABELS,
    FileResult,
    create_transcript,
    deidentify_preview,
    deidentify_transcript,
    delete_transcript,
    guess_participant_label,
    guess_speaker_roles,
    import_transcript_file,
    set_speaker_roles,
)

__all__ = [
    # counts
    "forget_review_counts",
    "recount_review_counts",
    # suggestions
    "accept_suggestion",
    "delete_suggestion_models",
    "model_row",
    "reject_suggestion",
    "train_suggestions",
    # base
    "CODE_FIELDS",
    "ConfirmationRequired",
    "StaleEdit",
    "code_state",
    "excerpt_state",
    # jobs
    "restart_job",
    "start_job",
    "start_project_import",
    "start_project_preview",
    "confirm_project_preview",
    "start_transcripts_import",
    # codebook
    "MergeResult",
    "PlannedCode",
    "apply_import",
    "archive_code",
    "change_code",
    "create_code",
    "delete_code",
    "merge_codes",
    "move_code",
    "next_order",
    "plan_import",
    "reorder_code",
    "set_exemplar",
    # coding
    "UNDOABLE",
    "DuplicateCoding",
    "change_excerpt",
    "code_search_hits",
    "create_excerpt",
    "delete_excerpt",
    "last_undoable",
    "undo_last",
    # members
    "change_role",
    "confirm_second_factor",
    "create_account",
    "create_project",
    "remove_member",
    "remove_second_factor",
    "set_role",
    # project_preview, project_import
    "FileUser",
    "ImportResult",
    "PreparedImport",
    "import_project",
    "prepare_project_import",
    "read_project_file",
    # participants
    "LABEL_IN_NAME",
    "SheetResult",
    "canonical_label",
    "change_attribute_label",
    "create_participant",
    "import_participant_sheet",
    "participant_for_label",
    "read_participant_sheet",
    # teamwork
    "assign_with_overlap",
    "remove_assignment",
    "set_assignment_done",
    "set_blinding",
    "set_transcript_blinding",
    "settle_consensus",
    # transcripts
    "INTERVIEWER_LABELS",
    "FileResult",
    "create_transcript",
    "deidentify_preview",
    "deidentify_transcript",
    "delete_transcript",
    "guess_participant_label",
    "guess_speaker_roles",
    "import_transcript_file",
    "set_speaker_roles",
]
