"""Inter-coder agreement statistics on plain data. No Django imports, standard library only.

Three statistics are offered:

* `percent_agreement` -- the share of units two coders labelled alike;
* `cohen_kappa` -- Cohen's (1960) kappa for two coders and nominal labels;
* `krippendorff_alpha` -- Krippendorff's alpha for any number of coders, missing values, and
  the nominal, ordinal, interval and ratio levels of measurement, computed as in Krippendorff
  (2011), "Computing Krippendorff's Alpha-Reliability".

Missing values are written `None`; a float NaN (``float("nan")``) counts as missing too, so
data that went through a spreadsheet or numpy behave the same.

When a statistic has no value for the data given -- nothing to compare, or no variation, so
that chance agreement is already perfect -- the functions raise `UndefinedStatistic`, a
`ValueError` whose message says why in plain words. They never return 0 or NaN in its place.

The functions are meant for character-level data, where one "unit" is one character of a
transcript and inputs can be hundreds of thousands of units long. They first count how often
each distinct combination of labels occurs (``Counter(zip(...))``, which runs at C speed), and
then do the arithmetic once per distinct combination, so the cost beyond that first count
depends on how many distinct values there are, not on the number of units.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from numbers import Real

__all__ = [
    "UndefinedStatistic",
    "percent_agreement",
    "cohen_kappa",
    "krippendorff_alpha",
    "kappa_is_unstable",
    "LEVELS",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
"""The levels of measurement `krippendorff_alpha` accepts."""

# Thresholds for `kappa_is_unstable`.
MIN_PREVALENCE = 0.05
MIN_UNITS_PER_SIDE = 10


class UndefinedStatistic(ValueError):
    """The statistic has no value for these data; the message says why, in plain words."""


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check_equal_lengths(labels_a: Sequence, labels_b: Sequence) -> None:
    if len(labels_a) != len(labels_b):
        raise ValueError(
            f"the two coders must label the same units: got {len(labels_a)} labels "
            f"from the first coder and {len(labels_b)} from the second"
        )


def _paired_counts(labels_a: Sequence, labels_b: Sequence) -> tuple[Counter, int]:
    """Count each (label_a, label_b) pair, skipping pairs with a missing side."""
    _check_equal_lengths(labels_a, labels_b)
    pairs = Counter(zip(labels_a, labels_b))
    kept: Counter = Counter()
    for (a, b), count in pairs.items():
        if not (_is_missing(a) or _is_missing(b)):
            kept[a, b] += count
    return kept, sum(kept.values())


def percent_agreement(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float:
    """Return the share (0.0 to 1.0) of units that two coders labelled alike.

    `labels_a` and `labels_b` hold one label per unit, in the same order and of the same length
    (`ValueError` otherwise). Units where either coder's label is missing (`None` or NaN) are
    left out. Raises `UndefinedStatistic` when no unit has labels from both coders.

    Percent agreement does not correct for chance: two coders who both tick "no" on 95% of
    units agree at least 90% of the time by chance alone. Report it next to kappa or alpha.
    """
    pairs, n = _paired_counts(labels_a, labels_b)
    if n == 0:
        raise UndefinedStatistic(
            "percent agreement is undefined: no unit was labelled by both coders"
        )
    agree = sum(count for (a, b), count in pairs.items() if a == b)
    return agree / n


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float:
    """Return Cohen's kappa for two coders who gave nominal labels to the same units.

    kappa = (p_o - p_e) / (1 - p_e), where p_o is the observed share of agreement and p_e the
    agreement expected by chance from each coder's own label frequencies (Cohen 1960).

    `labels_a` and `labels_b` hold one label per unit, in the same order and of the same length
    (`ValueError` otherwise). Labels may be any hashable values; units where either label is
    missing (`None` or NaN) are left out.

    Raises `UndefinedStatistic` when no unit has labels from both coders, or when both coders
    used one and the same single label throughout: chance agreement is then already perfect
    (p_e = 1) and kappa is 0/0, which says nothing about the coders' reliability.

    The arithmetic is done on whole-number counts, so the result is exact up to the final
    division.
    """
    pairs, n = _paired_counts(labels_a, labels_b)
    if n == 0:
        raise UndefinedStatistic("Cohen's kappa is undefined: no unit was labelled by both coders")
    agree = 0
    margins_a: Counter = Counter()
    margins_b: Counter = Counter()
    for (a, b), count in pairs.items():
        margins_a[a] += count
        margins_b[b] += count
        if a == b:
            agree += count
    # kappa = (p_o - p_e) / (1 - p_e) with p_o = agree / n and p_e = chance / n**2.
    chance = sum(count * margins_b.get(label, 0) for label, count in margins_a.items())
    denominator = n * n - chance
    if denominator == 0:
        (label,) = margins_a
        raise UndefinedStatistic(
            f"Cohen's kappa is undefined: both coders gave every one of the {n} units the same "
            f"label ({label!r}), so there is no variation and agreement by chance is already "
            "perfect"
        )
    return (n * agree - chance) / denominator


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[object]], level: str = "nominal"
) -> float:
    """Return Krippendorff's alpha for any number of coders, with missing values allowed.

    `reliability_data` holds one sequence per coder, each with one value per unit, all of the
    same length (`ValueError` otherwise); `None` or NaN marks a unit the coder did not code.
    `level` is the level of measurement, one of "nominal", "ordinal", "interval" or "ratio",
    and chooses Krippendorff's difference function between two values c and k:

    * nominal: 0 if c == k, else 1. Values may be any hashables.
    * ordinal: (n_c/2 + sum of n_g for the values g strictly between c and k + n_k/2) ** 2,
      where n_g counts how often value g was used in pairable units (Krippendorff 2011). Only
      the order of the values matters, so they must be mutually comparable (numbers, or
      strings whose sort order is the intended order).
    * interval: (c - k) ** 2. Values must be real numbers.
    * ratio: ((c - k) / (c + k)) ** 2. Values must be real numbers, none negative.

    alpha = 1 - D_o / D_e, the observed over the expected disagreement, computed from the
    coincidence matrix as in Krippendorff (2011). Units with fewer than two values are not
    pairable and are dropped. 1 means perfect reliability, 0 agreement at chance level, and
    below 0 systematic disagreement.

    Raises `UndefinedStatistic` when no unit has values from at least two coders, or when all
    pairable values are the same one value (no variation: expected disagreement is 0).

    Cost: one C-speed pass to count distinct unit patterns, then work in proportion to the
    number of distinct patterns and values. Ratio level also takes time in proportion to the
    square of the number of distinct values, so it suits data with a few hundred distinct
    values or fewer.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement {level!r}: use one of {', '.join(LEVELS)}")
    lengths = {len(coder) for coder in reliability_data}
    if len(lengths) > 1:
        raise ValueError(
            "every coder must have one value per unit, but the coders' sequences have "
            f"different lengths: {sorted(lengths)}"
        )

    units, totals = _pairable_units(reliability_data)
    _check_alpha_defined(totals)
    n = sum(totals.values())
    if level == "nominal":
        return _alpha_nominal(units, totals, n)
    if level in ("interval", "ratio"):
        _check_numbers(totals, level)
    if level == "ratio":
        return _alpha_ratio(units, totals, n)
    if level == "interval":
        position = {value: float(value) for value in totals}
    else:  # ordinal
        position = _ordinal_positions(totals)
    return _alpha_squared_distance(units, totals, n, position)


def _pairable_units(reliability_data: Sequence[Sequence[object]]) -> tuple[list[tuple[int, int, Counter]], Counter]:
    """Units (grouped by pattern) with at least two values, as (weight, m_u, {value: n_uv}),
    and n_v: how often each value occurs among pairable values (the coincidence matrix's row
    sums)."""
    # Each distinct combination of values across coders, with how many units show it.
    patterns = Counter(zip(*reliability_data))
    units: list[tuple[int, int, Counter]] = []
    totals: Counter = Counter()
    for pattern, weight in patterns.items():
        values = [value for value in pattern if not _is_missing(value)]
        if len(values) < 2:
            continue
        counts = Counter(values)
        units.append((weight, len(values), counts))
        for value, count in counts.items():
            totals[value] += weight * count
    return units, totals


def _check_alpha_defined(totals: Counter) -> None:
    """UndefinedStatistic when there are no pairable values, or only one distinct value."""
    if not totals:
        raise UndefinedStatistic(
            "Krippendorff's alpha is undefined: no unit was coded by at least two coders, so "
            "there are no pairs of values to compare"
        )
    if len(totals) < 2:
        (value,) = totals
        raise UndefinedStatistic(
            f"Krippendorff's alpha is undefined: every pairable value is {value!r}, so there is "
            "no variation and the expected disagreement is 0"
        )


def _alpha_nominal(units: list[tuple[int, int, Counter]], totals: Counter, n: int) -> float:
    # Observed: sum over units of (pairs of differing values within the unit) / (m_u - 1).
    # Expected: n * n - sum of n_v ** 2 (ordered pairs of differing values overall).
    observed = math.fsum(
        weight * (m * m - sum(c * c for c in counts.values())) / (m - 1)
        for weight, m, counts in units
    )
    expected = n * n - sum(c * c for c in totals.values())
    return 1.0 - (n - 1) * observed / expected


def _alpha_squared_distance(
    units: list[tuple[int, int, Counter]], totals: Counter, n: int, position: dict
) -> float:
    """Alpha for a difference function of the form (x_c - x_k) ** 2.

    That covers interval (x = the value itself) and ordinal (x = the value's mid-rank among the
    pairable values; see `_ordinal_positions`).
    """
    observed = math.fsum(
        weight * _unit_squared_spread(counts, position) / (m - 1) for weight, m, counts in units
    )
    # sum over ordered pairs c, k of n_c * n_k * (x_c - x_k) ** 2 == 2 * n * sum n_c (x_c - mean)**2
    mean = math.fsum(count * position[value] for value, count in totals.items()) / n
    expected = 2 * n * math.fsum(
        count * (position[value] - mean) ** 2 for value, count in totals.items()
    )
    return 1.0 - (n - 1) * observed / expected


def _unit_squared_spread(counts: Counter, position: dict) -> float:
    """Sum over ordered pairs of differing values in one unit of n_c * n_k * (x_c - x_k) ** 2."""
    items = list(counts.items())
    total = 0.0
    for i, (c, n_c) in enumerate(items):
        for k, n_k in items[i + 1 :]:
            total += n_c * n_k * (position[c] - position[k]) ** 2
    return 2 * total


def _ordinal_positions(totals: Counter) -> dict:
    """Map each value to its mid-rank among the pairable values.

    Krippendorff's ordinal difference between c < k is
    (n_c/2 + sum_{c<g<k} n_g + n_k/2) ** 2, which equals (r_k - r_c) ** 2 when
    r_v = (number of pairable values below v) + n_v / 2. So ordinal alpha is interval alpha on
    these mid-ranks.
    """
    try:
        ordered = sorted(totals)
    except TypeError as exc:
        raise TypeError(
            "ordinal alpha needs values that can be put in order (for example whole numbers); "
            f"these cannot: {exc}"
        ) from None
    position = {}
    below = 0
    for value in ordered:
        count = totals[value]
        position[value] = below + count / 2
        below += count
    return position


def _check_numbers(totals: Counter, level: str) -> None:
    for value in totals:
        if not isinstance(value, Real):
            raise TypeError(f"{level} alpha needs numbers, got {value!r}")
        if math.isinf(value):
            raise ValueError(f"{level} alpha needs finite numbers, got {value!r}")
        if level == "ratio" and value < 0:
            raise ValueError(f"ratio alpha needs values of 0 or more, got {value!r}")


def _ratio_delta(c: float, k: float) -> float:
    total = c + k
    return 0.0 if total == 0 else ((c - k) / total) ** 2


def _alpha_ratio(units: list[tuple[int, int, Counter]], totals: Counter, n: int) -> float:
    observed = 0.0
    for weight, m, counts in units:
        items = list(counts.items())
        spread = 0.0
        for i, (c, n_c) in enumerate(items):
            for k, n_k in items[i + 1 :]:
                spread += n_c * n_k * _ratio_delta(float(c), float(k))
        observed += weight * 2 * spread / (m - 1)
    items = [(float(value), count) for value, count in totals.items()]
    expected = 0.0
    for i, (c, n_c) in enumerate(items):
        for k, n_k in items[i + 1 :]:
            expected += n_c * n_k * _ratio_delta(c, k)
    expected *= 2
    return 1.0 - (n - 1) * observed / expected


def kappa_is_unstable(prevalence: float, n_units: int) -> bool:
    """Say whether kappa (or alpha) for one code is too fragile to report on its own.

    `prevalence` is the share of units (0.0 to 1.0) that carry the code, `n_units` the number
    of units coded. The rule: a code is unstable when it is rare or near-universal
    (prevalence below 5% or above 95%), or when fewer than 10 units fall on either side
    (fewer than 10 units with the code, or fewer than 10 without it).

    Why: with skewed prevalence, chance agreement is close to 1, so one or two disagreements
    swing kappa widely and a high percent agreement can sit next to a low kappa (the "kappa
    paradox", Feinstein & Cicchetti 1990). With fewer than about 10 units on a side, the
    statistic rests on too few events to mean much. Flagged codes are best reported with
    their counts and percent agreement rather than kappa alone.
    """
    if not 0.0 <= prevalence <= 1.0:
        raise ValueError(f"prevalence must be between 0 and 1, got {prevalence!r}")
    if n_units < 0:
        raise ValueError(f"the number of units must not be negative, got {n_units!r}")
    if prevalence < MIN_PREVALENCE or prevalence > 1.0 - MIN_PREVALENCE:
        return True
    # A small tolerance so that e.g. 0.1 * 100 (10.000000000000002) is not read as below 10.
    with_code = prevalence * n_units
    without_code = (1.0 - prevalence) * n_units
    return min(with_code, without_code) < MIN_UNITS_PER_SIDE - 1e-9
