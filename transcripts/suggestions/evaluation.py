"""How often the suggestions are right on this project's own coding: leave one transcript out.

For each coded transcript, a model is fitted on all the others and predicts that one; the
predictions are compared with the coders' labels. A unit a code only partly covers is not
scored for that code (see units.Example.label). Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .learning import FEWEST_EXAMPLES, LOWEST_PRECISION, THRESHOLD, Progress, examples_per_code, fit, no_progress
from .sampling import Sample
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
# (transcript, its labelled units) for those of the given transcripts with something to learn, in
# their order; loading.read_examples reads them from the database a few transcripts at a time.
Reader = Callable[[Sequence[int]], Iterable[tuple[int, Sequence[Example]]]]
# Models whose samples are gathered in one read of the project: leaving transcripts out in more
# groups (one by one, evaluate_suggestions) reads it again for each next few.
SAMPLES_PER_READ = 6
# Held-out transcripts predicted in one call: each classifier's fixed cost is paid once a batch.
SCORED_PER_CALL = 20


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


def in_memory(by_transcript: Mapping[int, Sequence[Example]]) -> Reader:
    """A Reader over examples at hand."""
    return lambda transcripts: ((t, by_transcript[t]) for t in transcripts if by_transcript.get(t))


def evaluate(by_transcript: Mapping[int, Sequence[Example]], **options) -> Evaluation:
    """evaluate_read over examples at hand."""
    return evaluate_read(sorted(by_transcript), in_memory(by_transcript), **options)


@dataclass
class Measuring:
    """What the leave-out measurement gathers as it goes."""

    transcripts: list[int]
    groups: list[list[int]]
    counts: dict[int, int] = field(default_factory=dict)  # code -> units it labels across the project
    with_examples: int = 0
    suggested: list[int] = field(default_factory=list)
    per_code: dict[int, Figures] = field(default_factory=dict)
    folds: list[tuple[frozenset[int], frozenset[int]]] = field(default_factory=list)
    n_suggestions: int = 0


def evaluate_read(
    transcripts: Sequence[int],
    read: Reader,
    *,
    fitter: Fitter = fit,
    threshold: float = THRESHOLD,
    progress: Progress = no_progress,
    most_folds: int | None = None,
    everything: Sample | None = None,
) -> Evaluation:
    """Leave-one-transcript-out figures for the codes the whole project's coding would teach.

    With `most_folds`, transcripts are left out in that many groups instead of one by one (the
    background training on a large project); a transcript is still never predicted by a model
    that saw it. The units are read with `read`, never all at once: each model's sample is
    gathered as they come (sampling.Sample), and each held-out group is predicted
    SCORED_PER_CALL transcripts at a time. `everything`, when given, is offered every unit (the
    final fit's sample, gathered in the same read). Fewer than two transcripts with something to
    learn: nothing is measured (n_transcripts says how many).
    """
    transcripts = sorted(transcripts)
    n_groups = len(transcripts) if most_folds is None else min(most_folds, len(transcripts))
    measuring = Measuring(transcripts, [transcripts[i::n_groups] for i in range(n_groups)])
    for first in range(0, n_groups, SAMPLES_PER_READ):
        progress(first, n_groups, "Reading the coding")
        samples = gather_samples(measuring, read, range(first, min(first + SAMPLES_PER_READ, n_groups)), everything)
        if first == 0:
            measuring.suggested = sorted(code for code, n in measuring.counts.items() if n >= FEWEST_EXAMPLES)
            measuring.per_code = {code: Figures() for code in measuring.suggested}
            if measuring.with_examples < 2:
                break
        for group, sample in samples.items():
            progress(group, n_groups, f"Measuring: part {group + 1} of {n_groups} left out")
            measure_fold(measuring, read, group, sample, fitter, threshold)
    progress(n_groups, n_groups, "Done")
    overall = Figures()
    for found in measuring.per_code.values():
        overall.add(found)
    n = measuring.with_examples
    return Evaluation(
        per_code=measuring.per_code,
        examples=measuring.counts,
        suggested=measuring.suggested,
        overall=overall,
        suggestions_per_transcript=measuring.n_suggestions / n if n else 0.0,
        threshold=threshold,
        folds=measuring.folds,
        n_transcripts=n,
        n_groups=n_groups,
    )


def gather_samples(measuring: Measuring, read: Reader, groups: range, everything: Sample | None) -> dict[int, Sample]:
    """group -> the sample of the units of every transcript outside it, in one read of the project;
    the first read also counts the examples per code, and fills `everything`."""
    samples = {group: Sample() for group in groups}
    group_of = {t: i for i in groups for t in measuring.groups[i]}
    counting = groups.start == 0
    for transcript, examples in read(measuring.transcripts):
        for group, sample in samples.items():
            if group_of.get(transcript) != group:
                sample.extend(examples)
        if counting:
            measuring.with_examples += 1
            for code, n in examples_per_code(examples).items():
                measuring.counts[code] = measuring.counts.get(code, 0) + n
            if everything is not None:
                everything.extend(examples)
    return samples


def measure_fold(
    measuring: Measuring, read: Reader, group: int, sample: Sample, fitter: Fitter, threshold: float
) -> None:
    """Fit a model on the sample of everything but the group, and count its right and wrong
    suggestions on the group's transcripts, predicted SCORED_PER_CALL at a time."""
    held_out = measuring.groups[group]
    seen = frozenset(t for t in measuring.transcripts if t not in held_out)
    model = fitter(sample.chosen(measuring.suggested), measuring.suggested)
    batch: list[Example] = []
    n_read = 0
    for _, examples in read(held_out):
        batch.extend(examples)
        n_read += 1
        if n_read % SCORED_PER_CALL == 0:
            score_into(measuring, model, batch, threshold)
            batch = []
    score_into(measuring, model, batch, threshold)
    measuring.folds.append((frozenset(held_out), seen))


def score_into(measuring: Measuring, model: Suggester, examples: Sequence[Example], threshold: float) -> None:
    if not examples:
        return
    figures, made = score(model, examples, measuring.suggested, threshold)
    for code, found in figures.items():
        measuring.per_code[code].add(found)
    measuring.n_suggestions += made
