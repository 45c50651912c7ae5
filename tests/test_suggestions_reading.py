"""A fit reads the project's labelled units a few transcripts at a time, whatever its size."""

from __future__ import annotations

from unittest import mock

from tests.base import BaseTestCase, make_code, make_transcript
from tests.suggestion_study import CHAT, WEATHER, build, code_chat, interview_text
from transcripts import actions
from transcripts.interop.readers.speakers import detect_turns
from transcripts.models import SuggestionPrediction
from transcripts.suggestions import loading
from transcripts.suggestions.training import measure_accuracy


class ReadingInBatchesTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.chat = study["code"]
        cls.commute = make_code(cls.project, name="Commute")
        for number in range(4, 10):
            text = interview_text(number)
            transcript = make_transcript(
                cls.project,
                title=f"Later interview {number}",
                text=text,
                turns=detect_turns(text),
                speaker_roles={"Interviewer": "interviewer", f"P{number:02d}": "participant"},
            )
            code_chat(transcript, cls.chat, cls.alice)
            start = text.index(WEATHER[0])
            actions.create_excerpt(transcript, start=start, end=start + len(WEATHER[0]), codes=[cls.commute], by=cls.alice)
        uncoded = study["transcripts"][2]
        start = uncoded.text.index(WEATHER[1])
        actions.reject_suggestion(uncoded, start=start, end=start + len(WEATHER[1]), code=cls.chat, by=cls.alice, model_version=1)
        assert CHAT[0] in uncoded.text

    def fitted(self, per_read: int) -> tuple[list[int], dict]:
        """How many transcripts each read of labelled units asked for, and what the fit stored."""
        asked: list[int] = []
        real = loading.units_by_transcript

        def units_by_transcript(ids):
            ids = list(ids)
            asked.append(len(ids))
            return real(ids)

        with (
            mock.patch.object(loading, "TRANSCRIPTS_PER_READ_TO_LEARN", per_read),
            mock.patch.object(loading, "units_by_transcript", units_by_transcript),
        ):
            row = actions.train_suggestions(self.project, None)
            accuracy = measure_accuracy(self.project).to_json()
        stored = dict(SuggestionPrediction.objects.filter(model=row).values_list("transcript_id", "found"))
        return asked, {"examples": row.examples, "precision": row.precision, "stored": stored, "accuracy": accuracy}

    def test_it_never_holds_more_than_a_batch_of_transcripts_and_learns_the_same_as_at_once(self):
        asked, in_twos = self.fitted(2)
        assert asked and max(asked) == 2
        assert sum(asked) > 9  # read again for the held-out groups: still two at a time
        asked, at_once = self.fitted(1000)
        assert max(asked) == 9  # eight coded transcripts, and one with a rejection only
        assert in_twos == at_once
        assert in_twos["examples"] == {str(self.chat.pk): 32, str(self.commute.pk): 6}
        assert in_twos["stored"]

    def test_the_whole_project_at_once_gives_the_same_examples(self):
        by_transcript = loading.examples_by_transcript(self.project, None, with_rejections=True)
        read = dict(loading.read_examples(self.project, None, sorted(by_transcript), with_rejections=True))
        assert read == by_transcript and len(read) == 9
