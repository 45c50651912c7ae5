"""Every review figure agrees with a brute-force computation over the same excerpts."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.http import QueryDict
from django.test import TestCase
from django.utils import timezone

from tests.base import make_code, make_project, make_user
from tests.review_study import Oracle, build_study
from transcripts import actions, review
from transcripts.models import Attribute, Membership


class ReviewCountTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_user("alice")
        cls.bob = make_user("bob")
        cls.carol = make_user("carol")
        cls.project = make_project(cls.alice)
        for user in (cls.bob, cls.carol):
            actions.set_role(cls.project, user, Membership.Role.CODER, by=cls.alice)
        cls.codes = build_study(cls.project, [cls.alice, cls.bob, cls.carol], n_transcripts=6, n_excerpts=80)
        cls.other = make_project(make_user("oscar"), name="Other", slug="other")
        cls.other_code = make_code(cls.other, name="Elsewhere")

    def setUp(self) -> None:
        self.oracle = Oracle(self.project)
        self.options = review.FilterOptions.load(self.project)
        self.tree = review.Tree.load(self.project)
        self.attributes = {a.name: a for a in self.project.attributes.all()}

    def cases(self) -> list[tuple[str, dict, dict]]:
        """(name, query string, oracle spec) for every kind of filter, alone and together."""
        org, years, recovery, since = (self.attributes[n] for n in ("organization", "years", "in recovery", "since"))
        first, second = [t.pk for t in self.options.transcripts[:2]]
        today = timezone.localdate()
        return [
            ("nothing", {}, {}),
            ("coder", {"coder": [self.bob.pk]}, {"coders": {self.bob.pk}}),
            ("two coders", {"coder": [self.bob.pk, self.carol.pk]}, {"coders": {self.bob.pk, self.carol.pk}}),
            ("choice", {f"a{org.pk}": ["Clinic"]}, {"attributes": {org.pk: lambda v: v[0] == "Clinic"}}),
            ("two choices", {f"a{org.pk}": ["Clinic", "Hospital"]},
             {"attributes": {org.pk: lambda v: v[0] in ("Clinic", "Hospital")}}),
            ("text (P02 has none)", {f"a{recovery.pk}": ["no"]}, {"attributes": {recovery.pk: lambda v: v[0] == "no"}}),
            ("number range", {f"a{years.pk}_min": ["2"], f"a{years.pk}_max": ["4"]},
             {"attributes": {years.pk: lambda v: Decimal(2) <= v[1] <= Decimal(4)}}),
            ("number floor", {f"a{years.pk}_min": ["3"]}, {"attributes": {years.pk: lambda v: v[1] >= 3}}),
            ("date range", {f"a{since.pk}_min": ["2020-02-01"], f"a{since.pk}_max": ["2020-04-30"]},
             {"attributes": {since.pk: lambda v: datetime.date(2020, 2, 1) <= v[2] <= datetime.date(2020, 4, 30)}}),
            ("transcripts", {"transcript": [first, second]}, {"transcripts": {first, second}}),
            ("coded since", {"coded_from": [(today - datetime.timedelta(days=15)).isoformat()]},
             {"from": today - datetime.timedelta(days=15)}),
            ("coded until", {"coded_to": [(today - datetime.timedelta(days=5)).isoformat()]},
             {"to": today - datetime.timedelta(days=5)}),
            ("no interviewer", {"no_interviewer": ["1"]}, {"no_interviewer": True}),
            ("together", {"coder": [self.alice.pk, self.carol.pk], f"a{years.pk}_min": ["2"], "no_interviewer": ["1"]},
             {"coders": {self.alice.pk, self.carol.pk}, "attributes": {years.pk: lambda v: v[1] >= 2},
              "no_interviewer": True}),
        ]

    def filters(self, query: dict) -> review.ReviewFilters:
        data = QueryDict(mutable=True)
        for key, values in query.items():
            data.setlist(key, [str(v) for v in values])
        return review.ReviewFilters.from_query(data, self.options)

    def test_the_fixture_has_what_the_counts_must_survive(self):
        rows = self.oracle.rows
        excerpts = {r.excerpt for r in rows}
        assert len(rows) > len(excerpts)  # some excerpts carry two codes
        assert self.oracle.pairs(rows)  # some overlap
        assert len(self.oracle.kept({"no_interviewer": True})) < len(rows)
        assert len({r.coder for r in rows}) == 3
        assert len({r.day for r in rows}) == 3
        assert any(r.participant is None for r in rows)

    def test_theme_summary_counts_match_the_oracle_for_every_filter(self):
        for name, query, spec in self.cases():
            with self.subTest(filters=name):
                kept = self.oracle.kept(spec)
                assert kept, name
                rows = review.theme_summary(self.project, self.filters(query), self.tree)
                for row in rows:
                    own = self.oracle.counts(kept, {row.code.pk})
                    total = self.oracle.counts(kept, self.oracle.under(row.code.pk))
                    self.assertEqual(vars(row.own), own, f"{name}: {row.code}")
                    self.assertEqual(vars(row.total), total, f"{name}: {row.code} with subthemes")

    def test_a_participant_coded_under_two_subthemes_counts_once_for_the_theme(self):
        rows = {row.code.name: row for row in review.theme_summary(self.project, review.ReviewFilters(), self.tree)}
        coping = rows["Coping"]
        parts = sum(rows[n].own.participants for n in ("Coping", "Community", "Group chat", "Boundaries"))
        assert coping.total.participants < parts
        assert coping.total.participants <= len(self.options.participants)

    def test_quotes_are_the_oracles_excerpts_with_exemplars_first(self):
        for name, query, spec in self.cases()[:8]:
            kept = self.oracle.kept(spec)
            for code in self.tree.codes:
                for subthemes in (False, True):
                    wanted = self.oracle.under(code.pk) if subthemes else {code.pk}
                    with self.subTest(filters=name, code=code.name, subthemes=subthemes):
                        quotes = review.quotes_for_code(self.project, self.filters(query), self.tree, code, subthemes=subthemes)
                        self.assertEqual({q.pk for q in quotes}, {r.excerpt for r in kept if r.code in wanted})
                        flags = [q.exemplar for q in quotes]
                        self.assertEqual(flags, sorted(flags, reverse=True))

    def test_quotes_know_their_line_and_speaker(self):
        quotes = review.quotes_for_code(self.project, review.ReviewFilters(), self.tree, self.codes["Coping"], subthemes=True)
        transcripts = {t.pk: t for t in self.project.transcripts.prefetch_related("turns")}
        assert quotes
        for quote in quotes:
            transcript = transcripts[quote.transcript_id]
            self.assertEqual(quote.line, transcript.text.count("\n", 0, quote.start) + 1)
            covering = [t.speaker for t in transcript.turns.all() if t.start <= quote.start < t.end]
            self.assertEqual(quote.speaker, covering[0] if covering else None)
            assert review.citation(quote).endswith(f"line {quote.line}")

    def test_the_participant_and_attribute_matrices_match_the_oracle(self):
        org = self.attributes["organization"]
        for name, query, spec in self.cases():
            with self.subTest(filters=name):
                kept = self.oracle.kept(spec)
                filters = self.filters(query)
                matrix = review.participant_matrix(self.project, filters, self.tree, self.options)
                for code, cells in matrix.rows:
                    under = self.oracle.under(code.pk)
                    for column, cell in zip(matrix.columns, cells):
                        rows = [r for r in kept if r.participant == column.key]
                        self.assertEqual(cell["n"], self.oracle.counts(rows, under)["excerpts"])
                shown = {c.key for c in matrix.columns}
                self.assertEqual(shown, {r.participant for r in kept if r.participant})
                matrix = review.attribute_matrix(self.project, filters, self.tree, org)
                for code, cells in matrix.rows:
                    under = self.oracle.under(code.pk)
                    for column, cell in zip(matrix.columns, cells):
                        rows = [r for r in kept if self.oracle.values.get((r.participant, org.pk), ("",))[0] == column.key]
                        counts = self.oracle.counts(rows, under)
                        self.assertEqual((cell["n"], cell["people"]), (counts["excerpts"], counts["participants"]))

    def test_the_participant_matrix_pages_its_columns_and_every_page_matches_the_oracle(self):
        for name, query, spec in self.cases():
            with self.subTest(filters=name):
                kept = self.oracle.kept(spec)
                filters = self.filters(query)
                present = {r.participant for r in kept if r.participant}
                seen = []
                first = review.participant_matrix(self.project, filters, self.tree, self.options, page=1, per_page=2)
                self.assertEqual((first.n_columns, first.pages), (len(present), -(-len(present) // 2)))
                for number in range(1, first.pages + 1):
                    matrix = review.participant_matrix(self.project, filters, self.tree, self.options, page=number, per_page=2)
                    self.assertEqual((matrix.page, matrix.first), (number, 2 * number - 1))
                    assert 1 <= len(matrix.columns) <= 2
                    for code, cells in matrix.rows:
                        under = self.oracle.under(code.pk)
                        for column, cell in zip(matrix.columns, cells):
                            rows = [r for r in kept if r.participant == column.key]
                            self.assertEqual(cell["n"], self.oracle.counts(rows, under)["excerpts"])
                    seen += [c.key for c in matrix.columns]
                self.assertEqual(seen, [p.pk for p in self.options.participants if p.pk in present])  # label order, once each
                beyond = review.participant_matrix(self.project, filters, self.tree, self.options, page=99, per_page=2)
                self.assertEqual(beyond.page, first.pages)  # a page past the end shows the last one

    def test_cooccurrence_counts_match_the_oracle(self):
        for name, query, spec in self.cases():
            with self.subTest(filters=name):
                pairs = self.oracle.pairs(self.oracle.kept(spec))
                result = review.cooccurrence(self.project, self.filters(query), self.tree)
                for a, row in zip(result.codes, result.cells):
                    for cell in row:
                        if not cell["same"]:
                            self.assertEqual(cell["n"], pairs.get((a.pk, cell["other"].pk), 0), f"{a} × {cell['other']}")
                assert result.most == max(pairs.values(), default=0)

    def test_cooccurrence_is_symmetric_and_drills_down_to_the_same_number_of_passages(self):
        result = review.cooccurrence(self.project, review.ReviewFilters(), self.tree)
        index = {code.pk: i for i, code in enumerate(result.codes)}
        busiest = None
        for i, row in enumerate(result.cells):
            for cell in row:
                self.assertEqual(cell["n"], result.cells[index[cell["other"].pk]][i]["n"])
                if busiest is None or cell["n"] > busiest[2]:
                    busiest = (result.codes[i], cell["other"], cell["n"])
        a, b, n = busiest
        passages = review.shared_passages(self.project, review.ReviewFilters(), a, b)
        self.assertEqual(len(passages), n)
        for passage in passages:
            assert passage.shared and passage.shared in passage.a.quote and passage.shared in passage.b.quote

    def test_and_and_not_split_the_excerpts_of_a_by_overlap_with_b(self):
        for name, query, spec in self.cases():
            kept = self.oracle.kept(spec)
            for a_name, b_name in [("Coping", "Supports"), ("Community", "Boundaries"), ("Barriers", "Coping")]:
                for subthemes in (False, True):
                    a, b = self.codes[a_name], self.codes[b_name]
                    a_ids = self.oracle.under(a.pk) if subthemes else {a.pk}
                    b_ids = self.oracle.under(b.pk) if subthemes else {b.pk}
                    coded_a = {r.excerpt: r for r in kept if r.code in a_ids}
                    coded_b = [r for r in kept if r.code in b_ids]
                    both = {
                        e for e, r in coded_a.items()
                        if any(y.transcript == r.transcript and y.start < r.end and r.start < y.end for y in coded_b)
                    }
                    with self.subTest(filters=name, a=a_name, b=b_name, subthemes=subthemes):
                        filters = self.filters(query)
                        got_and = review.coded_a_and_b(self.project, filters, self.tree, a, b, negate=False, subthemes=subthemes)
                        got_not = review.coded_a_and_b(self.project, filters, self.tree, a, b, negate=True, subthemes=subthemes)
                        self.assertEqual({e.pk for e in got_and}, both)
                        self.assertEqual({e.pk for e in got_not}, set(coded_a) - both)

    def test_ids_and_values_from_elsewhere_are_ignored(self):
        other_attribute = Attribute.objects.create(project=self.other, name="secret", kind="text")
        query = QueryDict(
            f"coder={self.other.created_by.pk}&transcript=999999&participant=abc&a{other_attribute.pk}=x"
            "&coded_from=yesterday&a999=1&no_interviewer=maybe"
        )
        filters = review.ReviewFilters.from_query(query, self.options)
        self.assertEqual(filters, review.ReviewFilters())
        self.assertEqual(filters.as_query(), "")

    def test_filters_survive_a_round_trip_through_the_query_string(self):
        for name, query, _ in self.cases():
            with self.subTest(filters=name):
                filters = self.filters(query)
                again = review.ReviewFilters.from_query(QueryDict(filters.as_query()), self.options)
                self.assertEqual(again, filters)

    def test_bar_and_heat_classes_stay_in_their_fixed_sets(self):
        widths = {review.width_class(v, 37) for v in range(38)}
        assert widths <= {f"w-{n}" for n in range(0, 101, 2)}
        assert review.width_class(37, 37) == "w-100" and review.width_class(1, 37) == "w-2"
        assert review.width_class(0, 0) == "w-0"
        heats = {review.heat_class(v, 13) for v in range(14)}
        assert heats == {f"heat-{n}" for n in range(10)}
        assert review.heat_class(1, 1000) == "heat-1"
