"""What the suggestions need to know of the model without loading it: its thresholds, the progress
callback, and the doors to the fitted model in model.py.

scikit-learn and scipy take some 80 MB in every process that imports them, so they are loaded
only when a model is fitted, read or asked (the worker, or a member who opens suggestions),
never by the web worker's start or by pages that show none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .basics import FEWEST_EXAMPLES, LOWEST_PRECISION, THRESHOLD, Progress, examples_per_code, no_progress
from .units import Example

__all__ = [
    "FEWEST_EXAMPLES", "LOWEST_PRECISION", "THRESHOLD", "Progress", "examples_per_code", "fit", "from_bytes", "most_similar",
    "no_progress",
]

if TYPE_CHECKING:
    from .model import Suggester

def fit(examples: Sequence[Example], codes: Sequence[int] | None = None, progress: Progress = no_progress) -> Suggester:
    """A model fitted on the examples (model.fit)."""
    from . import model  # loads scikit-learn: see the module's docstring

    return model.fit(examples, codes, progress)


def from_bytes(data: bytes) -> Suggester | None:
    """The stored model, or None when it was fitted by another scikit-learn (model.from_bytes)."""
    from . import model  # loads scikit-learn: see the module's docstring

    return model.from_bytes(data)


def most_similar(
    query: str, texts: Sequence[str], limit: int = 10, fitted: Suggester | None = None
) -> list[tuple[int, float]]:
    """The texts most like the query, best first (model.most_similar)."""
    from . import model  # loads scikit-learn: see the module's docstring

    return model.most_similar(query, texts, limit, fitted)
