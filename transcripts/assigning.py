"""Who codes which transcript: round-robin with a random double-coded sample. No Django imports."""

from __future__ import annotations

import random
from collections.abc import Sequence


def plan_overlap(
    transcript_ids: Sequence[int], coder_ids: Sequence[int], share: float, seed: int
) -> list[tuple[int, int]]:
    """(transcript, coder) pairs: each transcript to one coder in turn, and a random `share` of
    them (rounded to the nearest whole transcript) to a second, different coder as well.

    The same transcripts, coders, share and seed always give the same plan, so a plan can be
    re-derived from the audit trail. Transcripts and coders are taken in the order given.
    """
    if not coder_ids:
        raise ValueError("choose at least one coder")
    if not 0 <= share <= 1:
        raise ValueError("the overlap share must be between 0 and 100%")
    if share > 0 and len(coder_ids) < 2:
        raise ValueError("double-coding needs at least two coders")
    rng = random.Random(seed)
    n_coders = len(coder_ids)
    plan = [(transcript, coder_ids[index % n_coders]) for index, transcript in enumerate(transcript_ids)]
    n_double = round(share * len(transcript_ids))
    for index in sorted(rng.sample(range(len(transcript_ids)), n_double)):
        # Any coder but the first one, chosen at random so that pairs of coders vary too.
        second = (index + 1 + rng.randrange(n_coders - 1)) % n_coders
        plan.append((transcript_ids[index], coder_ids[second]))
    return plan
