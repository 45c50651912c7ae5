"""Tests for transcripts.agreement.statistics: published worked examples, reference packages, edge cases.

Plain functions, no database. The reference packages (`krippendorff`, `scikit-learn`) are
test-only dependencies and are imported normally: a missing one is an error, not a skip.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from transcripts.agreement.statistics import (
    LEVELS,
    UndefinedStatistic,
    cohen_kappa,
    kappa_is_unstable,
    krippendorff_alpha,
    percent_agreement,
)

N = None

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C/D:
# 4 observers, 12 units, values 1-5, missing data. Rows are observers A-D, columns units 1-12.
PAPER_4X12 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
PAPER_4X12_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Same paper, example A: binary data, two observers, 10 units, no missing data.
PAPER_BINARY = [
    [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
]

# Same paper, example B: nominal data, two observers, 12 units, no missing data.
PAPER_NOMINAL_2 = [
    list("aabbdcccedda"),
    list("babbbcccsddd".replace("s", "e")),
]


def _to_nan_array(data):
    return np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)


def _table_to_labels(table, categories):
    """Expand a contingency table (rows: coder A, columns: coder B) into two label lists."""
    labels_a, labels_b = [], []
    for row_category, row in zip(categories, table):
        for column_category, count in zip(categories, row):
            labels_a += [row_category] * count
            labels_b += [column_category] * count
    return labels_a, labels_b


# --- Published worked examples ---------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_2011_four_observers_twelve_units(level):
    result = krippendorff_alpha(PAPER_4X12, level)
    assert round(result, 3) == PAPER_4X12_ALPHA[level]
    # The reference package agrees far beyond the three published decimals.
    assert result == pytest.approx(
        krippendorff.alpha(_to_nan_array(PAPER_4X12), level_of_measurement=level), abs=1e-12
    )


def test_krippendorff_2011_nominal_by_hand():
    # The coincidence-matrix arithmetic of the paper, done by hand. Pairable values per value:
    # n_1..n_5 = 9, 13, 10, 5, 3 (n = 40; unit 12 has one value and is dropped). Units with
    # disagreement: unit 2 (2,2,3,2) and unit 8 (1,1,2,1) give 2*3*1/(4-1) = 2 each, unit 6
    # (1,2,3,4) gives 12/(4-1) = 4, so the off-diagonal coincidences sum to 8.
    n_v = [9, 13, 10, 5, 3]
    n = sum(n_v)
    alpha = 1 - Fraction((n - 1) * 8, n * n - sum(c * c for c in n_v))
    assert alpha == Fraction(113, 152)
    assert krippendorff_alpha(PAPER_4X12) == pytest.approx(float(alpha), abs=1e-15)


def test_krippendorff_2011_binary_two_observers():
    result = krippendorff_alpha(PAPER_BINARY, "nominal")
    assert round(result, 3) == 0.095
    # n = 20, n_0 = 14, n_1 = 6, o_01 = 4: alpha = 1 - 19 * 4 / (14 * 6) = 2/21.
    assert result == pytest.approx(2 / 21, abs=1e-15)


def test_krippendorff_2011_nominal_two_observers():
    assert round(krippendorff_alpha(PAPER_NOMINAL_2, "nominal"), 3) == 0.692


def test_unit_with_single_value_is_dropped():
    # Unit 12 of the paper's example has one value only; removing it changes nothing.
    trimmed = [row[:11] for row in PAPER_4X12]
    for level in LEVELS:
        assert krippendorff_alpha(trimmed, level) == pytest.approx(
            krippendorff_alpha(PAPER_4X12, level), abs=1e-15
        )


def test_large_input_matches_closed_form():
    # The binary example repeated 50,000 times: 500,000 units per coder.
    repeats = 50_000
    data = [row * repeats for row in PAPER_BINARY]
    n = 20 * repeats
    expected = 1 - Fraction(n - 1) * (4 * repeats) / ((14 * repeats) * (6 * repeats))
    assert krippendorff_alpha(data) == pytest.approx(float(expected), abs=1e-12)
    assert cohen_kappa(*data) == pytest.approx(cohen_kappa(*PAPER_BINARY), abs=1e-12)


def test_cohen_kappa_classic_two_by_two():
    # 50 units: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    labels_a, labels_b = _table_to_labels([[20, 5], [10, 15]], ["yes", "no"])
    assert cohen_kappa(labels_a, labels_b) == pytest.approx(0.4, abs=1e-15)
    assert percent_agreement(labels_a, labels_b) == pytest.approx(0.7, abs=1e-15)


def test_cohen_kappa_three_categories():
    # Psychiatric diagnosis of 100 subjects by two raters (the example in Fleiss's
    # "Statistical Methods for Rates and Proportions", given there as proportions).
    # p_o = 0.89; p_e = 0.80*0.80 + 0.10*0.05 + 0.10*0.15 = 0.66; kappa = 0.23/0.34 = 23/34.
    table = [[75, 1, 4], [5, 4, 1], [0, 0, 10]]
    labels_a, labels_b = _table_to_labels(table, ["psychotic", "neurotic", "organic"])
    result = cohen_kappa(labels_a, labels_b)
    assert result == pytest.approx(23 / 34, abs=1e-15)
    assert round(result, 3) == 0.676
    assert result == pytest.approx(cohen_kappa_score(labels_a, labels_b), abs=1e-12)


# --- Against the reference packages on random data ------------------------------------------


def _random_reliability_data(rng, values, missing=0.25):
    coders = rng.randint(2, 4)
    units = rng.randint(8, 60)
    base = [rng.choice(values) for _ in range(units)]
    data = []
    for _ in range(coders):
        row = []
        for truth in base:
            if rng.random() < missing:
                row.append(None)
            elif rng.random() < 0.6:
                row.append(truth)
            else:
                row.append(rng.choice(values))
        data.append(row)
    return data


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(20))
def test_alpha_matches_krippendorff_package_integers(level, seed):
    rng = random.Random(f"{level}-{seed}")
    values = [0, 1, 2, 3, 4, 5, 7] if level != "nominal" else [1, 2, 3]
    data = _random_reliability_data(rng, values)
    expected = krippendorff.alpha(_to_nan_array(data), level_of_measurement=level)
    assert krippendorff_alpha(data, level) == pytest.approx(expected, abs=1e-9)
    assert round(krippendorff_alpha(data, level), 3) == round(expected, 3)


@pytest.mark.parametrize("level", ["interval", "ratio"])
@pytest.mark.parametrize("seed", range(20))
def test_alpha_matches_krippendorff_package_floats(level, seed):
    rng = random.Random(f"float-{level}-{seed}")
    values = [round(rng.uniform(0, 10), 2) for _ in range(6)]
    data = _random_reliability_data(rng, values)
    expected = krippendorff.alpha(_to_nan_array(data), level_of_measurement=level)
    assert krippendorff_alpha(data, level) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_cohen_kappa_matches_scikit_learn(seed):
    rng = random.Random(f"kappa-{seed}")
    labels = ["theme", "quote", "aside", 7]
    n = rng.randint(10, 200)
    a = [rng.choice(labels) for _ in range(n)]
    b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
    # Some missing labels on either side; those units are skipped.
    a = [None if rng.random() < 0.1 else x for x in a]
    b = [None if rng.random() < 0.1 else x for x in b]
    kept = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    # scikit-learn wants one label type; the mapping to strings does not change kappa.
    ref_a = [str(x) for x, _ in kept]
    ref_b = [str(y) for _, y in kept]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(ref_a, ref_b), abs=1e-12)
    agree = sum(x == y for x, y in kept) / len(kept)
    assert percent_agreement(a, b) == pytest.approx(agree, abs=1e-15)


# --- Properties ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_alpha_ignores_order_of_coders_and_units(seed):
    rng = random.Random(seed)
    data = _random_reliability_data(rng, [1, 2, 3, 4, 5])
    for level in LEVELS:
        reference = krippendorff_alpha(data, level)
        coders = data[::-1]
        order = list(range(len(data[0])))
        rng.shuffle(order)
        shuffled = [[row[i] for i in order] for row in coders]
        assert krippendorff_alpha(shuffled, level) == pytest.approx(reference, abs=1e-12)


def test_kappa_is_symmetric():
    labels_a, labels_b = _table_to_labels([[75, 1, 4], [5, 4, 1], [0, 0, 10]], "pno")
    assert cohen_kappa(labels_a, labels_b) == pytest.approx(cohen_kappa(labels_b, labels_a))


def test_nan_counts_as_missing():
    with_nan = [[math.nan if v is None else v for v in row] for row in PAPER_4X12]
    for level in LEVELS:
        assert krippendorff_alpha(with_nan, level) == krippendorff_alpha(PAPER_4X12, level)
    assert cohen_kappa([1, math.nan, 2, 1], [1, 2, 2, 2]) == cohen_kappa([1, 2, 1], [1, 2, 2])


def test_ordinal_uses_only_the_order_of_values():
    # Any order-preserving relabelling gives the same ordinal alpha.
    relabel = {1: -3, 2: 0.5, 3: 10, 4: 11, 5: 1000}
    mapped = [[None if v is None else relabel[v] for v in row] for row in PAPER_4X12]
    assert krippendorff_alpha(mapped, "ordinal") == pytest.approx(
        krippendorff_alpha(PAPER_4X12, "ordinal"), abs=1e-12
    )
    labels = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    named = [[None if v is None else labels[v] for v in row] for row in PAPER_4X12]
    assert krippendorff_alpha(named, "ordinal") == pytest.approx(
        krippendorff_alpha(PAPER_4X12, "ordinal"), abs=1e-12
    )


def test_perfect_and_systematic_disagreement():
    assert krippendorff_alpha([[1, 2, 1, 2], [1, 2, 1, 2]]) == 1.0
    assert cohen_kappa(["x", "y", "x"], ["x", "y", "x"]) == 1.0
    assert cohen_kappa(["x", "y"], ["y", "x"]) == -1.0
    assert krippendorff_alpha([[1, 2, 1, 2], [2, 1, 2, 1]]) < 0


# --- Undefined and invalid input -------------------------------------------------------------


def test_undefined_statistic_is_a_value_error():
    assert issubclass(UndefinedStatistic, ValueError)


def test_kappa_no_variation_is_undefined():
    with pytest.raises(UndefinedStatistic, match="no variation") as info:
        cohen_kappa(["theme"] * 5, ["theme"] * 5)
    assert "'theme'" in str(info.value)
    # Missing pairs are skipped first, so this is still the no-variation case.
    with pytest.raises(UndefinedStatistic, match="no variation"):
        cohen_kappa(["theme", None, "theme"], ["theme", "other", "theme"])


def test_kappa_one_coder_constant_is_defined():
    # Only p_e = 1 is undefined; one coder without variation gives kappa 0 here.
    assert cohen_kappa(["a", "a", "a", "a"], ["a", "b", "a", "b"]) == 0.0
    assert cohen_kappa(["a", "a"], ["b", "b"]) == 0.0


@pytest.mark.parametrize("function", [cohen_kappa, percent_agreement])
def test_no_pairs_is_undefined(function):
    with pytest.raises(UndefinedStatistic, match="no unit was labelled by both coders"):
        function([], [])
    with pytest.raises(UndefinedStatistic, match="no unit was labelled by both coders"):
        function(["a", None, None], [None, "b", None])


@pytest.mark.parametrize("function", [cohen_kappa, percent_agreement])
def test_mismatched_lengths_are_rejected(function):
    with pytest.raises(ValueError, match="same units") as info:
        function(["a", "b"], ["a"])
    assert not isinstance(info.value, UndefinedStatistic)


def test_alpha_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="different lengths") as info:
        krippendorff_alpha([[1, 2, 3], [1, 2]])
    assert not isinstance(info.value, UndefinedStatistic)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_no_pairable_units_is_undefined(level):
    for data in ([], [[1, 2, 3]], [[1, None, 3], [None, 2, None]], [[None, None], [None, None]]):
        with pytest.raises(UndefinedStatistic, match="no unit was coded by at least two coders"):
            krippendorff_alpha(data, level)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_no_variation_is_undefined(level):
    # The 5 in unit 3 is not pairable, so the pairable values show no variation.
    with pytest.raises(UndefinedStatistic, match="no variation") as info:
        krippendorff_alpha([[2, 2, 5], [2, 2, None]], level)
    assert "expected disagreement is 0" in str(info.value)


def test_alpha_rejects_bad_levels_and_values():
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha(PAPER_4X12, "cardinal")
    with pytest.raises(TypeError, match="needs numbers"):
        krippendorff_alpha([["a", "b"], ["a", "b"]], "interval")
    with pytest.raises(ValueError, match="0 or more"):
        krippendorff_alpha([[-1, 2], [1, 2]], "ratio")
    with pytest.raises(ValueError, match="finite"):
        krippendorff_alpha([[math.inf, 2], [1, 2]], "interval")
    with pytest.raises(TypeError, match="put in order"):
        krippendorff_alpha([["a", 2], ["a", 2]], "ordinal")


# --- kappa_is_unstable -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prevalence", "n_units", "unstable"),
    [
        (0.5, 1000, False),
        (0.04, 10_000, True),  # rare: below 5%
        (0.96, 10_000, True),  # near-universal: above 95%
        (0.05, 200, False),  # exactly 5% and exactly 10 positive units
        (0.1, 100, False),  # 10 positives (0.1 * 100 is 10.000000000000002)
        (0.1, 99, True),  # 9.9 positives
        (0.5, 19, True),  # 9.5 on each side
        (0.5, 0, True),
    ],
)
def test_kappa_is_unstable(prevalence, n_units, unstable):
    assert kappa_is_unstable(prevalence, n_units) is unstable


def test_kappa_is_unstable_rejects_nonsense():
    with pytest.raises(ValueError):
        kappa_is_unstable(1.5, 10)
    with pytest.raises(ValueError):
        kappa_is_unstable(0.5, -1)
