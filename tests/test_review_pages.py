"""The review pages: what they show, what they cost in queries, and their htmx fragments."""

from __future__ import annotations

from unittest import mock

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from tests.base import make_project, make_user
from tests.review_study import Oracle, build_study
from transcripts import actions, review
from transcripts.jobs import run_job
from transcripts.models import AuditEvent, CodeApplication, Excerpt, Job, Membership


def study(slug: str, *, n_transcripts: int, n_excerpts: int, extra_codes: int, seed: int):
    lead = make_user(f"lead-{slug}")
    coder = make_user(f"coder-{slug}")
    reader = make_user(f"reader-{slug}")
    project = make_project(lead, name=slug, slug=slug)
    actions.set_role(project, coder, Membership.Role.CODER, by=lead)
    actions.set_role(project, reader, Membership.Role.READER, by=lead)
    codes = build_study(
        project, [lead, coder], n_transcripts=n_transcripts, n_excerpts=n_excerpts, extra_codes=extra_codes, seed=seed
    )
    return project, lead, coder, reader, codes


class ReviewPageTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.small = study("small", n_transcripts=3, n_excerpts=6, extra_codes=0, seed=1)
        cls.large = study("large", n_transcripts=9, n_excerpts=120, extra_codes=6, seed=2)
        cls.project, cls.lead, cls.coder, cls.reader, cls.codes = cls.large

    def urls(self, world) -> dict[str, str]:
        project, _, _, _, codes = world
        slug = project.slug
        excerpt = codes["Coping"].applications.first().excerpt if codes["Coping"].applications.exists() else project.transcripts.first().excerpts.first()
        attribute = project.attributes.get(name="organization")
        filters = f"coder={world[1].pk}&no_interviewer=1"
        # The busiest pair, so that both sizes have passages to show (an empty list skips the prefetch).
        pairs = review.cooccurrence(project, review.ReviewFilters(), review.Tree.load(project))
        a, b = max(((row[0]["row"], cell["other"], cell["n"]) for row in pairs.cells for cell in row), key=lambda t: t[2])[:2]
        return {
            "summary": reverse("review_summary", args=[slug]) + f"?{filters}&sort=-participants",
            "quotes": reverse("review_quotes", args=[slug, codes["Coping"].pk]) + f"?{filters}&subthemes=1",
            "matrix": reverse("review_matrix", args=[slug]) + f"?{filters}",
            "matrix page 2": reverse("review_matrix", args=[slug]) + f"?{filters}&page=2",
            "attribute matrix": reverse("review_matrix", args=[slug]) + f"?attribute={attribute.pk}",
            "co-occurrence": reverse("review_cooccurrence", args=[slug]),
            "drill-down": reverse("review_cooccurrence_detail", args=[slug, a.pk, b.pk]),
            "and": reverse("review_query", args=[slug]) + f"?a={codes['Coping'].pk}&b={codes['Supports'].pk}&subthemes=1",
            "not": reverse("review_query", args=[slug]) + f"?a={codes['Coping'].pk}&b={codes['Barriers'].pk}&op=not",
            "search": reverse("review_search", args=[slug]) + f"?q=group+chat&code={codes['Barriers'].pk}",
            "context": reverse("review_context", args=[slug, excerpt.pk]) + "?n=300",
        }

    def count_report_queries(self, world, kind: str, params: dict) -> int:
        """Queries of the worker's run of a report job (the page only starts it)."""
        project, lead = world[0], world[1]
        job = actions.start_job(project, kind, by=lead, download_name="report", params=params)
        with CaptureQueriesContext(connection) as queries:
            run_job.call(job.pk)
        job.refresh_from_db()
        self.assertEqual(job.status, Job.Status.DONE, job.message)
        return len(queries)

    def test_every_report_costs_the_same_queries_with_7_codes_and_6_excerpts_as_with_13_and_120(self):
        reports = {
            Job.Kind.REPORT_CSV: lambda world: {"query": f"coder={world[1].pk}&no_interviewer=1"},
            Job.Kind.REPORT_XLSX: lambda world: {},
            Job.Kind.REPORT_DOCX: lambda world: {"exemplars": True},
        }
        for kind, params in reports.items():
            with self.subTest(kind=kind):
                small = self.count_report_queries(self.small, kind, params(self.small))
                large = self.count_report_queries(self.large, kind, params(self.large))
                self.assertEqual(small, large)

    def count_queries(self, world, name: str, htmx: bool) -> int:
        self.client.force_login(world[1])
        headers = {"HX-Request": "true", "HX-Target": "review-body"} if htmx else {}
        url = self.urls(world)[name]
        self.client.get(url, headers=headers)  # the session is saved on the first request
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url, headers=headers)
        self.assertEqual(response.status_code, 200, name)
        return len(queries)

    def test_every_page_costs_the_same_queries_with_7_codes_and_6_excerpts_as_with_13_and_120(self):
        sizes = {}
        for name in self.urls(self.small):
            for htmx in (False, True):
                if name == "context" and not htmx:
                    continue  # without htmx it redirects to the transcript
                with self.subTest(page=name, htmx=htmx):
                    small, large = self.count_queries(self.small, name, htmx), self.count_queries(self.large, name, htmx)
                    self.assertEqual(small, large)
                    sizes[(name, htmx)] = large
        print("\nqueries per review page (full, htmx):", sizes)

    def test_the_summary_shows_the_oracles_figures_and_links_each_to_its_quotes(self):
        self.client.force_login(self.reader)
        response = self.client.get(reverse("review_summary", args=[self.project.slug]))
        oracle = Oracle(self.project)
        coping = self.codes["Coping"]
        figures = oracle.counts(oracle.rows, oracle.under(coping.pk))
        quotes = reverse("review_quotes", args=[self.project.slug, coping.pk]) + "?subthemes=1"
        self.assertContains(response, f'<a href="{quotes}">{figures["excerpts"]}</a>', html=False)
        self.assertContains(response, f'<a href="{quotes}">{figures["participants"]}</a>', html=False)
        self.assertContains(response, 'class="bar c-')
        self.assertNotContains(response, "style=")

    def test_the_summary_sorts_within_the_tree(self):
        self.client.force_login(self.reader)
        response = self.client.get(reverse("review_summary", args=[self.project.slug]), {"sort": "-excerpts"})
        rows = response.context["rows"]
        themes = [row.total.excerpts for row in rows if row.depth == 0]
        self.assertEqual(themes, sorted(themes, reverse=True))
        seen = set()
        for row in rows:  # a parent always comes before its children
            assert row.code.parent_id is None or row.code.parent_id in seen
            seen.add(row.code.pk)

    def test_filters_are_carried_in_every_link_and_the_filter_form(self):
        self.client.force_login(self.reader)
        attribute = self.project.attributes.get(name="organization")
        response = self.client.get(
            reverse("review_summary", args=[self.project.slug]), {f"a{attribute.pk}": "Peer org & <friends>", "no_interviewer": "1"}
        )
        body = response.content.decode()
        assert "Peer+org+%26+%3Cfriends%3E" not in body  # a value the project does not have is dropped
        response = self.client.get(reverse("review_summary", args=[self.project.slug]), {f"a{attribute.pk}": "Peer org", "no_interviewer": "1"})
        body = response.content.decode()
        assert f"a{attribute.pk}=Peer+org&amp;no_interviewer=1" in body
        assert 'name="no_interviewer" value="1" checked' in body
        assert body.count(f"a{attribute.pk}=Peer+org") > 10
        # A text value is kept as typed, and every link carries it URL-encoded: it cannot add parameters.
        text = self.project.attributes.get(name="in recovery")
        body = self.client.get(reverse("review_summary", args=[self.project.slug]), {f"a{text.pk}": "x&coder=1 <b>"}).content.decode()
        assert f"a{text.pk}=x%26coder%3D1+%3Cb%3E" in body
        assert "x&coder=1" not in body and "<b>" not in body

    def test_htmx_gets_the_review_body_only(self):
        self.client.force_login(self.reader)
        url = reverse("review_matrix", args=[self.project.slug])
        fragment = self.client.get(url, headers={"HX-Request": "true", "HX-Target": "review-body"}).content.decode()
        assert fragment.lstrip().startswith('<div id="review-body"') and "<html" not in fragment
        page = self.client.get(url).content.decode()
        assert "<html" in page and 'id="review-filters"' in page

    def test_the_cooccurrence_table_streams_into_the_page_a_row_at_a_time(self):
        # Held whole, 200 codes' table was copied at each level of the templates: 112 MB a worker.
        self.client.force_login(self.reader)
        url = reverse("review_cooccurrence", args=[self.project.slug])
        result = review.cooccurrence(self.project, review.ReviewFilters(), review.Tree.load(self.project))
        for headers, whole in (({}, "<html"), ({"HX-Request": "true", "HX-Target": "review-body"}, '<div id="review-body"')):
            response = self.client.get(url, headers=headers)
            assert response.streaming
            pieces = [piece.decode() for piece in response.streaming_content]
            assert whole in pieces[0] and "<table" not in pieces[0]
            rows = [piece for piece in pieces if piece.startswith("<tr>")]
            assert len(rows) == len(result.codes), (len(rows), len(result.codes))
            page = "".join(pieces)
            assert page.count("<table") == 1 and page.rstrip().endswith("</html>") == (whole == "<html")
            for code, cells in result.rows():
                cell = next(cell for cell in cells if cell["n"] and not cell["same"])
                link = reverse("review_cooccurrence_detail", args=[self.project.slug, code.pk, cell["other"].pk])
                assert f'<a href="{link}" title="{escape(code.name)} with {escape(cell["other"].name)}">{cell["n"]}</a>' in page
                break

    def test_the_context_fragment_shows_the_text_around_and_without_htmx_opens_the_transcript(self):
        self.client.force_login(self.reader)
        excerpt = self.codes["Coping"].applications.first().excerpt
        url = reverse("review_context", args=[self.project.slug, excerpt.pk])
        fragment = self.client.get(url, {"n": "300"}, headers={"HX-Request": "true"})
        text = excerpt.transcript.text
        self.assertContains(fragment, f'id="context-{excerpt.pk}"')
        assert "<html" not in fragment.content.decode()
        around = review.context_around(text, excerpt.start, excerpt.end, 300)
        self.assertEqual(around.before, text[max(0, excerpt.start - 300) : excerpt.start])
        self.assertContains(fragment, f"<mark>{escape(around.quote)}</mark>")
        self.assertContains(fragment, escape(around.after[-20:]))
        response = self.client.get(url)
        self.assertRedirects(response, reverse("transcript_detail", args=[excerpt.transcript_id]) + f"?excerpt={excerpt.pk}")
        other = self.small[4]["Coping"].applications.first().excerpt
        self.client.force_login(self.small[1])
        self.assertEqual(self.client.get(reverse("review_context", args=[self.small[0].slug, excerpt.pk])).status_code, 404)
        assert other

    def test_a_lead_marks_and_unmarks_an_exemplar_and_it_is_audited(self):
        application = CodeApplication.objects.filter(code=self.codes["Barriers"], is_exemplar=False).first()
        url = reverse("review_exemplar", args=[self.project.slug, application.pk])
        for user in (self.coder, self.reader):
            self.client.force_login(user)
            self.assertEqual(self.client.post(url, {"exemplar": "1"}).status_code, 403)
        application.refresh_from_db()
        assert not application.is_exemplar
        self.client.force_login(self.lead)
        response = self.client.post(url, {"exemplar": "1"}, headers={"HX-Request": "true"})
        self.assertContains(response, f'id="exemplar-{application.pk}"')
        self.assertContains(response, 'aria-pressed="true"')
        assert "<html" not in response.content.decode()
        application.refresh_from_db()
        assert application.is_exemplar
        quotes = review.quotes_for_code(
            self.project, review.ReviewFilters(), review.Tree.load(self.project), self.codes["Barriers"], subthemes=False
        )
        assert quotes[0].pk == application.excerpt_id or quotes[0].exemplar
        back = reverse("review_quotes", args=[self.project.slug, self.codes["Barriers"].pk]) + "?subthemes=0"
        response = self.client.post(url, {"exemplar": "0", "back": back})
        self.assertRedirects(response, back)
        application.refresh_from_db()
        assert not application.is_exemplar
        verbs = list(AuditEvent.objects.filter(object_type="codeapplication", object_id=str(application.pk)).values_list("verb", flat=True))
        self.assertEqual(verbs, ["exemplar.unmarked", "exemplar.marked"])

    def test_the_quotes_page_offers_copy_with_citation_and_opens_the_transcript_at_the_excerpt(self):
        self.client.force_login(self.reader)
        code = self.codes["Coping"]
        response = self.client.get(reverse("review_quotes", args=[self.project.slug, code.pk]))
        first = Excerpt.objects.select_related("transcript__participant").get(pk=response.context["quotes"][0].pk)
        who = first.transcript.participant.label if first.transcript.participant else first.transcript.title
        line = first.transcript.text.count("\n", 0, first.start) + 1
        self.assertContains(response, f"{who}, line {line}")
        self.assertContains(response, f'data-copy="“{escape(first.quote)}” ({escape(who)}, line {line})"')
        self.assertContains(response, f'{reverse("transcript_detail", args=[first.transcript_id])}?excerpt={first.pk}')
        self.assertContains(response, 'class="button small copy-quote"')
        self.assertNotContains(response, "Mark as exemplar")  # readers do not mark

    def test_a_code_of_another_project_is_404_on_the_quotes_page(self):
        self.client.force_login(self.lead)
        other = self.small[4]["Coping"]
        self.assertEqual(self.client.get(reverse("review_quotes", args=[self.project.slug, other.pk])).status_code, 404)
        self.assertEqual(
            self.client.get(reverse("review_cooccurrence_detail", args=[self.project.slug, other.pk, other.pk])).status_code, 404
        )

    def test_the_participant_matrix_comes_a_page_of_participants_at_a_time(self):
        self.client.force_login(self.reader)
        url = reverse("review_matrix", args=[self.project.slug])
        with mock.patch("transcripts.views.review.MATRIX_COLUMNS_PER_PAGE", 2):
            response = self.client.get(url, {"no_interviewer": "1", "page": "2"})
        matrix = response.context["matrix"]
        assert matrix.pages > 2 and matrix.page == 2 and len(matrix.columns) == 2
        body = response.content.decode()
        self.assertIn(f"Participants 3–4 of {matrix.n_columns} with coded excerpts", body)
        self.assertIn('href="?no_interviewer=1&amp;page=1"', body)
        self.assertIn('href="?no_interviewer=1&amp;page=3"', body)
        self.assertEqual(body.count('<th scope="col" class="col-head">'), 2)
        # Without paging there is no note, and the attribute matrix is never paged.
        response = self.client.get(url)
        self.assertNotContains(response, "Next participants")
        attribute = self.project.attributes.get(name="organization")
        with mock.patch("transcripts.views.review.MATRIX_COLUMNS_PER_PAGE", 1):
            response = self.client.get(url, {"attribute": attribute.pk, "page": "2"})
        self.assertNotContains(response, "Next participants")

    def test_long_lists_in_the_filter_form_are_one_list_box_and_keep_their_names(self):
        self.client.force_login(self.reader)
        participant = self.project.participants.order_by("label").last()
        url = reverse("review_summary", args=[self.project.slug])
        response = self.client.get(url, {"participant": participant.pk})
        self.assertContains(response, f'name="participant" value="{participant.pk}" checked')
        with mock.patch("transcripts.views.review.MAX_CHECKBOXES", 1):
            body = self.client.get(url, {"participant": participant.pk}).content.decode()
        self.assertIn('<select multiple name="participant" id="filter-participant"', body)
        self.assertIn(f'<option value="{participant.pk}" selected>{escape(participant.label)}</option>', body)
        self.assertIn('<select multiple name="transcript" id="filter-transcript"', body)
        self.assertNotIn('type="checkbox" name="participant"', body)
        self.assertIn(f"participant={participant.pk}", body)  # the links still carry the filter
