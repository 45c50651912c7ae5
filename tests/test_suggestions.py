"""Code suggestions with the database: interviewer turns, accepting, rejecting, blind coding, the off switch."""

from __future__ import annotations

import json
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import BaseTestCase, make_transcript, make_user, run_worker
from tests.suggestion_study import CHAT, WEATHER, build, code_chat, interview_text
from transcripts.interop.readers.speakers import detect_turns
from transcripts import actions
from transcripts.models import (
    AuditEvent,
    Excerpt,
    Membership,
    Pseudonym,
    SuggestionModel,
    SuggestionPrediction,
    SuggestionRejection,
    Transcript,
)
from transcripts.suggestions.loading import (
    coded,
    examples_by_transcript,
    learning_scope,
    model_for,
    suggestions_for,
    units_by_transcript,
)


class SuggestionsTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.chat, (cls.first, cls.second, cls.uncoded) = study["code"], study["transcripts"]

    def train(self, learner=None) -> SuggestionModel:
        return actions.train_suggestions(self.project, learner)

    def bob_membership(self) -> Membership:
        return Membership.objects.select_related("project").get(project=self.project, user=self.bob)

    def test_interviewer_turns_are_never_units_nor_suggested(self):
        units = units_by_transcript([self.uncoded.pk])[self.uncoded.pk]
        assert [unit.text for unit in units] == [text for pair in zip(CHAT, WEATHER) for text in pair]
        self.train()
        found = suggestions_for(self.uncoded, self.bob_membership(), model_for(self.bob_membership()))
        interviewer = [(t.start, t.end) for t in self.uncoded.turns.filter(role="interviewer")]
        assert found, "the chat answers of the uncoded interview are suggested"
        assert {self.uncoded.text[s.start : s.end] for s in found} <= set(CHAT)
        assert not any(a < s.end and s.start < b for s in found for a, b in interviewer)

    def test_labels_come_from_the_excerpts_covering_the_units(self):
        examples = examples_by_transcript(self.project, None)[self.first.pk]
        assert [bool(e.positive) for e in examples] == [True, False] * 4

    def test_accepting_makes_an_ordinary_excerpt_by_the_accepter_audited_with_the_model_version(self):
        row = self.train()
        self.client.force_login(self.bob)
        start = self.uncoded.text.index(CHAT[0])
        data = {"start": start, "end": start + len(CHAT[0]), "code": self.chat.pk, "version": row.version, "probability": 0.8}
        response = self.client.post(reverse("suggestion_accept", args=[self.uncoded.pk]), data, headers={"HX-Request": "true"})
        assert response.status_code == 200 and b"<html" not in response.content
        excerpt = Excerpt.objects.get(transcript=self.uncoded)
        assert (excerpt.coder, excerpt.start, excerpt.quote, list(excerpt.codes.all())) == (self.bob, start, CHAT[0], [self.chat])
        event = AuditEvent.objects.get(verb="suggestion.accepted")
        assert (event.actor, event.after["model_version"], event.object_id) == (self.bob, row.version, str(excerpt.pk))
        assert AuditEvent.objects.filter(verb="excerpt.created", object_id=str(excerpt.pk)).exists()
        found = suggestions_for(self.uncoded, self.bob_membership(), model_for(self.bob_membership()))
        assert start not in {s.start for s in found}, "a coded passage is not suggested again"

    def test_accepting_twice_codes_once_and_says_so(self):
        self.client.force_login(self.bob)
        start = self.uncoded.text.index(CHAT[0])
        data = {"start": start, "end": start + len(CHAT[0]), "code": self.chat.pk, "version": 1}
        url = reverse("suggestion_accept", args=[self.uncoded.pk])
        assert self.client.post(url, data, headers={"HX-Request": "true"}).status_code == 200
        again = self.client.post(url, data, headers={"HX-Request": "true"})  # a double click, a second tab
        assert again.status_code == 200  # the panel again, with the refusal as a notice
        assert "already coded exactly this passage" in again.headers["HX-Trigger"]
        assert Excerpt.objects.filter(transcript=self.uncoded).count() == 1
        assert AuditEvent.objects.filter(verb="suggestion.accepted").count() == 1

    def test_without_htmx_accepting_redirects_to_the_transcript(self):
        self.client.force_login(self.bob)
        start = self.uncoded.text.index(CHAT[1])
        data = {"start": start, "end": start + len(CHAT[1]), "code": self.chat.pk, "version": 1}
        response = self.client.post(reverse("suggestion_accept", args=[self.uncoded.pk]), data)
        self.assertRedirects(response, reverse("transcript_detail", args=[self.uncoded.pk]), fetch_redirect_response=False)

    def test_a_passage_that_is_not_a_unit_is_refused_with_a_message_saying_why(self):
        self.client.force_login(self.bob)
        data = {"start": 0, "end": 11, "code": self.chat.pk, "version": 1}  # the interviewer's words
        for name in ("suggestion_accept", "suggestion_reject"):
            url = reverse(name, args=[self.uncoded.pk])
            fragment = self.client.post(url, data, headers={"HX-Request": "true"})
            assert fragment.status_code == 200 and b"<html" not in fragment.content
            notice = json.loads(fragment["HX-Trigger"])["notify"]
            assert notice["level"] == "error"
            assert "not one the suggestions are made for" in notice["message"], notice
            page = self.client.post(url, data, follow=True)
            self.assertContains(page, "This suggestion could not be used: This passage is not one the suggestions are made for.")
        broken = self.client.post(reverse("suggestion_accept", args=[self.uncoded.pk]), {"start": "x"}, follow=True)
        self.assertContains(broken, "This suggestion could not be used:")
        assert not Excerpt.objects.filter(transcript=self.uncoded).exists()
        assert not SuggestionRejection.objects.exists()

    def test_a_rejection_is_remembered_not_suggested_again_and_learned_as_a_negative(self):
        row = self.train()
        membership = self.bob_membership()
        before = suggestions_for(self.uncoded, membership, model_for(membership))
        target = before[0]
        self.client.force_login(self.bob)
        data = {"start": target.start, "end": target.end, "code": target.code, "version": row.version}
        self.client.post(reverse("suggestion_reject", args=[self.uncoded.pk]), data, headers={"HX-Request": "true"})
        assert SuggestionRejection.objects.filter(rejected_by=self.bob, start=target.start).count() == 1
        after = suggestions_for(self.uncoded, membership, model_for(membership))
        assert (target.start, target.code) not in {(s.start, s.code) for s in after}
        assert AuditEvent.objects.filter(verb="suggestion.rejected", actor=self.bob).count() == 1
        learned = examples_by_transcript(self.project, None, with_rejections=True)[self.uncoded.pk]
        assert [(e.unit.start, e.label(target.code)) for e in learned] == [(target.start, False)]
        assert Excerpt.objects.filter(transcript=self.uncoded).count() == 0, "a rejection codes nothing"

    def test_suggestions_are_counted_nowhere_until_accepted(self):
        self.train()
        membership = self.bob_membership()
        assert suggestions_for(self.uncoded, membership, model_for(membership))
        assert Excerpt.objects.filter(transcript=self.uncoded).count() == 0
        self.client.force_login(self.alice)
        page = self.client.get(reverse("review_summary", args=[self.project.slug]))
        assert page.status_code == 200
        assert self.project.codes.with_counts().get(pk=self.chat.pk).n_excerpts == 8

    def test_find_similar_ranks_uncoded_passages_and_codes_one_with_the_excerpts_codes(self):
        excerpt = Excerpt.objects.filter(transcript=self.first).first()
        self.client.force_login(self.bob)
        url = reverse("excerpt_similar", args=[excerpt.pk])
        fragment = self.client.get(url, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and b"<html" not in fragment.content
        page = fragment.content.decode()
        chat_at = [page.index(text) for text in CHAT]  # the uncoded interview's chat answers, listed
        others_at = [page.find(text) for text in WEATHER]
        assert max(chat_at) < min(at for at in others_at if at >= 0), "the most similar come first"
        assert page.count("<li class=\"similar\">") == 10
        coded_chat = Excerpt.objects.filter(transcript=self.first).count()
        assert coded_chat == 4 and page.count(f"Interview 1</a>") <= 4, "coded passages are not listed"
        self.assertContains(self.client.get(url), "<html")
        start = self.uncoded.text.index(CHAT[2])
        data = {"start": start, "end": start + len(CHAT[2]), "codes": str(self.chat.pk)}
        self.client.post(reverse("excerpt_create", args=[self.uncoded.pk]), data)
        assert Excerpt.objects.get(transcript=self.uncoded).quote == CHAT[2]
        assert CHAT[2] not in self.client.get(url, headers={"HX-Request": "true"}).content.decode()


class BlindSuggestionsTests(BaseTestCase):
    """While coding is blind, a coder's model learns from their own coding and the consensus only."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.carol = make_user("carol")
        actions.set_role(cls.project, cls.carol, Membership.Role.CODER, by=cls.alice)
        # carol codes both interviews: the only coding of the chat code there is.
        study = build(cls.project, [cls.carol])
        cls.chat, cls.transcripts = study["code"], study["transcripts"]
        actions.set_blinding(cls.project, blind_coding=True, comparison_open=False, by=cls.alice)

    def test_a_coders_model_never_learns_another_coders_coding(self):
        bob = Membership.objects.select_related("project").get(project=self.project, user=self.bob)
        assert learning_scope(bob) == self.bob.pk
        assert coded(self.project, self.bob.pk) == []
        row = actions.train_suggestions(self.project, self.bob.pk)
        assert row.examples == {} and row.precision == {}
        assert suggestions_for(self.transcripts[2], bob, model_for(bob)) == []
        # The control: carol's own model learns from her coding and suggests the chat code.
        carol = Membership.objects.select_related("project").get(project=self.project, user=self.carol)
        actions.train_suggestions(self.project, self.carol.pk)
        assert {s.code for s in suggestions_for(self.transcripts[2], carol, model_for(carol))} == {self.chat.pk}

    def test_the_consensus_is_learned_from(self):
        excerpt = Excerpt.objects.filter(coder=self.carol).first()
        Excerpt.objects.filter(pk=excerpt.pk).update(is_consensus=True)
        assert [c.start for c in coded(self.project, self.bob.pk)] == [excerpt.start]


class SuggestionSwitchTests(BaseTestCase):
    def test_turning_suggestions_off_deletes_the_models_and_refuses_the_panel(self):
        build(self.project, [self.alice])
        actions.train_suggestions(self.project, None)
        self.client.force_login(self.alice)
        data = {"name": self.project.name, "description": "", "suggestions_on": ""}
        self.client.post(reverse("project_settings", args=[self.project.slug]), data)
        self.project.refresh_from_db()
        assert not self.project.suggestions_on
        assert not SuggestionModel.objects.filter(project=self.project).exists()
        transcript = self.project.transcripts.first()
        assert self.client.get(reverse("transcript_suggestions", args=[transcript.pk])).status_code == 403
        page = self.client.get(reverse("transcript_detail", args=[transcript.pk]))
        self.assertNotContains(page, "suggestions-switch")

    def test_a_lead_trains_on_demand_in_the_background_worker_with_progress(self):
        build(self.project, [self.alice])
        transcript = self.project.transcripts.first()
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("suggestions_train", args=[transcript.pk]), headers={"HX-Request": "true"})
        self.assertContains(response, "<progress")
        row = SuggestionModel.objects.get(project=self.project, learner=None)
        assert (row.state, row.version) == (SuggestionModel.State.QUEUED, 0)
        run_worker()
        row.refresh_from_db()
        assert (row.state, row.version, row.progress, row.n_excerpts) == (SuggestionModel.State.IDLE, 1, 100, 8)
        panel = self.client.get(reverse("transcript_suggestions", args=[transcript.pk]))
        self.assertContains(panel, "trained 0")
        # Two coded interviews: each left out in turn has too few examples beside it to measure the code.
        self.assertContains(panel, "<tr><td>Peer support chat</td><td>8</td><td>not measured</td></tr>", html=True)

    def test_a_project_without_coding_says_so_without_error(self):
        self.client.force_login(self.bob)
        with self.captureOnCommitCallbacks(execute=False):
            response = self.client.get(reverse("transcript_suggestions", args=[self.transcript.pk]))
        self.assertContains(response, "Waiting to train")
        row = actions.train_suggestions(self.project, None)
        assert (row.version, row.examples, row.state) == (1, {}, SuggestionModel.State.IDLE)


class SuggestionsFollowTheTextTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.uncoded = study["transcripts"][2]

    def test_suggestions_move_with_an_uncoded_transcript_de_identified_after_they_were_shown(self):
        actions.train_suggestions(self.project, None)
        membership = Membership.objects.select_related("project").get(project=self.project, user=self.bob)
        assert suggestions_for(self.uncoded, membership, model_for(membership))
        Pseudonym.objects.create(project=self.project, original="peers", replacement="[people doing the same work]")
        transcript = Transcript.objects.get(pk=self.uncoded.pk)
        assert actions.deidentify_transcript(transcript, by=self.alice, expected_hash=transcript.content_hash)
        transcript.refresh_from_db()
        units = {(unit.start, unit.end) for unit in units_by_transcript([transcript.pk])[transcript.pk]}
        found = suggestions_for(transcript, membership, model_for(membership))
        assert found
        assert {(s.start, s.end) for s in found} <= units


class StoredPredictionsTests(BaseTestCase):
    """A fit stores each transcript's suggested units, so the coding page reads rows and never loads the model."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.uncoded = study["transcripts"][2]

    def test_the_panel_reads_the_predictions_the_fit_stored_without_loading_the_model(self):
        from transcripts.suggestions import loading

        actions.train_suggestions(self.project, None)
        membership = Membership.objects.select_related("project").get(project=self.project, user=self.bob)
        loading.FITTED.clear()
        loading.PREDICTED.clear()
        with mock.patch.object(loading, "fitted", side_effect=AssertionError("the model was loaded")):
            stored = suggestions_for(self.uncoded, membership, model_for(membership))
        SuggestionPrediction.objects.all().delete()
        computed = suggestions_for(self.uncoded, membership, model_for(membership))  # computed here, with the model
        assert stored
        assert [(s.start, s.end, s.code) for s in stored] == [(s.start, s.end, s.code) for s in computed]
        assert [round(s.probability, 3) for s in stored] == [round(s.probability, 3) for s in computed]


class SuggestionsPanelQueriesTests(BaseTestCase):
    """The suggestions panel reads the fit's stored predictions: as many queries for a bigger project."""

    def panel_queries(self, transcript) -> int:
        self.client.force_login(self.bob)
        url = reverse("transcript_suggestions", args=[transcript.pk])
        self.client.get(url, headers={"HX-Request": "true"})  # session and caches warm
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url, headers={"HX-Request": "true"})
        self.assertContains(response, "Peer support chat")
        return len(queries)

    def test_the_panel_costs_the_same_queries_whatever_the_project_size(self):
        study = build(self.project, [self.alice])
        code, uncoded = study["code"], study["transcripts"][2]
        actions.train_suggestions(self.project, None)
        small = self.panel_queries(uncoded)
        for number in range(4, 10):
            text = interview_text(number)
            transcript = make_transcript(
                self.project,
                title=f"Later interview {number}",
                text=text,
                turns=detect_turns(text),
                speaker_roles={"Interviewer": "interviewer", f"P{number:02d}": "participant"},
            )
            code_chat(transcript, code, self.alice)
        actions.train_suggestions(self.project, None)
        assert self.panel_queries(uncoded) == small
