"""How often the suggestions are right on this project's own coding: leave one transcript out.

For each coded transcript, a model is fitted on all the others and predicts that one; the
predictions are compared with the coders' labels. A unit a code only partly covers is not
scored for that code (see units.Example.label). Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .learning import FEWEST_EXAMPLES, LOWEST_PRECISION, THRESHOLD, Progress, examples_per_code, fit, no_progress
from .units import Example

if TYPE_CHECKING:
    from .model import Suggester


@dataclass
class Figures:
    """Counts of right and wrong suggestions, and what follows from them (None when undefined)."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def add(self, other: "Figures") -> None:
        self.true_positives += other.true_positives
        self.false_positives += other.false_positives
        self.false_negatives += other.false_negatives

    @property
    def precision(self) -> float | None:
        made = self.true_positives + self.false_positives
        return self.true_positives / made if made else None

    @property
    def recall(self) -> float | None:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)


@dataclass
class Evaluation:
    per_code: dict[int, Figures]
    examples: dict[int, int]  # code -> units it labels across the project
    suggested: list[int]  # codes with enough examples to be suggested
    overall: Figures
    suggestions_per_transcript: float
    threshold: float
    # (held-out transcripts, transcripts their model was fitted on), one per fold: the split, checkable.
    folds: list[tuple[frozenset[int], frozenset[int]]] = field(default_factory=list)
    n_transcripts: int = 0
    n_groups: int = 0  # how many parts the transcripts were left out in (n_transcripts: one by one)

    @property
    def too_few(self) -> list[int]:
        return sorted(code for code in self.examples if code not in self.suggested)

    @property
    def shown(self) -> list[int]:
        """The codes a coder would see suggested: learned, and right often enough when measured."""
        return [
            code for code in self.suggested
            if self.per_code[code].precision is None or self.per_code[code].precision >= LOWEST_PRECISION
        ]

    def together(self, codes: Sequence[int]) -> Figures:
        """The figures of these codes added up."""
        total = Figures()
        for code in codes:
            total.add(self.per_code[code])
        return total

    def to_json(self) -> dict:
        """What a page needs to show these figures again (the split itself is left out)."""
        return {
            "threshold": self.threshold,
            "transcripts": self.n_transcripts,
            "groups": self.n_groups,
            "per_transcript": self.suggestions_per_transcript,
            "examples": {str(code): n for code, n in self.examples.items()},
            "suggested": self.suggested,
            "per_code": {
                str(code): [f.true_positives, f.false_positives, f.false_negatives] for code, f in self.per_code.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping) -> "Evaluation":
        per_code = {int(code): Figures(*counts) for code, counts in data["per_code"].items()}
        evaluation = cls(
            per_code=per_code,
            examples={int(code): n for code, n in data["examples"].items()},
            suggested=list(data["suggested"]),
            overall=Figures(),
            suggestions_per_transcript=data["per_transcript"],
            threshold=data["threshold"],
            n_transcripts=data["transcripts"],
            n_groups=data["groups"],
        )
        evaluation.overall = evaluation.together(evaluation.suggested)
        return evaluation


Fitter = Callable[[Sequence[Example], Sequence[int]], "Suggester"]


def score(
    model: Suggester, examples: Sequence[Example], codes: Sequence[int], threshold: float
) -> tuple[dict[int, Figures], int]:
    """code -> figures of the model's predictions on the examples, and how many suggestions a coder would see."""
    probabilities = model.probabilities([example.unit.text for example in examples])
    figures = {code: Figures() for code in codes}
    made = 0
    for code in codes:
        predicted = probabilities.get(code)
        for i, example in enumerate(examples):
            said = predicted is not None and predicted[i] >= threshold
            made += said
            truth = example.label(code)
            if truth is None:
                continue
            if said and truth:
                figures[code].true_positives += 1
            elif said:
                figures[code].false_positives += 1
            elif truth:
                figures[code].false_negatives += 1
    return figures, made


def evaluate(
    by_transcript: Mapping[int, Sequence[Example]],
    *,
    fitter: Fitter = fit,
    threshold: float = THRESHOLD,
    progress: Progress = no_progress,
    most_folds: int | None = None,
) -> Evaluation:
    """Leave-one-transcript-out figures for the codes the whole project's coding would teach.

    With `most_folds`, transcripts are left out in that many groups instead of one by one (the
    background training on a large project); a transcript is still never predicted by a model
    that saw it.
    """
    everything = [example for examples in by_transcript.values() for example in examples]
    counts = examples_per_code(everything)
    suggested = sorted(code for code, n in counts.items() if n >= FEWEST_EXAMPLES)
    per_code = {code: Figures() for code in suggested}
    folds, n_suggestions = [], 0
    transcripts = sorted(by_transcript)
    n_groups = len(transcripts) if most_folds is None else min(most_folds, len(transcripts))
    groups = [transcripts[i::n_groups] for i in range(n_groups)]
    for done, held_out in enumerate(groups):
        progress(done, n_groups, f"Measuring: part {done + 1} of {n_groups} left out")
        seen = frozenset(t for t in transcripts if t not in held_out)
        model = fitter([example for t in sorted(seen) for example in by_transcript[t]], suggested)
        figures, made = score(model, [e for t in held_out for e in by_transcript[t]], suggested, threshold)
        for code, found in figures.items():
            per_code[code].add(found)
        n_suggestions += made
        folds.append((frozenset(held_out), seen))
    progress(n_groups, n_groups, "Done")
    overall = Figures()
    for found in per_code.values():
        overall.add(found)
    return Evaluation(
        per_code=per_code,
        examples=counts,
        suggested=suggested,
        overall=overall,
        suggestions_per_transcript=n_suggestions / len(transcripts) if transcripts else 0.0,
        threshold=threshold,
        folds=folds,
        n_transcripts=len(transcripts),
        n_groups=n_groups,
    )
