"""Find-similar reads a bounded number of transcripts a request, ranked and uncoded-only, and offers the next ones."""

from __future__ import annotations

from unittest import mock

from django.urls import reverse

from tests.base import BaseTestCase
from tests.suggestion_study import CHAT, build
from transcripts import actions
from transcripts.models import Excerpt, Membership
from transcripts.suggestions import loading


class FindSimilarTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = build(cls.project, [cls.alice])
        cls.chat, (cls.first, cls.second, cls.uncoded) = study["code"], study["transcripts"]
        cls.excerpt = Excerpt.objects.filter(transcript=cls.first).order_by("start").first()
        cls.url = reverse("excerpt_similar", args=[cls.excerpt.pk])

    def membership(self) -> Membership:
        return Membership.objects.select_related("project").get(project=self.project, user=self.bob)

    def test_each_request_reads_at_most_one_batch_past_the_bound(self):
        read = []
        real = loading.units_by_transcript

        def reading(ids):
            read.append(list(ids))
            return real(ids)

        with (
            mock.patch.object(loading, "MOST_SIMILAR_CANDIDATES", 1),
            mock.patch.object(loading, "TRANSCRIPTS_PER_READ", 1),
            mock.patch.object(loading, "units_by_transcript", side_effect=reading),
        ):
            first = loading.similar_units(self.excerpt, self.membership())
            rest = loading.similar_units(self.excerpt, self.membership(), searched_from=first.searched_to)
        others = sorted(self.project.transcripts.exclude(pk=self.first.pk).values_list("pk", flat=True))
        assert read == [[self.first.pk], [others[0]]], "the excerpt's own transcript first, then the next by id"
        assert (first.searched_from, first.searched_to, first.n_transcripts) == (0, 1, 4)
        assert (rest.searched_from, rest.searched_to) == (1, 2)
        coded = set(Excerpt.objects.values_list("transcript_id", "start"))
        assert all((unit.transcript, unit.start) not in coded for unit, _ in first.found + rest.found)
        scores = [score for _, score in rest.found]
        assert scores == sorted(scores, reverse=True) and scores

    def test_a_project_coded_almost_everywhere_is_read_a_bounded_number_of_transcripts_at_a_time(self):
        with mock.patch.object(loading, "MOST_SIMILAR_TRANSCRIPTS", 2), mock.patch.object(loading, "TRANSCRIPTS_PER_READ", 10):
            first = loading.similar_units(self.excerpt, self.membership())
            rest = loading.similar_units(self.excerpt, self.membership(), searched_from=first.searched_to)
        assert [(r.searched_from, r.searched_to) for r in (first, rest)] == [(0, 2), (2, 4)]

    def test_the_page_says_what_it_searched_and_offers_the_next_transcripts(self):
        self.client.force_login(self.bob)
        with mock.patch.object(loading, "MOST_SIMILAR_CANDIDATES", 1), mock.patch.object(loading, "TRANSCRIPTS_PER_READ", 1):
            page = self.client.get(self.url)
            self.assertContains(page, "Searched transcripts 1 to 1 of 4 (this excerpt's own first).")
            self.assertContains(page, f'href="{self.url}?from=1"')
            last = self.client.get(self.url, {"from": 3}, headers={"HX-Request": "true"})
        self.assertContains(last, "Searched transcripts 4 to 4 of 4.")
        self.assertContains(last, CHAT[0])
        self.assertNotContains(last, "Search the next transcripts")
        self.assertContains(self.client.get(self.url), "Searched all 4 transcripts.")

    def test_with_a_fitted_model_its_vectorizer_compares_the_passages(self):
        actions.train_suggestions(self.project, None)
        with mock.patch("transcripts.suggestions.model.new_vectorizer", side_effect=AssertionError("fitted per request")):
            found = loading.similar_units(self.excerpt, self.membership()).found
        assert found[0][0].text in CHAT
