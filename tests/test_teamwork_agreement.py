"""The agreement page: figures on the hand-worked transcript, their method and unit counts, and
the disagreements behind them."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import make_transcript
from tests.teamwork_base import TeamworkTestCase
from transcripts import actions


class AgreementPageTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.code_hand_transcript()
        cls.url = reverse("agreement", args=[cls.project.slug])

    def get(self, **params):
        self.client.force_login(self.alice)
        params.setdefault("transcript", self.hand.pk)
        params.setdefault("coders", [self.bob.pk, self.cora.pk])
        response = self.client.get(self.url, params)
        self.assertEqual(response.status_code, 200)
        return response

    def row_html(self, response, name: str) -> str:
        html = response.content.decode()
        start = html.index(name, html.index('id="agreement-table"'))
        return html[start : html.index("</tr>", start)]

    def test_the_hand_worked_figures_per_code_and_pooled(self):
        response = self.get()
        x = self.row_html(response, "Belonging")
        for figure in ("<td class=\"num\">20</td>", "50.0%", ">0.000<", ">0.025<", "2 of 3", "10 chars"):
            self.assertIn(figure, x)
        self.assertNotIn("unstable", x)
        y = self.row_html(response, "Boundaries")
        self.assertIn("100.0%", y)
        self.assertIn("undefined (Cohen&#x27;s kappa is undefined: both coders gave every one of the 20 units the same label (coded)", y)
        self.assertIn("⚠ unstable", y)
        pooled = self.row_html(response, "All codes pooled")
        for figure in ("<td class=\"num\">40</td>", "75.0%", ">0.333<", ">0.342<", "5 of 6"):
            self.assertIn(figure, pooled)

    def test_the_page_names_the_unit_the_formulas_and_the_threshold(self):
        response = self.get(threshold=60)
        for text in ("one character of the participant", "20 characters", "(1 − p<sub>e</sub>)",
                     "1 − D<sub>o</sub> ÷ D<sub>e</sub>", "at least <strong>60%</strong> of the longer",
                     "units = characters × codes used"):
            self.assertContains(response, text)
        self.assertIn("0 of 3", self.row_html(response, "Belonging"))

    def test_every_figure_links_to_its_disagreements(self):
        response = self.get()
        link = f"code={self.x.pk}#disagreements"
        assert self.row_html(response, "Belonging").count(link) == 5  # percent, kappa, alpha, segments, chars
        assert "code=all#disagreements" in self.row_html(response, "All codes pooled")
        response = self.get(code=self.x.pk)
        page = reverse("transcript_detail", args=[self.hand.pk])
        html = response.content.decode()
        section = html[html.index('id="disagreements"') :]
        self.assertIn("3 passages", section)
        runs = [("abcde", self.bob_first), ("01234", self.cora_x), ("Tell me.", self.bob_interviewer)]
        positions = []
        for quote, excerpt in runs:
            self.assertIn(f"{quote}</blockquote>", section)
            self.assertIn(f'href="{page}?excerpt={excerpt.pk}"', section)
            positions.append(section.index(f"{quote}</blockquote>"))
        assert positions == sorted(positions)
        self.assertIn("coded by Bob Coder only", section)
        self.assertIn("coded by Cora Second only", section)
        response = self.get(code=self.y.pk)
        self.assertContains(response, "The coders agree everywhere on this.")

    def test_pooled_over_all_double_coded_transcripts_by_default(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        assert response.context["choice"].coders == [self.bob.pk, self.cora.pk]
        assert [t.pk for t in response.context["chosen"]] == [self.hand.pk]
        self.assertIn("75.0%", self.row_html(response, "All codes pooled"))

    def test_consensus_coding_never_enters_the_figures(self):
        actions.settle_consensus(
            self.hand, originals=[self.cora_x], versions=[(15, 35, [self.x])], choice="new", note="n", by=self.alice
        )
        response = self.get()
        self.assertIn("50.0%", self.row_html(response, "Belonging"))
        assert self.alice not in response.context["people"]  # her only coding is the consensus

    def test_choices_are_checked(self):
        response = self.get(coders=[self.bob.pk])
        self.assertContains(response, "Choose at least two coders.")
        response = self.get(coders=[self.bob.pk, self.cora.pk, self.oscar.pk], transcript="999999")
        assert response.context["choice"].coders == [self.bob.pk, self.cora.pk]
        assert response.context["choice"].transcript == "all"
        actions.create_excerpt(self.transcript, start=0, end=5, codes=[self.x], by=self.alice)
        response = self.get(transcript="all", coders=[self.bob.pk, self.alice.pk])
        self.assertContains(response, "No transcript was coded by all of the chosen coders.")

    def test_the_page_costs_the_same_with_one_or_many_double_coded_transcripts(self):
        def count(**params) -> int:
            self.client.force_login(self.alice)
            self.client.get(self.url, params)  # the session's once-a-minute renewal is not the page's cost
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(self.url, params).status_code == 200
            return len(queries)

        small = count()
        small_with_list = count(code="all")
        for n in range(6):
            transcript = make_transcript(self.project, title=f"Double {n}", text="P07: " + "words and more words " * 40)
            for coder in (self.bob, self.cora):
                for start in range(5, 700, 90):
                    actions.create_excerpt(transcript, start=start, end=start + 50 + n, codes=[self.x, self.y], by=coder)
        assert count() == small
        assert count(code="all") == small_with_list
