"""Code suggestions fitted again after the coding changes: once per interval however many writes, never per write."""

from __future__ import annotations

import datetime
from unittest import mock

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.base import BaseTestCase, make_code, run_worker
from tests.suggestion_study import CHAT, WEATHER, build
from transcripts import actions
from transcripts.models import Excerpt, SuggestionModel
from transcripts.suggestions import tasks
from transcripts.suggestions.training import train_suggestions

TRAIN = "transcripts.suggestions.tasks.train"


def queued_trainings() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TRAIN, status="READY"))


@override_settings(SUGGESTIONS_RETRAIN_MINUTES=5)
class RetrainingTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.chat, (cls.first, cls.second, cls.uncoded) = study["code"], study["transcripts"]

    def trained(self, minutes_ago: float) -> SuggestionModel:
        row = actions.train_suggestions(self.project, None)
        SuggestionModel.objects.filter(pk=row.pk).update(trained_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))
        row.refresh_from_db()
        return row

    def code_chat(self, text: str) -> Excerpt:
        start = self.uncoded.text.index(text)
        return actions.create_excerpt(self.uncoded, start=start, end=start + len(text), codes=[self.chat], by=self.bob)

    def test_many_writes_queue_one_training(self):
        row = self.trained(minutes_ago=10)
        with self.captureOnCommitCallbacks(execute=True):
            excerpts = [self.code_chat(text) for text in CHAT]
        with self.captureOnCommitCallbacks(execute=True):
            actions.change_excerpt(excerpts[0], by=self.bob, expected_version=excerpts[0].version, start=excerpts[0].start + 1)
        with self.captureOnCommitCallbacks(execute=True):
            actions.delete_excerpt(excerpts[1], by=self.bob)
        [task] = queued_trainings()
        assert task.args_kwargs["args"] == [self.project.pk, None]
        row.refresh_from_db()
        assert row.state == SuggestionModel.State.QUEUED
        run_worker()
        row.refresh_from_db()
        assert (row.state, row.version, row.n_excerpts) == (SuggestionModel.State.IDLE, 2, 11)

    def test_a_model_younger_than_the_interval_is_queued_to_train_once_it_is_old_enough(self):
        row = self.trained(minutes_ago=1)
        with self.captureOnCommitCallbacks(execute=True):
            self.code_chat(CHAT[0])
        [task] = queued_trainings()
        assert task.run_after == row.trained_at + datetime.timedelta(minutes=5)
        run_worker()  # not due yet: nothing runs
        row.refresh_from_db()
        assert (row.state, row.version) == (SuggestionModel.State.QUEUED, 1)

    def test_a_write_costs_one_query_more_and_queues_nothing_when_training_is_queued_or_off(self):
        self.trained(minutes_ago=10)
        with self.captureOnCommitCallbacks(execute=True):
            self.code_chat(CHAT[0])
        assert len(queued_trainings()) == 1
        with self.assertNumQueries(1):
            tasks.coding_changed(self.project.pk)
        self.project.suggestions_on = False
        self.project.save(update_fields=["suggestions_on"])
        SuggestionModel.objects.update(state=SuggestionModel.State.IDLE)
        with self.assertNumQueries(1):
            tasks.coding_changed(self.project.pk)
        assert len(queued_trainings()) == 1

    def test_a_project_nobody_asked_suggestions_of_trains_none(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.code_chat(CHAT[0])
        assert queued_trainings() == [] and not SuggestionModel.objects.exists()

    def test_a_rejection_queues_training_as_coding_does(self):
        row = self.trained(minutes_ago=10)
        self.client.force_login(self.bob)
        start = self.uncoded.text.index(WEATHER[0])
        data = {"start": start, "end": start + len(WEATHER[0]), "code": self.chat.pk, "version": row.version}
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(reverse("suggestion_reject", args=[self.uncoded.pk]), data, headers={"HX-Request": "true"})
        assert len(queued_trainings()) == 1

    def test_coding_changed_while_training_queues_the_next_fit(self):
        row = self.trained(minutes_ago=10)
        SuggestionModel.objects.filter(pk=row.pk).update(state=SuggestionModel.State.QUEUED)

        def coded_meanwhile(project, learner_id):
            with self.captureOnCommitCallbacks(execute=True):
                self.code_chat(CHAT[0])
            return train_suggestions(project, learner_id)

        with mock.patch("transcripts.suggestions.tasks.train_suggestions", side_effect=coded_meanwhile):
            with self.captureOnCommitCallbacks(execute=True):
                tasks.train.call(self.project.pk, None)
        row.refresh_from_db()
        assert (row.state, row.version) == (SuggestionModel.State.QUEUED, 2)
        [task] = queued_trainings()
        assert task.run_after == row.trained_at + datetime.timedelta(minutes=5)

    def test_train_now_does_not_wait_for_a_training_queued_for_later(self):
        self.trained(minutes_ago=1)
        with self.captureOnCommitCallbacks(execute=True):
            self.code_chat(CHAT[0])
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(reverse("suggestions_train", args=[self.uncoded.pk]), headers={"HX-Request": "true"})
        run_worker()
        row = SuggestionModel.objects.get(project=self.project, learner=None)
        assert (row.state, row.version, row.n_excerpts) == (SuggestionModel.State.IDLE, 2, 9)


@override_settings(SUGGESTIONS_RETRAIN_MINUTES=5)
class EveryChangeToWhatIsLearnedRetrains(BaseTestCase):
    """Not only excerpt writes: merging or deleting a code, settling a consensus and deleting a
    transcript change the examples a model learns from, so each queues the next fit."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.chat, (cls.first, cls.second, cls.uncoded) = study["code"], study["transcripts"]

    def setUp(self) -> None:
        actions.train_suggestions(self.project, None)
        SuggestionModel.objects.update(trained_at=timezone.now() - datetime.timedelta(minutes=10))
        assert queued_trainings() == []

    def assert_one_training_queued(self) -> None:
        [task] = queued_trainings()
        assert task.args_kwargs["args"] == [self.project.pk, None]

    def test_merging_codes(self):
        other = make_code(self.project, name="Chat again")
        with self.captureOnCommitCallbacks(execute=True):
            actions.merge_codes(other, self.chat, by=self.alice)
        self.assert_one_training_queued()

    def test_deleting_a_code(self):
        with self.captureOnCommitCallbacks(execute=True):
            actions.delete_code(self.chat, by=self.alice, confirmed=True)
        self.assert_one_training_queued()

    def test_deleting_a_transcript(self):
        with self.captureOnCommitCallbacks(execute=True):
            actions.delete_transcript(self.first, by=self.alice, confirmed=True)
        self.assert_one_training_queued()

    def test_settling_a_consensus(self):
        original = self.first.excerpts.first()
        with self.captureOnCommitCallbacks(execute=True):
            actions.settle_consensus(
                self.first,
                originals=[original],
                versions=[(original.start, original.end, [self.chat])],
                choice=f"accept:{original.coder_id}",
                note="Agreed in the team meeting.",
                by=self.alice,
            )
        self.assert_one_training_queued()
