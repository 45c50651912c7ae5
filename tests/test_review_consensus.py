"""The review pages show the consensus coding alone, the coders' own coding, or all of it."""

from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt
from transcripts import review
from transcripts.models import Excerpt


class ConsensusFilterTests(BaseTestCase):
    def setUp(self) -> None:
        self.other = make_code(self.project, name="Boundaries")
        self.bobs = make_excerpt(self.transcript, [self.code], start=0, end=10, by=self.bob)
        self.alices = make_excerpt(self.transcript, [self.other], start=5, end=15, by=self.alice)
        self.settled = make_excerpt(self.transcript, [self.code], start=0, end=12, by=self.alice)
        Excerpt.objects.filter(pk=self.settled.pk).update(is_consensus=True)

    def shown(self, **query) -> set[int]:
        options = review.FilterOptions.load(self.project)
        filters = review.ReviewFilters.from_query(query, options)
        return set(filters.excerpt_queryset(self.project).values_list("pk", flat=True))

    def test_each_choice_shows_the_right_excerpts(self):
        self.assertEqual(self.shown(), {self.bobs.pk, self.alices.pk, self.settled.pk})
        self.assertEqual(self.shown(coding="consensus"), {self.settled.pk})
        self.assertEqual(self.shown(coding="original"), {self.bobs.pk, self.alices.pk})
        # One coder's coding is theirs alone, without the consensus they settled as lead.
        self.assertEqual(self.shown(coder=str(self.alice.pk)), {self.alices.pk})
        self.assertEqual(self.shown(coding="nonsense"), self.shown())

    def test_the_summary_page_counts_only_the_consensus_when_asked(self):
        self.client.force_login(self.alice)
        url = reverse("review_summary", args=[self.project.slug])
        response = self.client.get(url, {"coding": "consensus"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'value="consensus" selected')
