"""The review pages' fast paths agree with the plain definitions they replace.

Line numbers come from line breaks stored with each transcript; co-occurrence pairs come from
a range search over excerpts sorted by start; quote cards and heat tables are built in Python;
every count reaches excerpts through joins with the blind-coding rule carried along.
"""

from __future__ import annotations

import importlib
import random
from collections import defaultdict

from django.apps import apps
from django.test import TestCase
from django.urls import reverse
from django.utils.html import escape

from tests.base import make_code, make_excerpt, make_project, make_transcript, make_user
from tests.review_study import Oracle, build_study
from transcripts import actions, review, spans
from transcripts.models import CodeApplication, Excerpt, Membership, Transcript, visible_excerpts_q
from transcripts.models.transcripts import newline_offsets


class LineNumberTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.lead = make_user("lead")
        cls.project = make_project(cls.lead)

    def assert_lines_match_the_text(self, transcript: Transcript) -> None:
        transcript.refresh_from_db()
        text = transcript.text
        self.assertEqual(transcript.line_breaks, [i for i, char in enumerate(text) if char == "\n"])
        for offset in range(len(text) + 1):
            self.assertEqual(transcript.line_at(offset), spans.line_number_at(text, offset), offset)

    def test_line_breaks_are_stored_at_import_with_crlf_normalized(self):
        transcript = make_transcript(self.project, text="Interviewer: Hi.\r\nP07: Hello,\r\nthere.\r\n\r\nInterviewer: Bye.")
        assert "\r" not in transcript.text
        self.assert_lines_match_the_text(transcript)
        self.assertEqual(transcript.line_at(0), 1)  # the first character
        self.assertEqual(transcript.line_at(len(transcript.text) - 1), 5)  # the last one, after an empty line
        self.assertEqual(transcript.line_at(transcript.text.index("\n")), 1)  # a newline ends its own line

    def test_a_text_without_newlines_is_one_line_and_an_edit_before_coding_moves_the_breaks(self):
        transcript = make_transcript(self.project, title="One line", text="Just one line, no break.")
        self.assertEqual(transcript.line_breaks, [])
        self.assertEqual(transcript.line_at(10), 1)
        transcript.text = "Now\ntwo lines."
        transcript.save(update_fields=["text"])
        self.assert_lines_match_the_text(transcript)

    def test_the_migration_fills_transcripts_stored_before_it(self):
        first = make_transcript(self.project, title="A", text="a\nb\n\nc")
        second = make_transcript(self.project, title="B", text="no breaks")
        Transcript.objects.update(line_breaks=[])
        migration = importlib.import_module("transcripts.migrations.0008_transcript_line_breaks")
        migration.fill_line_breaks(apps, None)
        for transcript in (first, second):
            self.assert_lines_match_the_text(transcript)
        self.assertEqual(migration.newline_offsets("x\ny\n"), newline_offsets("x\ny\n"))

    def test_quotes_on_the_first_and_last_lines_are_cited_with_those_lines(self):
        transcript = make_transcript(self.project, text="Interviewer: One?\r\nP07: Two.\r\nInterviewer: Three.")
        code = make_code(self.project)
        first = make_excerpt(transcript, [code], start=0, end=5)
        last = make_excerpt(transcript, [code], start=len(transcript.text) - 6, end=len(transcript.text))
        quotes = {q.pk: q for q in review.quotes_for_code(
            self.project, review.ReviewFilters(), review.Tree.load(self.project), code, subthemes=False
        )}
        self.assertEqual(quotes[first.pk].line, 1)
        self.assertEqual(quotes[last.pk].line, 3)
        self.assertEqual(review.citation(quotes[last.pk]), "Interview 7, line 3")


def brute_force_pairs(spans_by_excerpt: dict[int, tuple[int, int, int]], codes: dict[int, set[int]]) -> dict:
    """The co-occurrence definition, word for word: every (X coded A, Y coded B), X and Y the same
    excerpt or sharing a character of one transcript, A != B."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for x, (tx, sx, ex) in spans_by_excerpt.items():
        for y, (ty, sy, ey) in spans_by_excerpt.items():
            if x == y or (tx == ty and sx < ey and sy < ex):
                for a in codes[x]:
                    for b in codes[y]:
                        if a != b:
                            counts[(a, b)] += 1
    return dict(counts)


class CooccurrenceSweepTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.lead = make_user("lead")
        cls.coder = make_user("coder")
        cls.project = make_project(cls.lead)
        actions.set_role(cls.project, cls.coder, Membership.Role.CODER, by=cls.lead)
        words = "peer support group boundaries care shift burnout trust".split()
        rng = random.Random(11)
        cls.codes = [make_code(cls.project, name=f"Code {n}") for n in range(5)]
        cls.transcripts = []
        for t in range(3):
            text = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(8))
            cls.transcripts.append(make_transcript(cls.project, title=f"T{t}", text=text))
        for _ in range(70):
            transcript = rng.choice(cls.transcripts)
            start = rng.randrange(0, len(transcript.text) - 5)
            end = min(len(transcript.text), start + rng.randint(1, 60))
            make_excerpt(transcript, rng.sample(cls.codes, rng.choice([1, 1, 2, 3])), start=start, end=end,
                         by=rng.choice([cls.lead, cls.coder]))
        # Edge cases the draw may miss: adjacent spans (no shared character), the same start,
        # one span inside another, an exact duplicate, and one-character spans.
        t = cls.transcripts[0]
        a, b, c = cls.codes[:3]
        make_excerpt(t, [a], start=100, end=110)
        make_excerpt(t, [b], start=110, end=120)  # touches the one before: not a pair
        make_excerpt(t, [c], start=100, end=105)  # same start as the first
        make_excerpt(t, [a, b], start=101, end=103)  # inside both
        make_excerpt(t, [c], start=101, end=103, by=cls.coder)  # the same span again
        make_excerpt(t, [b], start=119, end=120)
        make_excerpt(t, [a], start=120, end=121)  # adjacent to both 110-120 and 119-120

    def spans_and_codes(self, excerpts) -> tuple[dict, dict]:
        found = {e.pk: (e.transcript_id, e.start, e.end) for e in excerpts}
        codes: dict[int, set[int]] = defaultdict(set)
        for excerpt_id, code_id in CodeApplication.objects.filter(excerpt__in=found).values_list("excerpt_id", "code_id"):
            codes[excerpt_id].add(code_id)
        return found, codes

    def test_the_sweep_counts_what_the_definition_counts(self):
        expected = brute_force_pairs(*self.spans_and_codes(Excerpt.objects.filter(transcript__project=self.project)))
        self.assertEqual(review.cooccurrence_counts(self.project, review.ReviewFilters()), expected)
        assert any(n > 0 for n in expected.values())

    def test_adjacent_excerpts_do_not_co_occur_and_one_excerpt_with_two_codes_is_one_pair(self):
        lone = make_project(make_user("solo"), name="Solo", slug="solo")
        transcript = make_transcript(lone, text="abcdefghijklmnopqrstuvwxyz")
        x, y, z = (make_code(lone, name=n) for n in ("X", "Y", "Z"))
        make_excerpt(transcript, [x], start=0, end=5)
        make_excerpt(transcript, [y], start=5, end=10)  # adjacent: shares nothing
        make_excerpt(transcript, [x, z], start=20, end=22)  # one excerpt, both codes
        counts = review.cooccurrence_counts(lone, review.ReviewFilters())
        self.assertEqual(counts, {(x.pk, z.pk): 1, (z.pk, x.pk): 1})
        make_excerpt(transcript, [y], start=4, end=5)  # now one character is shared
        counts = review.cooccurrence_counts(lone, review.ReviewFilters())
        self.assertEqual(counts[(x.pk, y.pk)], 1)
        self.assertEqual(counts[(y.pk, x.pk)], 1)

    def test_every_cell_drills_down_to_its_own_number_of_passages(self):
        filters = review.ReviewFilters()
        counts = review.cooccurrence_counts(self.project, filters)
        for a in self.codes:
            for b in self.codes:
                if a == b:
                    continue
                passages = review.shared_passages(self.project, filters, a, b)
                with self.subTest(a=a.name, b=b.name):
                    self.assertEqual(len(passages), counts.get((a.pk, b.pk), 0))
                    for passage in passages:
                        assert passage.shared and passage.shared in passage.a.quote and passage.shared in passage.b.quote

    def test_the_coders_own_view_counts_their_excerpts_alone(self):
        filters = review.ReviewFilters.from_query({"coder": str(self.coder.pk)}, review.FilterOptions.load(self.project))
        excerpts = Excerpt.objects.filter(transcript__project=self.project, coder=self.coder)
        self.assertEqual(review.cooccurrence_counts(self.project, filters), brute_force_pairs(*self.spans_and_codes(excerpts)))


class BlindCodingOnTheReviewPagesTests(TestCase):
    """Every figure and quote counts only the coding the member may see; the rule reaches
    applications through a prefix (ReviewFilters.conditions), so it is checked on each page's function."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.lead, cls.bob, cls.cora, cls.rita = (make_user(n) for n in ("lead", "bob", "cora", "rita"))
        cls.project = make_project(cls.lead)
        for user in (cls.bob, cls.cora):
            actions.set_role(cls.project, user, Membership.Role.CODER, by=cls.lead)
        actions.set_role(cls.project, cls.rita, Membership.Role.READER, by=cls.lead)
        cls.codes = build_study(cls.project, [cls.lead, cls.bob, cls.cora], n_transcripts=4, n_excerpts=60, seed=5)
        # Blind on two transcripts only: the rule is "(transcript not blind) OR own coding".
        for transcript in cls.project.transcripts.order_by("pk")[:2]:
            actions.set_transcript_blinding(transcript, True, by=cls.lead)

    def test_each_member_sees_figures_of_their_visible_coding_only(self):
        oracle = Oracle(self.project)
        tree = review.Tree.load(self.project)
        options = review.FilterOptions.load(self.project)
        for user in (self.bob, self.rita, self.lead):
            membership = Membership.objects.select_related("project").get(project=self.project, user=user)
            visible = set(Excerpt.objects.filter(transcript__project=self.project).visible_to(membership).values_list("pk", flat=True))
            rows = [row for row in oracle.rows if row.excerpt in visible]
            filters = review.ReviewFilters.from_query({}, options, visible=visible_excerpts_q(membership))
            with self.subTest(user=user.username):
                if user != self.lead:
                    assert len(rows) < len(oracle.rows)
                for row in review.theme_summary(self.project, filters, tree):
                    self.assertEqual(vars(row.total), oracle.counts(rows, oracle.under(row.code.pk)))
                    self.assertEqual(vars(row.own), oracle.counts(rows, {row.code.pk}))
                matrix = review.participant_matrix(self.project, filters, tree, options)
                for code, cells in matrix.rows:
                    for column, cell in zip(matrix.columns, cells):
                        mine = [r for r in rows if r.participant == column.key]
                        self.assertEqual(cell["n"], oracle.counts(mine, oracle.under(code.pk))["excerpts"])
                self.assertEqual(review.cooccurrence_counts(self.project, filters), oracle.pairs(rows))
                coping = self.codes["Coping"]
                quotes = review.quotes_for_code(self.project, filters, tree, coping, subthemes=True)
                self.assertEqual({q.pk for q in quotes}, {r.excerpt for r in rows if r.code in oracle.under(coping.pk)})
                found = review.coded_a_and_b(self.project, filters, tree, coping, self.codes["Supports"], negate=True, subthemes=True)
                assert {q.pk for q in found} <= visible

    def test_the_quotes_page_shows_a_coder_none_of_the_hidden_quotes(self):
        hidden = Excerpt.objects.filter(transcript__project=self.project, transcript__blind_coding=True).exclude(coder=self.bob)
        assert hidden.exists()
        self.client.force_login(self.bob)
        for code in self.codes.values():
            body = self.client.get(reverse("review_quotes", args=[self.project.slug, code.pk]), {"subthemes": "1"}).content.decode()
            for pk in hidden.values_list("pk", flat=True):
                assert f'id="quote-{pk}"' not in body


class QuoteCardTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.lead = make_user("lead", first_name="Ada", last_name="Lead")
        cls.reader = make_user("reader")
        cls.project = make_project(cls.lead)
        actions.set_role(cls.project, cls.reader, Membership.Role.READER, by=cls.lead)
        cls.code = make_code(cls.project, name="Care & <support>")
        cls.transcript = make_transcript(cls.project, text='Interviewer: Why?\nP07: Because "we" <care> & share.')
        start = cls.transcript.text.index("Because")
        cls.excerpt = make_excerpt(cls.transcript, [cls.code], start=start, end=len(cls.transcript.text))
        Excerpt.objects.filter(pk=cls.excerpt.pk).update(memo="<b>first</b>\nsecond")

    def test_every_value_on_a_card_is_escaped_and_the_memo_keeps_its_lines(self):
        self.client.force_login(self.lead)
        response = self.client.get(reverse("review_quotes", args=[self.project.slug, self.code.pk]))
        body = response.content.decode()
        quote = 'Because "we" <care> & share.'
        self.assertIn(f'<blockquote class="quote">{escape(quote)}</blockquote>', body)
        self.assertIn(f'data-copy="“{escape(quote)}” (Interview 7, line 2)"', body)
        self.assertIn("&lt;b&gt;first&lt;/b&gt;<br>second", body)
        self.assertIn(f'<span class="tag c-{self.code.pk}">Care &amp; &lt;support&gt;</span>', body)
        self.assertIn(" · coded by Ada Lead</p>", body)
        assert "<care>" not in body and "<support>" not in body and "<b>first" not in body

    def test_the_exemplar_button_answers_with_the_same_form_the_card_has(self):
        self.client.force_login(self.lead)
        page = self.client.get(reverse("review_quotes", args=[self.project.slug, self.code.pk])).content.decode()
        application = self.excerpt.applications.get()
        assert f'id="exemplar-{application.pk}"' in page and 'aria-pressed="false"' in page
        url = reverse("review_exemplar", args=[self.project.slug, application.pk])
        marked = self.client.post(url, {"exemplar": "1", "back": "/x?a=1&b=2"}, headers={"HX-Request": "true"}).content.decode()
        assert marked.startswith(f'<form id="exemplar-{application.pk}"')
        assert 'aria-pressed="true"' in marked and "★ Exemplar of Care &amp; &lt;support&gt;" in marked
        assert 'name="back" value="/x?a=1&amp;b=2"' in marked
        page = self.client.get(reverse("review_quotes", args=[self.project.slug, self.code.pk])).content.decode()
        assert 'class="quote-card exemplar"' in page
        self.client.force_login(self.reader)
        page = self.client.get(reverse("review_quotes", args=[self.project.slug, self.code.pk])).content.decode()
        assert "Mark as exemplar" not in page and "★ exemplar of Care &amp; &lt;support&gt;" in page

    def test_the_context_fragment_grows_and_hides(self):
        self.client.force_login(self.reader)
        url = reverse("review_context", args=[self.project.slug, self.excerpt.pk])
        fragment = self.client.get(url, {"n": "300"}, headers={"HX-Request": "true"}).content.decode()
        assert fragment.startswith(f'<div id="context-{self.excerpt.pk}" class="excerpt-context">')
        assert "<mark>Because &quot;we&quot; &lt;care&gt; &amp; share.</mark>" in fragment
        assert f'{url}?n=1000"' in fragment and "More context" in fragment and f'{url}?n=0"' in fragment
        fragment = self.client.get(url, {"n": "1000"}, headers={"HX-Request": "true"}).content.decode()
        assert "More context" not in fragment and "Hide context" in fragment
        fragment = self.client.get(url, {"n": "0"}, headers={"HX-Request": "true"}).content.decode()
        assert "<mark>" not in fragment and "Show context" in fragment
