"""The units a model is fitted on, chosen while they are read. Pure: no Django, no numpy.

A project's labelled units are read a few transcripts at a time (loading.read_examples) and
offered to a Sample, which keeps only what could still be chosen: each code's positives with
the lowest keys, at most a share of MOST_TRAINING_UNITS each, and the MOST_TRAINING_UNITS units
with the lowest keys overall. So a fit holds a bounded number of units however large the project,
and chooses what it would have chosen from the whole list at once (`sample_of`).

A unit's key is a hash of where it is (transcript, start, end): the same coding always gives the
same sample, whatever order or batches the units come in.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Sequence

from .basics import FEWEST_EXAMPLES, MOST_TRAINING_UNITS
from .units import Example


def key(example: Example) -> int:
    """The unit's place in the random order the sample is drawn in."""
    unit = example.unit
    digest = hashlib.blake2b(f"{unit.transcript}:{unit.start}:{unit.end}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def share_of(n_codes: int) -> int:
    """How many of each code's positives a sample keeps when it is fitted for n_codes codes."""
    return max(FEWEST_EXAMPLES * 2, MOST_TRAINING_UNITS // (2 * max(n_codes, 1)))


class Sample:
    """At most MOST_TRAINING_UNITS of the examples offered: an even share of each code's positives,
    then others at random (see the module's docstring).

    Holds at most MOST_TRAINING_UNITS units plus each code's share of positives while it is filled;
    the share shrinks as more codes reach FEWEST_EXAMPLES positives, so it never keeps fewer than
    `chosen` will ask for (a code is chosen for only if it has that many, and the caller's codes
    include every code that has).
    """

    def __init__(self) -> None:
        self.n_offered = 0
        # Max-heaps by key (keys negated), so the highest key is the one dropped: (-key, order, example).
        self.lowest: list[tuple[int, int, Example]] = []
        self.positives: dict[int, list[tuple[int, int, Example]]] = {}
        self.counts: dict[int, int] = {}
        self.n_learnable = 0  # codes with FEWEST_EXAMPLES positives offered so far

    def extend(self, examples: Iterable[Example]) -> None:
        for example in examples:
            self.add(example)

    def add(self, example: Example) -> None:
        entry = (-key(example), self.n_offered, example)
        self.n_offered += 1
        keep(self.lowest, entry, MOST_TRAINING_UNITS)
        for code in example.positive:
            self.counts[code] = self.counts.get(code, 0) + 1
            if self.counts[code] == FEWEST_EXAMPLES:
                self.n_learnable += 1
                for heap in self.positives.values():
                    trim(heap, share_of(self.n_learnable))
            keep(self.positives.setdefault(code, []), entry, share_of(self.n_learnable))

    def __len__(self) -> int:
        """How many units it holds (each once)."""
        held = {order for _, order, _ in self.lowest}
        held.update(order for heap in self.positives.values() for _, order, _ in heap)
        return len(held)

    def chosen(self, codes: Sequence[int]) -> list[Example]:
        """The sample for a model of these codes, in the order the examples were offered: all of
        them when there were at most MOST_TRAINING_UNITS."""
        if self.n_offered <= MOST_TRAINING_UNITS:
            return [example for _, _, example in sorted(self.lowest, key=lambda entry: entry[1])]
        share = share_of(len(codes))
        kept: dict[int, Example] = {}
        for code in codes:
            for _, order, example in heapq.nlargest(share, self.positives.get(code, [])):
                kept[order] = example
        for _, order, example in sorted(self.lowest, reverse=True):  # lowest key first
            if len(kept) >= MOST_TRAINING_UNITS:
                break
            kept.setdefault(order, example)
        return [kept[order] for order in sorted(kept)]


def keep(heap: list, entry: tuple, most: int) -> None:
    """Add the entry to the max-heap of at most `most` lowest keys, if it is low enough."""
    if len(heap) < most:
        heapq.heappush(heap, entry)
    elif entry > heap[0]:
        heapq.heapreplace(heap, entry)


def trim(heap: list, most: int) -> None:
    while len(heap) > most:
        heapq.heappop(heap)


def sample_of(examples: Iterable[Example], codes: Sequence[int]) -> list[Example]:
    """The examples a model of these codes is fitted on, from a list at hand."""
    sample = Sample()
    sample.extend(examples)
    return sample.chosen(codes)
