"""What every area of writes shares: the errors they raise and the states they audit.

A code's or an excerpt's state is what its audit events store in `before` and `after`, so the
trail can replay the codebook (codebook.replay) and undo an excerpt change (coding.undo_last).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Code, Excerpt


class ConfirmationRequired(Exception):
    """A destructive change that touches coding needs a lead's explicit confirmation."""

    def __init__(self, message: str, *, n_excerpts: int) -> None:
        super().__init__(message)
        self.n_excerpts = n_excerpts


class StaleEdit(Exception):
    """Somebody else changed the object since the form was loaded."""


CODE_FIELDS = (
    "name",
    "color",
    "definition",
    "inclusion",
    "exclusion",
    "typical_example",
    "atypical_example",
    "order",
    "archived",
    "parent_id",
    # With the guid, the codebook history can replay a code's life from the audit trail alone.
    "guid",
)


def code_state(code: Code) -> dict:
    """The code's whole state, as code.* audit events store it."""
    return {field: getattr(code, field) for field in CODE_FIELDS}


def excerpt_state(excerpt: Excerpt, code_ids: Iterable[int] | None = None) -> dict:
    """The excerpt's state, as excerpt.* audit events store it; `code_ids` saves a query when known."""
    if code_ids is None:
        code_ids = excerpt.applications.values_list("code_id", flat=True)
    return {
        "transcript": excerpt.transcript_id,
        "start": excerpt.start,
        "end": excerpt.end,
        "quote": excerpt.quote,
        "memo": excerpt.memo,
        "codes": sorted(code_ids),
        "coder": excerpt.coder_id,
    }
