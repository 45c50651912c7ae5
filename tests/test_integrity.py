"""Excerpt integrity: the check, its command, and properties of offsets through coding."""

import io

from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from tests.base import BaseTestCase, make_code, make_excerpt, make_project, make_transcript, make_user
from transcripts import actions, spans
from transcripts.integrity import check_excerpts
from transcripts.models import Excerpt


class IntegrityCheckTests(BaseTestCase):
    def test_a_clean_database_passes(self):
        make_excerpt(self.transcript, [self.code], start=0, end=12)
        out = io.StringIO()
        call_command("verify_excerpts", stdout=out)
        self.assertIn("1 excerpts checked, 0 problems", out.getvalue())

    def test_a_quote_changed_outside_the_app_is_reported(self):
        excerpt = make_excerpt(self.transcript, [self.code], start=0, end=12)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_excerpt SET quote = %s WHERE id = %s", ["tampered", excerpt.pk])
        checked, problems = check_excerpts()
        self.assertEqual((checked, [p.excerpt_id for p in problems]), (1, [excerpt.pk]))
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("verify_excerpts", "--project", self.project.slug, stdout=out)
        self.assertIn(f"excerpt {excerpt.pk}", out.getvalue())


awkward_text = st.text(
    alphabet=st.sampled_from(list("ab cé\u0301\n\t💪🏽ש:-")) | st.characters(codec="utf-8"), min_size=2, max_size=300
)


class OffsetPropertyTests(HypothesisTestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(raw=awkward_text, data=st.data())
    def test_offsets_stay_true_through_coding_and_boundary_changes(self, raw, data):
        lead = make_user(f"lead{Excerpt.objects.count()}-{len(raw)}-{data.draw(st.integers(0, 10**9))}")
        project = make_project(lead, slug=f"p{lead.pk}")
        text = spans.normalize_text(raw)
        if len(text) < 2:
            return
        transcript = make_transcript(project, text=text)
        code = make_code(project)
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start + 1, len(text)))
        excerpt = actions.create_excerpt(transcript, start=start, end=end, codes=[code], by=lead)
        self.assertEqual(excerpt.quote, text[start:end])
        # Through the browser's UTF-16 units and back.
        units = (spans.codepoint_to_utf16(text, start), spans.codepoint_to_utf16(text, end))
        self.assertEqual((spans.utf16_to_codepoint(text, units[0]), spans.utf16_to_codepoint(text, units[1])), (start, end))
        new_start = data.draw(st.integers(0, len(text) - 1))
        new_end = data.draw(st.integers(new_start + 1, len(text)))
        actions.change_excerpt(excerpt, by=lead, expected_version=1, start=new_start, end=new_end)
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.quote, text[new_start:new_end])
        snapped = spans.snap_to_words(text, new_start, new_end)
        self.assertTrue(0 <= snapped[0] <= snapped[1] <= len(text))
        self.assertEqual(check_excerpts(project.transcripts.all())[1], [])


class MergeAndExportPropertyTests(HypothesisTestCase):
    """Offsets and quotes stay true through a codebook merge and into the exported data."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(raw=awkward_text, data=st.data())
    def test_merged_and_exported_excerpts_still_quote_the_text_exactly(self, raw, data):
        from transcripts import review
        from transcripts.review import reports

        text = spans.normalize_text(raw)
        if len(text) < 2:
            return
        lead = make_user(f"merger{data.draw(st.integers(0, 10**9))}")
        project = make_project(lead, slug=f"m{lead.pk}")
        transcript = make_transcript(project, text=text)
        source, target = make_code(project, name="Source"), make_code(project, name="Target")
        spans_drawn = data.draw(
            st.lists(st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text))), min_size=1, max_size=6)
        )
        made = []
        for start, length in spans_drawn:
            end = min(len(text), start + length)
            if end <= start:
                continue
            codes = data.draw(st.sampled_from([[source], [target], [source, target]]))
            made.append(actions.create_excerpt(transcript, start=start, end=end, codes=codes, by=lead))
        actions.merge_codes(source, target, by=lead)
        self.assertEqual(Excerpt.objects.filter(transcript=transcript).count(), len(made))
        self.assertEqual(check_excerpts(project.transcripts.all())[1], [])
        for excerpt in made:
            self.assertEqual(list(Excerpt.objects.get(pk=excerpt.pk).codes.values_list("name", flat=True)), ["Target"])
        filters = review.ReviewFilters.from_query({}, review.FilterOptions.load(project))
        header, *rows = reports.excerpt_rows(project, filters, review.Tree.load(project))
        start_at, end_at, text_at = header.index("start"), header.index("end"), header.index("text")
        self.assertEqual(len(rows), len(made))
        for row in rows:
            self.assertEqual(row[text_at], text[row[start_at] : row[end_at]])
