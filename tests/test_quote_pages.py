"""A theme's quotes come a page at a time: every quote once over the pages, "Show more" until the last."""

import random
import re
from unittest import mock
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt, make_transcript
from transcripts import actions, review
from transcripts.models import Membership, visible_excerpts_q
from transcripts.views import review as review_views


class QuotePagesTests(BaseTestCase):
    def test_the_pages_show_every_quote_once_and_offer_more_until_the_last(self):
        made = {make_excerpt(self.transcript, [self.code], start=n, end=n + 3).pk for n in range(0, 25, 5)}
        url = reverse("review_quotes", args=[self.project.slug, self.code.pk])
        self.client.force_login(self.alice)
        seen, more = [], []
        with mock.patch.object(review_views, "QUOTES_PER_PAGE", 2):
            for number in (1, 2, 3):
                body = self.client.get(url, {"page": number}).content.decode()
                seen.append([int(pk) for pk in re.findall(r'<article class="quote-card[^"]*" id="quote-(\d+)"', body)])
                more.append('id="more-quotes"' in body)
        assert [len(page) for page in seen] == [2, 2, 1]
        assert {pk for page in seen for pk in page} == made
        assert more == [True, True, False]


class QuoteOrderTests(BaseTestCase):
    def test_the_ids_come_in_the_order_of_the_quotes_under_every_filter(self):
        rng = random.Random(18)
        child = make_code(self.project, name="Group chat", parent=self.code)
        other = make_code(self.project, name="Boundaries")
        second = make_transcript(self.project, title="A first title", text="x " * 400)
        for transcript in (self.transcript, second):
            for start in rng.sample(range(len(transcript.text) - 21), 30):  # distinct: no duplicate coding
                codes = rng.sample([self.code, child, other], rng.randint(1, 2))
                excerpt = make_excerpt(transcript, codes, start=start, end=start + rng.randint(1, 20),
                                       by=rng.choice([self.alice, self.bob]))
                if rng.random() < 0.2:
                    application = excerpt.applications.order_by("?").first()
                    actions.set_exemplar(application, True, by=self.alice)
        options = review.FilterOptions.load(self.project)
        tree = review.Tree.load(self.project)
        for query in ({}, {"coder": str(self.bob.pk)}, {"transcript": str(second.pk)}, {"coding": "original"}):
            for user in (self.alice, self.bob):
                membership = Membership.objects.get(project=self.project, user=user)
                filters = review.ReviewFilters.from_query(QueryDict(urlencode(query)), options,
                                                          visible=visible_excerpts_q(membership))
                for code, subthemes in ((self.code, True), (self.code, False), (child, True), (other, True)):
                    quotes = review.quotes_for_code(self.project, filters, tree, code, subthemes=subthemes)
                    ids = review.quote_ids(self.project, filters, tree, code, subthemes=subthemes)
                    assert ids == [quote.pk for quote in quotes]
                    if not query and subthemes:  # exemplars come first, and some are not at the front of transcript order
                        exemplars = [quote.exemplar for quote in quotes]
                        assert 0 < sum(exemplars) < len(exemplars) and exemplars == sorted(exemplars, reverse=True)
