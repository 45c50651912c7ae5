"""What the transcript page keeps between requests shows nobody more than they may see, and
nothing stale: the laid-out text under a digest of what it is drawn from, the codes' stylesheet
in the browser under a digest of the colours."""

import re

from django.core.cache import caches
from django.urls import reverse

from tests.teamwork_base import TeamworkTestCase
from transcripts import actions, coding_page, colours
from transcripts.models import Excerpt


def marked_ids(response) -> set[int]:
    """The excerpt ids the transcript text's highlights carry."""
    text = re.search(r'<div id="transcript-text".*?>(.*?)</div>\s*<div class="margin"', response.content.decode(), re.S)
    return {int(pk) for ids in re.findall(r'data-excerpts="([\d ]+)"', text.group(1)) for pk in ids.split()}


class TextCacheTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.code_hand_transcript()
        cls.project.blind_coding = True
        cls.project.save(update_fields=["blind_coding"])
        cls.page = reverse("transcript_detail", args=[cls.hand.pk])

    def setUp(self) -> None:
        caches["transcript-text"].clear()

    def shown_to(self, user, **params) -> set[int]:
        self.client.force_login(user)
        response = self.client.get(self.page, params)
        assert response.status_code == 200
        return marked_ids(response)

    def own(self, user) -> set[int]:
        return set(Excerpt.objects.filter(transcript=self.hand, coder=user).values_list("pk", flat=True))

    def test_under_blind_coding_each_member_sees_only_what_they_may_whoever_came_first(self):
        everything = set(self.hand.excerpts.values_list("pk", flat=True))
        for order in ([self.alice, self.bob, self.cora, self.rita], [self.rita, self.cora, self.bob, self.alice]):
            caches["transcript-text"].clear()
            for _ in range(2):  # drawn, then kept
                seen = {user: self.shown_to(user) for user in order}
                assert seen[self.alice] == everything
                assert seen[self.bob] == self.own(self.bob)
                assert seen[self.cora] == self.own(self.cora)
                assert seen[self.rita] == set()
        assert self.own(self.bob) and self.own(self.cora) and not self.own(self.bob) & self.own(self.cora)

    def test_a_filter_or_a_change_of_coding_draws_the_text_again(self):
        assert self.shown_to(self.alice, coder=str(self.cora.pk)) == self.own(self.cora)
        assert self.shown_to(self.alice) == set(self.hand.excerpts.values_list("pk", flat=True))
        added = actions.create_excerpt(self.hand, start=12, end=20, codes=[self.y], by=self.bob)
        assert added.pk in self.shown_to(self.bob)
        assert added.pk not in self.shown_to(self.cora)
        actions.delete_excerpt(added, by=self.bob)
        assert added.pk not in self.shown_to(self.bob)

    def test_the_key_follows_what_the_member_sees(self):
        def key(user, **query) -> str:
            membership = self.project.memberships.get(user=user)
            return coding_page.load_coding_page(self.hand, membership, coding_page.Filters(**query), None).text_key

        assert key(self.bob) == key(self.bob)
        assert len({key(self.alice), key(self.bob), key(self.cora), key(self.rita)}) == 4
        assert key(self.alice) != key(self.alice, coder="mine")


class CodesStylesheetTests(TeamworkTestCase):
    def test_the_page_links_the_colours_it_is_drawn_with_and_only_those_may_be_kept(self):
        self.client.force_login(self.bob)
        page = self.client.get(reverse("transcript_detail", args=[self.hand.pk])).content.decode()
        pairs = list(self.project.codes.values_list("pk", "color"))
        url = reverse("codes_css", args=[self.project.slug]) + "?v=" + colours.rules_version(pairs)
        assert f'href="{url}"' in page
        kept = self.client.get(url)
        assert kept["Cache-Control"] == "private, max-age=31536000, immutable"
        assert f".c-{self.x.pk}{{".encode() in kept.content
        stale = self.client.get(reverse("codes_css", args=[self.project.slug]) + "?v=0123456789abcdef")
        assert "no-store" in stale["Cache-Control"]
        self.x.color = "#123456"
        self.x.save(update_fields=["color"])
        assert "no-store" in self.client.get(url)["Cache-Control"]
        for user, status in [(self.oscar, 404)]:
            self.client.force_login(user)
            assert self.client.get(url).status_code == status

    def test_the_review_pages_link_it_by_version_too(self):
        self.client.force_login(self.alice)
        page = self.client.get(reverse("review_summary", args=[self.project.slug])).content.decode()
        version = colours.rules_version(self.project.codes.values_list("pk", "color"))
        assert f"codes.css?v={version}" in page
