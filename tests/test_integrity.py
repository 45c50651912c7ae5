"""Excerpt integrity: the check, its command, and properties of offsets through coding."""

import io

from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from tests.base import BaseTestCase, make_code, make_excerpt, make_project, make_transcript, make_user
from transcripts import actions, integrity, review, spans
from transcripts.integrity import check_excerpts
from transcripts.models import CodeApplication, Excerpt
from transcripts.review import reports


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



class TrailComparisonTests(BaseTestCase):
    """verify_excerpts compares each excerpt with what the audit trail last recorded for it."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.excerpt = make_excerpt(cls.transcript, [cls.code], start=0, end=12, memo="first", by=cls.bob)

    def assert_reported(self, excerpt_id: int, words: str) -> None:
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("verify_excerpts", stdout=out)
        self.assertIn(f"excerpt {excerpt_id} ", out.getvalue())
        self.assertIn(words, out.getvalue())

    def test_bounds_and_quote_moved_together_by_sql_are_reported(self):
        text = self.transcript.text
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE transcripts_excerpt SET start = %s, \"end\" = %s, quote = %s WHERE id = %s",
                [13, 30, text[13:30], self.excerpt.pk],
            )
        self.assertEqual(check_excerpts()[1], [])  # the quote still matches the text
        self.assert_reported(self.excerpt.pk, "start, end, quote")

    def test_a_memo_changed_by_sql_is_reported(self):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_excerpt SET memo = %s WHERE id = %s", ["rewritten", self.excerpt.pk])
        self.assert_reported(self.excerpt.pk, "memo")

    def test_codes_changed_by_sql_are_reported(self):
        other = make_code(self.project, name="Hope")
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_codeapplication SET code_id = %s WHERE excerpt_id = %s", [other.pk, self.excerpt.pk])
        self.assert_reported(self.excerpt.pk, "codes")

    def test_excerpts_added_or_removed_by_sql_are_reported(self):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM transcripts_codeapplication WHERE excerpt_id = %s", [self.excerpt.pk])
            cursor.execute("DELETE FROM transcripts_excerpt WHERE id = %s", [self.excerpt.pk])
        self.assert_reported(self.excerpt.pk, "deleted without a record")
        sneaked = Excerpt(transcript=self.transcript, start=0, end=12, coder=self.bob)
        sneaked.save()  # Excerpt.save() records nothing: only actions do
        CodeApplication.objects.create(excerpt=sneaked, code=self.code, applied_by=self.bob)
        self.assert_reported(sneaked.pk, "no record")

    def test_coding_through_the_app_matches_the_trail(self):
        hope, fear = make_code(self.project, name="Hope"), make_code(self.project, name="Fear")
        moved = actions.change_excerpt(self.excerpt, by=self.bob, expected_version=1, start=2, end=20, memo="second", codes=[hope])
        actions.undo_last(self.transcript, by=self.bob)
        second = make_excerpt(self.transcript, [hope, fear], start=30, end=40, by=self.bob)
        actions.delete_excerpt(second, by=self.bob)
        actions.undo_last(self.transcript, by=self.bob)  # restores it under a new id
        third = make_excerpt(self.transcript, [fear], start=5, end=9)
        actions.undo_last(self.transcript, by=self.alice)  # removes it again
        fourth = make_excerpt(self.transcript, [fear, self.code], start=1, end=9)
        actions.merge_codes(fear, hope, by=self.alice)
        actions.delete_code(self.code, by=self.alice, confirmed=True)
        actions.settle_consensus(
            self.transcript, originals=[moved], versions=[(0, 12, [hope])], choice="new", note="agreed", by=self.alice
        )
        other = make_transcript(self.project, title="Interview 9")
        make_excerpt(other, [hope], start=0, end=5)
        actions.delete_transcript(other, by=self.alice, confirmed=True)
        assert not Excerpt.objects.filter(pk__in=[third.pk]).exists()
        assert Excerpt.objects.filter(pk=fourth.pk).exists()
        self.assertEqual(integrity.check_against_trail(), [])
        out = io.StringIO()
        call_command("verify_excerpts", "--project", self.project.slug, stdout=out)
        self.assertIn("0 problems", out.getvalue())


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
        made, seen = [], set()
        for start, length in spans_drawn:
            end = min(len(text), start + length)
            if end <= start or (start, end) in seen:  # one coder cannot code a span twice with a code
                continue
            seen.add((start, end))
            codes = data.draw(st.sampled_from([[source], [target], [source, target]]))
            made.append(actions.create_excerpt(transcript, start=start, end=end, codes=codes, by=lead))
        actions.merge_codes(source, target, by=lead)
        self.assertEqual(Excerpt.objects.filter(transcript=transcript).count(), len(made))
        self.assertEqual(check_excerpts(project.transcripts.all())[1], [])
        self.assertEqual(integrity.check_against_trail(project), [])
        for excerpt in made:
            self.assertEqual(list(Excerpt.objects.get(pk=excerpt.pk).codes.values_list("name", flat=True)), ["Target"])
        filters = review.ReviewFilters.from_query({}, review.FilterOptions.load(project))
        header, *rows = reports.excerpt_rows(project, filters, review.Tree.load(project))
        start_at, end_at, text_at = header.index("start"), header.index("end"), header.index("text")
        self.assertEqual(len(rows), len(made))
        for row in rows:
            self.assertEqual(row[text_at], text[row[start_at] : row[end_at]])
