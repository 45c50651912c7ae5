"""The review counts kept as coding changes (transcripts/actions/counts.py) are the counts from
scratch after any sequence of writes: excerpts created, recoded, moved, deleted, undone and
restored, consensus settled, codes moved, merged and deleted, transcripts deleted, transcripts
given a participant by a sheet.

Each sequence is checked three ways: the stored tallies against a count made here in Python from
the excerpts; the theme summary, the participant matrix and the co-occurrence matrix read from
the kept counts against the same pages counted from the coding (the project's counts switched
off); and a recount from scratch, which must leave every figure where it was.
"""

from __future__ import annotations

import io
from collections import Counter

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from tests.base import BaseTestCase, make_code, make_participant, make_project, make_transcript, make_user
from transcripts import actions, codebook, review
from transcripts.actions import counts
from transcripts.models import (
    Code,
    CodeApplication,
    CodeTally,
    CountsReady,
    Excerpt,
    Membership,
    ThemeTotal,
    visible_excerpts_q,
)

TEXT = " ".join(f"word{n}" for n in range(60))  # 419 characters
OPERATIONS = (
    "create", "create", "create", "recode", "move", "delete", "undo", "consensus",
    "move code", "merge codes", "delete code", "delete transcript", "participant sheet",
)
steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000)),
    max_size=14,
)


def stored_tallies(project) -> Counter:
    return Counter(
        {
            (code, subthemes, kind, key): n
            for code, subthemes, kind, key, n in CodeTally.objects.filter(project=project).values_list(
                "code_id", "subthemes", "kind", "key", "n"
            )
            if n
        }
    )


def counted_here(project) -> Counter:
    """The tallies, counted in Python from the excerpts as they are (pairs from review/matrices.py)."""
    parents = dict(Code.objects.filter(project=project).values_list("pk", "parent_id"))
    codes: dict[int, list[int]] = {}
    for excerpt_id, code_id in CodeApplication.objects.filter(code__project=project).values_list("excerpt_id", "code_id"):
        codes.setdefault(excerpt_id, []).append(code_id)
    found: Counter = Counter()
    for excerpt in Excerpt.objects.filter(transcript__project=project).select_related("transcript"):
        own = codes.get(excerpt.pk, [])
        above = set()
        for code in own:
            while code is not None:
                above.add(code)
                code = parents[code]
        keys = [("t", excerpt.transcript_id), ("c", excerpt.coder_id)]
        if excerpt.transcript.participant_id:
            keys.append(("p", excerpt.transcript.participant_id))
        for kind, key in keys:
            found.update((code, False, kind, key) for code in own)
            found.update((code, True, kind, key) for code in above)
    pairs = review.cooccurrence_counts(project, review.ReviewFilters())
    found.update({(a, False, "x", b): n for (a, b), n in pairs.items() if a < b})
    return found


class KeptCountsTests(HypothesisTestCase):
    def build(self) -> None:
        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.project = make_project(self.alice)
        actions.set_role(self.project, self.bob, Membership.Role.CODER, by=self.alice)
        first, second = make_code(self.project, name="Support"), make_code(self.project, name="Work")
        below = make_code(self.project, name="Peers", parent=first)
        make_code(self.project, name="Family", parent=first)
        make_code(self.project, name="Group chat", parent=below)
        make_code(self.project, name="Pay", parent=second)
        self.transcripts = [
            make_transcript(self.project, title="P01", text=TEXT, participant=make_participant(self.project, label="P01")),
            make_transcript(self.project, title="P02", text=TEXT, participant=make_participant(self.project, label="P02")),
            make_transcript(self.project, title="P03 interview", text=TEXT),
        ]

    def step(self, operation: str, a: int, b: int, c: int) -> None:
        codes = list(Code.objects.filter(project=self.project).order_by("pk"))
        excerpts = list(Excerpt.objects.filter(transcript__project=self.project).order_by("pk"))
        transcripts = list(self.project.transcripts.order_by("pk"))
        coder = (self.alice, self.bob)[a % 2]
        chosen = list({codes[i % len(codes)] for i in (b, b // 7 + c)}) if codes else []
        start, length = c % 380, 1 + a % 40
        if operation == "create" and transcripts and chosen:
            actions.create_excerpt(transcripts[b % len(transcripts)], start=start, end=start + length, codes=chosen[: 1 + c % 2], by=coder)
        elif operation in ("recode", "move", "delete") and excerpts:
            excerpt = excerpts[a % len(excerpts)]
            if operation == "delete":
                actions.delete_excerpt(excerpt, by=excerpt.coder)
            elif operation == "recode" and chosen:
                actions.change_excerpt(excerpt, by=excerpt.coder, expected_version=excerpt.version, codes=chosen)
            else:
                actions.change_excerpt(excerpt, by=excerpt.coder, expected_version=excerpt.version, start=start, end=start + length)
        elif operation == "undo" and transcripts:
            actions.undo_last(transcripts[b % len(transcripts)], by=coder)
        elif operation == "consensus" and transcripts and chosen:
            actions.settle_consensus(
                transcripts[b % len(transcripts)], originals=[], versions=[(start, start + length, chosen)],
                choice="new", note="Settled.", by=self.alice,
            )
        else:
            self.step_on_codes_and_transcripts(operation, a, b, codes, transcripts)

    def step_on_codes_and_transcripts(self, operation: str, a: int, b: int, codes: list, transcripts: list) -> None:
        if operation == "move code" and codes:
            code = codes[a % len(codes)]
            under = review.Tree(codes).subtree(code.pk)
            parents = [None] + [other for other in codes if other.pk not in under]
            actions.move_code(code, parents[b % len(parents)], by=self.alice)
        elif operation == "merge codes" and len(codes) > 1:
            actions.merge_codes(codes[a % len(codes)], codes[b % len(codes)], by=self.alice)
        elif operation == "delete code" and codes:
            actions.delete_code(codes[a % len(codes)], by=self.alice, confirmed=True)
        elif operation == "delete transcript" and transcripts:
            actions.delete_transcript(transcripts[a % len(transcripts)], by=self.alice, confirmed=True)
        elif operation == "participant sheet":
            sheet = actions.read_participant_sheet("people.csv", b"participant,age\nP03,41\n")
            actions.import_participant_sheet(self.project, sheet, by=self.alice)

    def pages(self) -> tuple:
        filters, tree = review.ReviewFilters(), review.Tree.load(self.project)
        options = review.FilterOptions.load(self.project)
        summary = [(row.code.pk, row.own, row.total) for row in review.theme_summary(self.project, filters, tree)]
        matrix = review.participant_matrix(self.project, filters, tree, options, per_page=2)
        cells = [(code.pk, [cell["n"] for cell in row]) for code, row in matrix.rows]
        pairs = [[cell["n"] for cell in row] for row in review.cooccurrence(self.project, filters, tree).cells]
        lead = Membership.objects.select_related("project").get(project=self.project, user=self.alice)
        tree_counts = [
            (code.pk, code.depth, code.n_excerpts, code.n_transcripts, code.n_participants)
            for code in codebook.load_tree(self.project, lead)
        ]
        return summary, cells, [column.key for column in matrix.columns], matrix.n_columns, pairs, tree_counts

    def totals(self) -> dict:
        return {
            (code, subthemes): figures
            for code, subthemes, *figures in ThemeTotal.objects.filter(project=self.project).values_list(
                "code_id", "subthemes", "excerpts", "transcripts", "participants", "coders"
            )
            if figures[0]
        }

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps)
    def test_kept_counts_equal_a_recount_from_scratch_after_any_writes(self, sequence):
        self.build()
        for operation, a, b, c in sequence:
            try:
                self.step(operation, a, b, c)
            except ValidationError:
                pass  # refused as a whole (a duplicate, a merge into its own subtheme): nothing changed
        assert CountsReady.objects.filter(project=self.project).exists()
        assert not CodeTally.objects.filter(project=self.project, n__lt=0).exists()
        assert stored_tallies(self.project) == counted_here(self.project)
        kept_pages, kept_totals = self.pages(), self.totals()
        CountsReady.objects.filter(project=self.project).delete()  # the pages count from the coding
        assert self.pages() == kept_pages
        counts.recount(self.project)
        assert stored_tallies(self.project) == counted_here(self.project)
        assert self.totals() == kept_totals
        assert self.pages() == kept_pages

    def test_a_project_whose_counts_are_not_kept_is_counted_from_the_coding(self):
        self.build()
        code = Code.objects.get(name="Peers")
        actions.create_excerpt(self.transcripts[0], start=0, end=20, codes=[code], by=self.bob)
        CountsReady.objects.filter(project=self.project).delete()
        actions.create_excerpt(self.transcripts[1], start=0, end=20, codes=[code], by=self.bob)
        # The write left the counts alone: nothing tells the pages they are exact any more.
        assert ThemeTotal.objects.get(code=code, subthemes=False).excerpts == 1
        rows = {row.code.pk: row for row in review.theme_summary(self.project, review.ReviewFilters(), review.Tree.load(self.project))}
        assert rows[code.pk].own.excerpts == 2
        assert rows[code.parent_id].total.participants == 2
        counts.recount(self.project)
        assert ThemeTotal.objects.get(code=code, subthemes=False).excerpts == 2

    def test_filters_and_blind_coding_are_counted_from_the_coding(self):
        self.build()
        code = Code.objects.get(name="Pay")
        actions.create_excerpt(self.transcripts[0], start=0, end=20, codes=[code], by=self.bob)
        actions.create_excerpt(self.transcripts[1], start=0, end=20, codes=[code], by=self.alice)
        # Kept counts that were wrong would show here; the filtered pages do not read them.
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {ThemeTotal._meta.db_table} SET excerpts = 99")
        tree, options = review.Tree.load(self.project), review.FilterOptions.load(self.project)
        by_bob = review.ReviewFilters.from_query({"coder": str(self.bob.pk)}, options)
        rows = {row.code.pk: row for row in review.theme_summary(self.project, by_bob, tree)}
        assert rows[code.pk].own.excerpts == 1
        self.project.blind_coding = True
        self.project.save(update_fields=["blind_coding"])
        bob = Membership.objects.select_related("project").get(project=self.project, user=self.bob)
        blind = review.ReviewFilters(visible=visible_excerpts_q(bob))
        rows = {row.code.pk: row for row in review.theme_summary(self.project, blind, tree)}
        assert rows[code.pk].own.excerpts == 1
        rows = {row.code.pk: row for row in review.theme_summary(self.project, review.ReviewFilters(), tree)}
        assert rows[code.pk].own.excerpts == 99  # the unfiltered lead's view reads the kept figure
        # The codebook's counts alike: the lead's read the kept figure, a blind coder's the coding.
        lead = Membership.objects.select_related("project").get(project=self.project, user=self.alice)
        assert {c.pk: c.n_excerpts for c in codebook.load_tree(self.project, lead)}[code.pk] == 99
        assert {c.pk: c.n_excerpts for c in codebook.load_tree(self.project, bob)}[code.pk] == 1



class PastTheActionsTests(BaseTestCase):
    def test_an_edit_in_the_admin_stops_the_kept_counts_until_a_recount(self):
        code = make_code(self.project, name="Pay")
        excerpt = actions.create_excerpt(self.transcript, start=0, end=12, codes=[code], by=self.alice)
        self.alice.is_staff = self.alice.is_superuser = True
        self.alice.save(update_fields=["is_staff", "is_superuser"])
        self.client.force_login(self.alice)
        response = self.client.post(reverse("admin:transcripts_excerpt_delete", args=[excerpt.pk]), {"post": "yes"})
        assert response.status_code == 302
        assert not CountsReady.objects.filter(project=self.project).exists()
        tree = review.Tree.load(self.project)
        rows = {row.code.pk: row for row in review.theme_summary(self.project, review.ReviewFilters(), tree)}
        assert rows[code.pk].own.excerpts == 0  # counted from the coding, not the stale kept count
        out = io.StringIO()
        call_command("recount_review_counts", project=self.project.slug, stdout=out)
        assert "peer-workers: counted" in out.getvalue()
        assert CountsReady.objects.filter(project=self.project).exists()
        assert stored_tallies(self.project) == counted_here(self.project)

    def test_migrating_counts_every_project_not_counted_yet(self):
        code = make_code(self.project, name="Pay")
        actions.create_excerpt(self.transcript, start=0, end=12, codes=[code], by=self.alice)
        CountsReady.objects.filter(project=self.project).delete()
        for model in (CodeTally, ThemeTotal):
            model.objects.filter(project=self.project).delete()
        call_command("migrate", verbosity=0)  # nothing left to apply; the counting runs after it all the same
        assert CountsReady.objects.filter(project=self.project).exists()
        assert stored_tallies(self.project) == counted_here(self.project)
