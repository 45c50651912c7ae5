"""The suggestions' pure core: units, labels from overlapping excerpts, the held-out split."""

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from transcripts.suggestions import evaluation
from transcripts.suggestions.basics import MOST_TRAINING_UNITS
from transcripts.suggestions.evaluation import evaluate
from transcripts.suggestions.learning import FEWEST_EXAMPLES, examples_per_code, fit
from transcripts.suggestions.sampling import Sample, sample_of, share_of
from transcripts.suggestions.units import Coded, Example, Turn, Unit, label, passages, units_of

ROOT = Path(__file__).resolve().parent.parent

TEXT = (
    "Interviewer: What keeps you going in this work, day to day?\n"
    "P07: The group chat, honestly. We text all day. Somebody always answers. "
    "It keeps me steady when a client relapses. And my sponsor helps too. She calls on Sundays.\n"
    "Interviewer: And when it gets too much?\n"
    "P07: Yeah.\n"
)


def turns_of(text: str) -> list[Turn]:
    found, position = [], 0
    for line in text.split("\n"):
        if line:
            speaker, _, _ = line.partition(": ")
            role = "interviewer" if speaker == "Interviewer" else "participant"
            found.append(Turn(position, position + len(speaker) + 2, position + len(line), role))
        position += len(line) + 1
    return found


def test_interviewer_turns_are_never_units():
    units = units_of(1, TEXT, turns_of(TEXT))
    assert units
    assert all("Interviewer" not in unit.text and "?" not in unit.text for unit in units)
    assert all(TEXT[unit.start : unit.end] == unit.text for unit in units)


def test_a_long_turn_is_cut_into_passages_and_a_bare_yes_is_no_unit():
    units = units_of(1, TEXT, turns_of(TEXT))
    assert [unit.text for unit in units] == [
        "The group chat, honestly. We text all day. Somebody always answers.",
        "It keeps me steady when a client relapses. And my sponsor helps too. She calls on Sundays.",
    ]


def test_a_short_last_passage_joins_the_one_before():
    text = "One. Two. Three. Four."
    assert passages(text, 0, len(text), 3) == [(0, len(text))]


def test_labels_come_from_the_codes_that_cover_most_of_a_unit():
    unit = Unit(1, 100, 200, "x" * 100)
    coded = [
        Coded(1, 90, 140, frozenset({1})),  # 40 of 100: touches, not most
        Coded(1, 130, 170, frozenset({1, 2})),  # code 1 now covers 100..170 = 70: most; code 2 only 40
        Coded(1, 150, 210, frozenset({3})),  # 50: exactly half is not most
        Coded(2, 100, 200, frozenset({4})),  # another transcript
    ]
    [example] = label([unit], coded)
    assert example.positive == {1}
    assert example.unsure == {2, 3}
    assert (example.label(1), example.label(2), example.label(4)) == (True, None, False)


def test_a_rejection_makes_a_unit_a_negative_example_unless_the_code_covers_it():
    unit = Unit(1, 0, 50, "y" * 50)
    [example] = label([unit], [Coded(1, 0, 10, frozenset({2}))], rejected=[(1, 0, 50, 2), (1, 0, 50, 5)])
    assert example.label(2) is False and example.label(5) is False


WORDS = {1: "group chat peers text friends together", 2: "boundaries say no weekend phone off"}


def corpus(n_transcripts: int) -> dict[int, list[Example]]:
    by_transcript = {}
    for t in range(1, n_transcripts + 1):
        examples = []
        for i in range(6):
            code = 1 + i % 2
            text = f"{WORDS[code]} passage {t} {i}"
            examples.append(Example(Unit(t, i * 100, i * 100 + 50, text), positive=frozenset({code})))
            examples.append(Example(Unit(t, i * 100 + 50, i * 100 + 99, f"the weather and lunch {t} {i}")))
        by_transcript[t] = examples
    return by_transcript


def test_no_transcript_is_predicted_by_a_model_that_saw_it():
    by_transcript = corpus(4)
    seen_by_model: dict[int, set[int]] = {}

    def recording_fit(examples, codes):
        model = fit(examples, codes)
        seen_by_model[id(model)] = {example.unit.transcript for example in examples}
        original = model.probabilities

        def probabilities(texts):
            predicted = {int(text.split()[-2]) for text in texts}  # the transcript number in each text
            assert not predicted & seen_by_model[id(model)], "a model predicted a transcript it was fitted on"
            return original(texts)

        model.probabilities = probabilities
        return model

    evaluation = evaluate(by_transcript, fitter=recording_fit)
    assert len(seen_by_model) == 4
    assert [held_out for held_out, _ in evaluation.folds] == [{1}, {2}, {3}, {4}]
    for held_out, seen in evaluation.folds:
        assert not held_out & seen and seen == {1, 2, 3, 4} - held_out
    assert evaluation.overall.precision is not None and evaluation.overall.precision > 0.5


def test_in_groups_too_no_transcript_is_predicted_by_a_model_that_saw_it():
    by_transcript = corpus(5)
    evaluation = evaluate(by_transcript, most_folds=2)
    assert [held_out for held_out, _ in evaluation.folds] == [{1, 3, 5}, {2, 4}]
    for held_out, seen in evaluation.folds:
        assert not held_out & seen and held_out | seen == {1, 2, 3, 4, 5}


def test_a_code_with_too_few_examples_is_not_learned_and_says_how_many_it_had():
    examples = [example for examples in corpus(2).values() for example in examples]
    examples.append(Example(Unit(9, 0, 10, "a lone example of stigma"), positive=frozenset({7})))
    model = fit(examples)
    assert set(model.classifiers) == {1, 2}
    assert model.too_few == {7: 1}
    assert FEWEST_EXAMPLES > 1


def test_nothing_to_learn_from_gives_an_empty_model():
    model = fit([])
    assert model.classifiers == {} and model.probabilities(["anything"]) == {}


def test_a_web_worker_starts_without_the_numeric_libraries():
    # scikit-learn and scipy take some 80 MB per process: only fitting, reading or asking a model loads
    # them. (numpy may load all the same: openpyxl uses it when it is installed.)
    script = (
        "import sys, django; django.setup(); "
        "from django.urls import resolve; resolve('/'); "
        "import transcripts.views, transcripts.actions; "
        "print(sorted(name for name in ('sklearn', 'scipy', 'joblib') if name in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "peercoding.settings"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def many_examples(n_transcripts: int = 40, per_transcript: int = 200) -> list[Example]:
    """More units than a model is fitted on: code 1 on every third unit, codes 2 to 20 rarer, code 99 on one."""
    examples = []
    for t in range(1, n_transcripts + 1):
        for i in range(per_transcript):
            codes = {1} if i % 3 == 0 else set()
            if i % 17 == 0:
                codes.add(2 + (t + i) % 19)
            if (t, i) == (5, 5):
                codes.add(99)
            examples.append(Example(Unit(t, i * 100, i * 100 + 60, f"unit {t} {i}"), positive=frozenset(codes)))
    return examples


def test_a_sample_keeps_each_codes_share_within_the_cap_whatever_order_and_batches_its_units_come_in():
    examples = many_examples()
    codes = sorted(examples_per_code(examples))
    assert len(examples) > MOST_TRAINING_UNITS and len(codes) == 21
    share = share_of(len(codes))
    held = Sample()
    for first in range(0, len(examples), 7):
        held.extend(examples[first : first + 7])
        # What it holds while filling is bounded by the caps, not by how many units came in.
        assert len(held) <= MOST_TRAINING_UNITS + max(MOST_TRAINING_UNITS // 2, share * len(codes)) + FEWEST_EXAMPLES * len(codes)
    chosen = held.chosen(codes)
    assert len(chosen) == MOST_TRAINING_UNITS
    assert len({example.unit for example in chosen}) == len(chosen)
    for code, n in examples_per_code(examples).items():
        assert examples_per_code(chosen).get(code, 0) >= min(n, share), code
    backwards = Sample()
    backwards.extend(reversed(examples))
    assert sorted(backwards.chosen(codes), key=lambda e: (e.unit.transcript, e.unit.start)) == chosen
    assert sample_of(examples, codes) == chosen
    assert sample_of(examples[:100], codes) == examples[:100]  # fewer than the cap: all of them, in order


def test_held_out_transcripts_are_predicted_a_few_at_a_time_with_the_same_figures():
    by_transcript = corpus(7)
    largest_call: list[int] = []

    def recording_fit(examples, codes):
        model = fit(examples, codes)
        original = model.probabilities

        def probabilities(texts):
            largest_call.append(len({int(text.split()[-2]) for text in texts}))
            return original(texts)

        model.probabilities = probabilities
        return model

    with mock.patch.object(evaluation, "SCORED_PER_CALL", 2):
        in_twos = evaluate(by_transcript, fitter=recording_fit, most_folds=2)
    assert max(largest_call) == 2
    largest_call.clear()
    with mock.patch.object(evaluation, "SCORED_PER_CALL", 100):
        at_once = evaluate(by_transcript, fitter=recording_fit, most_folds=2)
    assert max(largest_call) == 4  # the first group: transcripts 1, 3, 5, 7
    assert in_twos.to_json() == at_once.to_json()
    assert in_twos.overall.true_positives > 0


def test_leaving_out_one_by_one_reads_again_for_each_few_models_and_still_never_shows_a_model_its_transcript():
    by_transcript = corpus(8)
    reads: list[list[int]] = []

    def read(transcripts):
        reads.append(list(transcripts))
        return evaluation.in_memory(by_transcript)(transcripts)

    with mock.patch.object(evaluation, "SAMPLES_PER_READ", 3):
        found = evaluation.evaluate_read(sorted(by_transcript), read)
    whole_reads = [r for r in reads if r == sorted(by_transcript)]
    assert len(whole_reads) == 3  # 8 models, gathered 3 at a time
    assert [held_out for held_out, _ in found.folds] == [{t} for t in range(1, 9)]
    for held_out, seen in found.folds:
        assert not held_out & seen
    assert found.to_json() == evaluate(by_transcript).to_json()
