"""The suggestions' thresholds, the progress callback and the count of examples per code:
what both the light doors of learning.py and the fitted model of model.py use."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .units import Example

FEWEST_EXAMPLES = 6  # units a code must label before it is learned: calibration needs three folds of two
THRESHOLD = 0.3  # a unit is suggested for a code at this calibrated probability: on the demo study, about half right
# A code whose suggestions were right less often than this when measured is not suggested: on
# the demo study, four codes were never right, and showing them would only train people to ignore the rest.
LOWEST_PRECISION = 0.2
MOST_FEATURES = 50_000  # per vectorizer: bounds the model's memory on institution-scale projects
# A model is fitted on at most this many units (each code's positives first, then others at random),
# and each code's classifier on its positives among them and at most MOST_NEGATIVES others: that
# bounds the worker's memory and time on institution-scale projects (bench/README.md). Smaller
# projects are fitted on everything; the measured precision is of the model as sampled.
MOST_TRAINING_UNITS = 6_000
MOST_NEGATIVES = 500

Progress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, message: str) -> None:
    """The progress callback when nobody watches."""


def examples_per_code(examples: Sequence[Example]) -> dict[int, int]:
    """code -> how many units it labels."""
    counts: dict[int, int] = {}
    for example in examples:
        for code in example.positive:
            counts[code] = counts.get(code, 0) + 1
    return counts
