"""Blind coding: every view that shows coding shows a coder only their own until a lead opens
comparison; readers see none meanwhile; leads see all."""

import html
import json
import re

from django.urls import reverse

from tests.teamwork_base import TeamworkTestCase
from transcripts import actions, coding_page
from transcripts.models import Excerpt, Membership, visible_excerpts_q

HTMX = {"HX-Request": "true"}


def panel_counts(response) -> dict[int, int]:
    """Code id -> the count the code panel shows beside it."""
    pattern = r'data-code-id="(\d+)".*?<span class="count">(\d+)</span>'
    return {int(pk): int(n) for pk, n in re.findall(pattern, response.content.decode(), re.S)}


def area_data(response) -> list[dict]:
    """The excerpt data the coding area hands to the page's script."""
    raw = re.search(r'id="excerpt-data" hidden data-json="([^"]*)"', response.content.decode()).group(1)
    return json.loads(html.unescape(raw))


class BlindCodingTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.code_hand_transcript()
        cls.project.blind_coding = True
        cls.project.save(update_fields=["blind_coding"])
        # A code only cora used, and a consensus excerpt the lead settled.
        cls.secret = actions.create_code(cls.project, name="Only cora's", by=cls.alice)
        cls.cora_secret = actions.create_excerpt(cls.hand, start=30, end=35, codes=[cls.secret], by=cls.cora)
        cls.consensus = actions.settle_consensus(
            cls.hand, originals=[cls.bob_first, cls.cora_x], versions=[(15, 30, [cls.x])], choice="merge",
            note="Both meant belonging", by=cls.alice,
        )[0]
        cls.page = reverse("transcript_detail", args=[cls.hand.pk])

    def set_comparison(self, open_: bool) -> None:
        self.project.comparison_open = open_
        self.project.save(update_fields=["comparison_open"])

    def shown_ids(self, user, **params) -> set[int]:
        self.client.force_login(user)
        response = self.client.get(self.page, params)
        assert response.status_code == 200
        return {item["id"] for item in json.loads(response.context["page"].excerpt_data_json)}

    def mine(self, user) -> set[int]:
        return set(Excerpt.objects.filter(transcript=self.hand, coder=user, is_consensus=False).values_list("pk", flat=True))

    def everything(self) -> set[int]:
        return set(self.hand.excerpts.values_list("pk", flat=True))

    def test_the_rule_lives_in_one_queryset_method(self):
        for user, expected in [(self.bob, self.mine(self.bob)), (self.cora, self.mine(self.cora)),
                               (self.rita, set()), (self.alice, self.everything())]:
            membership = Membership.objects.select_related("project").get(project=self.project, user=user)
            assert set(self.hand.excerpts.visible_to(membership).values_list("pk", flat=True)) == expected
        membership = Membership.objects.select_related("project").get(project=self.project, user=self.alice)
        assert visible_excerpts_q(membership) is None

    def test_coders_see_only_their_own_coding_on_the_transcript_page(self):
        assert self.shown_ids(self.bob) == self.mine(self.bob)
        assert self.shown_ids(self.cora) == self.mine(self.cora)
        assert self.shown_ids(self.bob, coder=str(self.cora.pk)) == set()
        assert self.shown_ids(self.bob, coder="consensus") == set()
        self.client.force_login(self.bob)
        response = self.client.get(self.page)
        self.assertContains(response, "Blind coding: you see only your own coding")
        assert {row["coder"].pk for row in response.context["page"].coverage} == {self.bob.pk}
        assert response.context["page"].excerpts.__len__() == 3

    def test_readers_see_no_coding_and_leads_see_all_while_blind(self):
        assert self.shown_ids(self.rita) == set()
        assert self.shown_ids(self.alice) == self.everything()

    def test_code_counts_and_example_quotes_leave_out_hidden_coding(self):
        self.client.force_login(self.bob)
        response = self.client.get(self.page, {"partial": "code-panel", "focus": self.secret.pk}, headers=HTMX)
        self.assertNotContains(response, "<html")
        counts = panel_counts(response)
        assert counts[self.secret.pk] == 0
        assert counts[self.x.pk] == 2  # bob's two X excerpts, not cora's nor the consensus
        self.assertNotContains(response, "<h4>Examples</h4>")
        self.client.force_login(self.alice)
        response = self.client.get(self.page, {"partial": "code-panel", "focus": self.secret.pk}, headers=HTMX)
        assert panel_counts(response)[self.secret.pk] == 1
        self.assertContains(response, "<h4>Examples</h4>")

    def test_every_partial_respects_it(self):
        self.client.force_login(self.bob)
        for partial in ("coding-area", "code-panel", "excerpt-panel"):
            response = self.client.get(self.page, {"partial": partial, "excerpt": self.cora_x.pk}, headers=HTMX)
            self.assertEqual(response.status_code, 200)
            self.assertNotContains(response, "<html")
            self.assertNotContains(response, f'data-excerpt-id="{self.cora_x.pk}"')
            if partial == "excerpt-panel":
                self.assertContains(response, 'data-excerpt-id=""')
            if partial == "coding-area":
                assert {item["id"] for item in area_data(response)} == self.mine(self.bob)
                assert f'data-excerpts="{self.cora_x.pk}"' not in response.content.decode()

    def test_another_coders_excerpt_is_404_at_every_excerpt_endpoint(self):
        self.client.force_login(self.bob)
        for excerpt in (self.cora_x, self.consensus):
            assert self.client.get(reverse("excerpt_detail", args=[excerpt.pk]), headers=HTMX).status_code == 404
            for name in ("excerpt_update", "excerpt_delete"):
                response = self.client.post(reverse(name, args=[excerpt.pk]), {"version": 1, "memo": "x"}, headers=HTMX)
                assert response.status_code == 404
        assert self.client.get(reverse("excerpt_detail", args=[self.bob_first.pk]), headers=HTMX).status_code == 200
        self.client.force_login(self.rita)
        assert self.client.get(reverse("excerpt_detail", args=[self.bob_first.pk]), headers=HTMX).status_code == 404
        self.client.force_login(self.alice)
        assert self.client.get(reverse("excerpt_detail", args=[self.cora_x.pk]), headers=HTMX).status_code == 200

    def test_the_polling_token_does_not_reveal_that_someone_else_coded(self):
        self.client.force_login(self.bob)
        url = reverse("transcript_state", args=[self.hand.pk])
        before = self.client.get(url).json()["state"]
        actions.create_excerpt(self.hand, start=16, end=18, codes=[self.x], by=self.cora)
        actions.change_excerpt(self.cora_x, by=self.cora, expected_version=1, memo="rethought")
        assert self.client.get(url).json()["state"] == before
        actions.create_excerpt(self.hand, start=16, end=18, codes=[self.x], by=self.bob)
        assert self.client.get(url).json()["state"] != before
        membership = Membership.objects.select_related("project").get(project=self.project, user=self.alice)
        assert coding_page.state_token(self.hand, membership) == coding_page.state_token(self.hand)

    def test_the_project_page_counts_only_visible_excerpts(self):
        url = reverse("project_detail", args=[self.project.slug])
        for user, expected in [(self.bob, 3), (self.cora, 3), (self.rita, 0), (self.alice, 7)]:
            self.client.force_login(user)
            counts = {t.pk: t.n_excerpts for t in self.client.get(url).context["transcripts"]}
            with self.subTest(user=user.username):
                assert counts[self.hand.pk] == expected

    def test_opening_comparison_shows_everyone_everything_and_the_agreement(self):
        self.client.force_login(self.bob)
        assert self.client.get(reverse("agreement", args=[self.project.slug])).status_code == 403
        self.set_comparison(True)
        assert self.shown_ids(self.bob) == self.everything()
        assert self.shown_ids(self.rita) == self.everything()
        assert self.shown_ids(self.bob, coder="consensus") == {self.consensus.pk}
        self.client.force_login(self.bob)
        assert self.client.get(reverse("excerpt_detail", args=[self.cora_x.pk]), headers=HTMX).status_code == 200
        assert self.client.get(reverse("agreement", args=[self.project.slug])).status_code == 200
        self.client.force_login(self.rita)
        assert self.client.get(reverse("agreement", args=[self.project.slug])).status_code == 403

    def test_a_blind_transcript_in_an_open_project_is_blind_alone(self):
        self.project.blind_coding = False
        self.project.save(update_fields=["blind_coding"])
        other = self.transcript
        cora_elsewhere = actions.create_excerpt(other, start=0, end=5, codes=[self.x], by=self.cora)
        assert self.shown_ids(self.bob) == self.everything()
        actions.set_transcript_blinding(self.hand, True, by=self.alice)
        assert self.shown_ids(self.bob) == self.mine(self.bob)
        self.client.force_login(self.bob)
        response = self.client.get(reverse("transcript_detail", args=[other.pk]))
        assert cora_elsewhere.pk in {item["id"] for item in json.loads(response.context["page"].excerpt_data_json)}
        # Example quotes from other transcripts follow the same rule.
        response = self.client.get(self.page, {"focus": self.secret.pk})
        assert response.context["page"].examples == []

    def test_leads_switch_blinding_and_it_is_audited(self):
        self.client.force_login(self.alice)
        url = reverse("project_blinding", args=[self.project.slug])
        self.client.post(url, {"blind_coding": "1", "comparison_open": "1"})
        self.project.refresh_from_db()
        assert self.project.comparison_open and self.project.blind_coding
        self.client.post(reverse("transcript_blinding", args=[self.hand.pk]), {"blind_coding": "1"})
        self.hand.refresh_from_db()
        assert self.hand.blind_coding
        from transcripts.models import AuditEvent

        verbs = list(AuditEvent.objects.order_by("-pk").values_list("verb", flat=True)[:2])
        assert verbs == ["transcript.blinding_changed", "project.blinding_changed"]
