"""The theme chart: a bar labelled "n of N" fills n/N of its track."""

from __future__ import annotations

from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt, make_participant, make_transcript
from transcripts import review


def twenty_participants(case) -> dict:
    """20 participants, one transcript each; Boundaries coded for 6 of them, Self-care for 4."""
    project = case.project
    transcripts = [case.transcript]
    for n in range(1, 20):
        participant = make_participant(project, label=f"P{n + 7:02d}")
        transcripts.append(make_transcript(project, title=f"Interview {n + 7}", participant=participant))
    boundaries = make_code(project, name="Boundaries")
    self_care = make_code(project, name="Self-care")
    for transcript in transcripts[:6]:
        make_excerpt(transcript, [boundaries])
    for transcript in transcripts[10:14]:
        make_excerpt(transcript, [self_care])
    return {"Boundaries": boundaries, "Self-care": self_care}


class ThemeBarTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.codes = twenty_participants(cls)

    def test_each_bar_is_its_share_of_the_participants_in_scope(self):
        filters, tree = review.ReviewFilters(), review.Tree.load(self.project)
        n = review.scope_participants(self.project, filters)
        self.assertEqual(n, 20)
        bars = {row.code.name: (row.total.participants, row.bar) for row in review.theme_summary(self.project, filters, tree, out_of=n)}
        # The most frequent theme is 6 of 20: 30% of the track, not all of it.
        self.assertEqual(bars["Boundaries"], (6, "w-30"))
        self.assertEqual(bars["Self-care"], (4, "w-20"))
        self.assertEqual(bars["Sense of community"], (0, "w-0"))

    def test_the_page_draws_and_labels_the_shares(self):
        self.client.force_login(self.rita)
        response = self.client.get(reverse("review_summary", args=[self.project.slug]))
        body = response.content.decode()
        for code, width, label in [("Boundaries", "w-30", "6 of 20"), ("Self-care", "w-20", "4 of 20")]:
            pk = self.codes[code].pk
            self.assertIn(f'class="bar c-{pk} {width}"', body)
            self.assertRegex(body, rf'c-{pk} {width}"></span></span>\s*<a class="bar-value" href="[^"]*">{label}</a>')
        self.assertNotIn("w-100", body)
        self.assertContains(response, "share of the 20 participants in scope")

    def test_a_filter_that_narrows_the_scope_rescales_the_bars(self):
        self.client.force_login(self.rita)
        chosen = "&".join(f"participant={t.participant_id}" for t in self.project.transcripts.order_by("pk")[:10])
        response = self.client.get(reverse("review_summary", args=[self.project.slug]) + "?" + chosen)
        # Boundaries: 6 of the 10 chosen participants.
        self.assertContains(response, f'class="bar c-{self.codes["Boundaries"].pk} w-60"')
        self.assertContains(response, "6 of 10")
