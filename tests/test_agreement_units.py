"""Units, per-code agreement, disagreements and reconciliation clusters,
on data small enough to work out by hand."""

import random
import time

from django.test import SimpleTestCase

from transcripts.agreement.statistics import cohen_kappa, krippendorff_alpha, percent_agreement
from transcripts.agreement.units import (
    Span,
    TranscriptCoding,
    UnitSpace,
    clusters,
    compare,
    disagreements,
    pair_stats,
    segment_counts,
    speech_units,
)

A, B, C = 101, 202, 303  # coders
X, Y = 7, 8  # codes

# "I: Tell me.\nP: abcdefghij0123456789": the participant speaks [15, 35), 20 characters.
TURNS = [(0, 12, 3, "interviewer"), (12, 35, 15, "participant")]
HAND = TranscriptCoding(
    transcript_id=1,
    text_length=35,
    turns=TURNS,
    spans=[
        Span(1, A, 3, 11, (X,)),  # the interviewer's words: no unit, but a segment
        Span(2, A, 15, 25, (X, Y)),
        Span(3, A, 25, 35, (Y,)),
        Span(4, B, 20, 30, (X,)),
        Span(5, B, 15, 35, (Y,)),
    ],
)


class UnitTests(SimpleTestCase):
    def test_units_are_the_participants_speech_without_speaker_labels(self):
        assert speech_units(35, TURNS) == ([(15, 35)], True)
        assert speech_units(35, [(0, 12, 3, "interviewer")]) == ([(0, 35)], False)
        assert speech_units(0, []) == ([], False)

    def test_a_unit_space_maps_text_offsets_to_one_vector(self):
        space = UnitSpace([(10, 14), (20, 23)])
        assert space.size == 7
        assert space.vector([(11, 13), (20, 21)]) == bytes([0, 1, 1, 0, 1, 0, 0])


class CompareTests(SimpleTestCase):
    def test_hand_worked_figures_per_code(self):
        report = compare([HAND], [A, B])
        x, y = report.row(X), report.row(Y)
        # X on 20 units: both [20,25), A only [15,20), B only [25,30), neither [30,35).
        assert (x.n_units, x.coded, x.n_disagreeing) == (20, {A: 10, B: 10}, 10)
        assert x.percent.value == 0.5
        assert x.kappa.value == 0.0  # p_o = p_e = 0.5
        assert round(x.alpha.value, 6) == 0.025  # 1 - 39 * 20 / (2 * 20 * 20)
        assert not x.unstable
        # Y: both coded every unit. Percent agreement is 100%; kappa and alpha have no value.
        assert y.percent.value == 1.0
        assert not y.kappa.defined and "same label (coded)" in y.kappa.reason
        assert not y.alpha.defined and "no variation" in y.alpha.reason
        assert y.unstable

    def test_hand_worked_pooled_figures(self):
        pooled = compare([HAND], [A, B]).pooled
        # 40 decisions: (1,1) 25, (1,0) 5, (0,1) 5, (0,0) 5.
        assert pooled.n_units == 40
        assert pooled.percent.value == 0.75
        assert round(pooled.kappa.value, 6) == round(0.125 / 0.375, 6)  # p_e = .75^2 + .25^2
        assert round(pooled.alpha.value, 6) == round(1 - 79 * 20 / (2 * 60 * 20), 6)
        assert pooled.prevalence == 0.75

    def test_segment_level_follows_the_threshold_on_the_longer_excerpt(self):
        report = compare([HAND], [A, B], threshold=0.5)
        # X: A's [15,25) and B's [20,30) overlap by 5 of 10 = 50%: both match; A's [3,11) does not.
        assert (report.row(X).segments.matched, report.row(X).segments.unmatched) == (2, 1)
        # Y: A's two halves each overlap B's whole by 10 of 20 = 50%; B's whole matches either.
        assert (report.row(Y).segments.matched, report.row(Y).segments.unmatched) == (3, 0)
        assert (report.pooled.segments.matched, report.pooled.segments.total) == (5, 6)
        strict = compare([HAND], [A, B], threshold=0.6)
        assert strict.row(X).segments.matched == 0
        # Y: A has [15,25) and [25,35), B one [15,35): each half overlaps 10 of 20 = 50%.
        assert strict.row(Y).segments.matched == 0

    def test_segment_counts_name_the_unmatched_excerpts(self):
        counts, unmatched = segment_counts(HAND.spans, [A, B], X, 0.5)
        assert (counts.matched, counts.unmatched) == (2, 1)
        assert [span.excerpt_id for span in unmatched] == [1]

    def test_three_coders_get_alpha_and_mean_pairwise_percent_but_no_kappa(self):
        third = HAND._replace(spans=[*HAND.spans, Span(6, C, 15, 25, (X,))])
        report = compare([third], [A, B, C])
        x = report.row(X)
        assert x.kappa is None
        assert x.alpha.defined
        # Pairs: A-B 0.5, A-C 1.0 (same 10 characters), B-C 0.5.
        assert round(x.percent.value, 6) == round((0.5 + 1.0 + 0.5) / 3, 6)

    def test_a_transcript_without_participant_turns_uses_all_its_text(self):
        plain = HAND._replace(turns=[])
        report = compare([plain], [A, B])
        assert report.participant_only == {1: False}
        assert report.row(X).n_units == 35

    def test_pooling_transcripts_concatenates_their_units(self):
        other = HAND._replace(transcript_id=2)
        report = compare([HAND, other], [A, B])
        assert report.row(X).n_units == 40
        assert report.row(X).percent.value == 0.5

    def test_disagreements_are_merged_runs_inside_the_units_then_unmatched_segments(self):
        found = disagreements([HAND], [A, B], [X])
        runs = [(d.kind, d.start, d.end, d.coders, d.excerpt_id) for d in found]
        assert runs == [
            ("characters", 15, 20, (A,), 2),
            ("characters", 25, 30, (B,), 4),
            ("segment", 3, 11, (A,), 1),
        ]
        assert disagreements([HAND], [A, B], [Y]) == []

    def test_runs_where_coders_take_turns_are_one_passage(self):
        coding = TranscriptCoding(1, 30, [], [Span(1, A, 0, 10, (X,)), Span(2, B, 10, 20, (X,))])
        runs = [(d.start, d.end, d.coders) for d in disagreements([coding], [A, B], [X]) if d.kind == "characters"]
        assert runs == [(0, 20, (A, B))]

    def test_it_needs_two_coders_and_a_sensible_threshold(self):
        for kwargs in ({"coders": [A]}, {"coders": [A, B], "threshold": 0}, {"coders": [A, B], "threshold": 1.5}):
            coders = kwargs.pop("coders")
            with self.assertRaises(ValueError):
                compare([HAND], coders, **kwargs)

    def test_a_long_transcript_is_fast(self):
        rng = random.Random(3)
        length = 60_000
        turns = [(i, i + 1000, i + 5, "participant" if i % 2000 else "interviewer") for i in range(0, length, 1000)]
        spans = [
            Span(n, rng.choice([A, B]), s, s + rng.randrange(20, 400), tuple(rng.sample(range(20), 2)))
            for n, s in enumerate(rng.sample(range(length - 400), 400))
        ]
        started = time.perf_counter()
        report = compare([TranscriptCoding(1, length, turns, spans)], [A, B])
        disagreements([TranscriptCoding(1, length, turns, spans)], [A, B], range(20))
        assert time.perf_counter() - started < 5
        assert report.pooled.n_units == 20 * 30_000 - 20 * 5 * 30


class ClusterTests(SimpleTestCase):
    def test_overlapping_excerpts_form_clusters_with_disagreements_first(self):
        spans = [
            Span(1, A, 0, 10, (X,)),
            Span(2, B, 0, 10, (X,)),  # agree
            Span(3, A, 20, 30, (X,)),
            Span(4, B, 22, 30, (X,)),  # same code, other extent
            Span(5, A, 40, 50, (X,)),
            Span(6, B, 45, 60, (Y,)),  # codes differ
            Span(7, A, 70, 80, (Y,)),  # only A
        ]
        found = [(c.status, c.excerpt_ids) for c in clusters(spans, [A, B])]
        assert found == [("codes", [5, 6]), ("codes", [7]), ("extent", [3, 4]), ("agree", [1, 2])]

    def test_same_codes_over_different_characters_per_code_is_not_agreement(self):
        spans = [Span(1, A, 0, 10, (X,)), Span(2, A, 10, 20, (Y,)), Span(3, B, 0, 20, (X, Y))]
        assert [c.status for c in clusters(spans, [A, B])] == ["extent"]


def test_the_two_coder_fast_path_gives_the_general_figures():
    rng = random.Random(11)
    for trial in range(200):
        n = rng.randrange(2, 400)
        rate_a, rate_b = rng.random(), rng.random()
        a = bytes(int(rng.random() < rate_a) for _ in range(n))
        b = bytes(int(rng.random() < rate_b) for _ in range(n))
        fast = pair_stats(a, b)
        if fast is None:
            continue
        percent, kappa, alpha = fast
        assert abs(percent.value - percent_agreement(a, b)) < 1e-9
        assert abs(kappa.value - cohen_kappa(a, b)) < 1e-9
        assert abs(alpha.value - krippendorff_alpha([a, b])) < 1e-9
    # Where the figures are undefined the fast path steps aside, so the reason is stated.
    assert pair_stats(bytes(5), bytes(5)) is None
