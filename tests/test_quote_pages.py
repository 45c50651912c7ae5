"""A theme's quotes come a page at a time: every quote once over the pages, "Show more" until the last."""

import re
from unittest import mock

from django.urls import reverse

from tests.base import BaseTestCase, make_excerpt
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
