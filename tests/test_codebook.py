"""The codebook page and its writes: tree, counts, edit, move, reorder, archive, merge, delete, history."""

from __future__ import annotations

import datetime
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.base import BaseTestCase, make_code, make_excerpt, make_participant, make_transcript
from transcripts import actions, codebook
from transcripts.interop.codebook import walk
from transcripts.models import AuditEvent, Code, CodeApplication, Excerpt

HTMX = {"HX-Request": "true"}


def excerpt_ids(*codes: Code) -> set[int]:
    return set(CodeApplication.objects.filter(code__in=codes).values_list("excerpt_id", flat=True))


class CodebookTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.coping = make_code(cls.project, name="Coping strategies", color="#66bb6a")
        cls.community = actions.move_code(cls.code, cls.coping, by=cls.alice)
        cls.boundaries = make_code(cls.project, name="Setting boundaries", parent=cls.coping, definition="Limits")
        cls.p08 = make_participant(cls.project, label="P08")
        cls.second = make_transcript(cls.project, title="Interview 8", participant=cls.p08)
        cls.both = make_excerpt(cls.transcript, [cls.community, cls.boundaries], start=0, end=12)
        cls.only_community = make_excerpt(cls.transcript, [cls.community], start=13, end=20, by=cls.bob)
        cls.only_boundaries = make_excerpt(cls.second, [cls.boundaries], start=0, end=11)
        cls.url = reverse("codebook", args=[cls.project.slug])


class CodebookPageTests(CodebookTestCase):
    def test_it_shows_the_tree_in_order_with_fields_and_counts(self):
        self.client.force_login(self.rita)
        response = self.client.get(self.url)
        self.assertContains(response, "Coping strategies")
        self.assertContains(response, 'class="code-row depth-1', count=2)
        body = response.content.decode()
        assert body.index("Coping strategies") < body.index("Sense of community")
        self.assertContains(response, "Limits")
        self.assertContains(response, 'aria-label="2 excerpts, 2 transcripts, 2 participants"')  # Setting boundaries
        self.assertContains(response, 'aria-label="2 excerpts, 1 transcripts, 1 participants"')  # Sense of community
        self.assertNotContains(response, 'action="/codes/%d/edit/"' % self.community.pk)  # a reader cannot edit

    def test_counts_are_computed_in_the_database(self):
        codes = {code.name: code for code in codebook.load_tree(self.project)}
        boundaries = codes["Setting boundaries"]
        assert (boundaries.n_excerpts, boundaries.n_transcripts, boundaries.n_participants) == (2, 2, 2)
        assert [code.depth for code in codebook.load_tree(self.project)] == [0, 1, 1]

    def test_the_page_costs_the_same_queries_with_few_codes_as_with_many(self):
        self.client.force_login(self.alice)
        self.client.get(self.url)  # warm the session
        queries = []
        for n_more in (0, 25):
            for index in range(n_more):
                code = make_code(self.project, name=f"Extra {index}", parent=self.coping if index % 2 else None)
                make_excerpt(self.second, [code], start=0, end=5 + index % 5)
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as captured:
                response = self.client.get(self.url)
            assert response.status_code == 200
            queries.append(len(captured))
        assert queries[0] == queries[1], queries
        with self.assertNumQueries(queries[0]):
            self.client.get(self.url)

    def test_the_tree_is_two_queries_and_reading_it_costs_none(self):
        for index in range(10):
            make_code(self.project, name=f"More {index}")
        with self.assertNumQueries(2):  # the codes, and their counts as kept (models/counts.py)
            codes = codebook.load_tree(self.project)
        with self.assertNumQueries(0):
            [(code.name, code.n_excerpts, code.n_transcripts, code.n_participants, code.depth) for code in codes]

    def test_htmx_gets_the_tree_fragment(self):
        self.client.force_login(self.bob)
        response = self.client.get(self.url, headers=HTMX)
        self.assertContains(response, 'id="codebook-tree"')
        self.assertNotContains(response, "<html")


class CodeEditingTests(CodebookTestCase):
    def test_a_coder_creates_a_code_under_a_parent(self):
        self.client.force_login(self.bob)
        response = self.client.post(
            reverse("code_create", args=[self.project.slug]),
            {"name": "Peer chats", "color": "#123456", "parent": self.coping.pk, "definition": "Talking it out"},
            headers=HTMX,
        )
        self.assertContains(response, "Peer chats")
        self.assertNotContains(response, "<html")
        code = Code.objects.get(name="Peer chats")
        assert (code.parent, code.color, code.definition, code.order) == (self.coping, "#123456", "Talking it out", 2)
        event = AuditEvent.objects.filter(verb="code.created").latest("pk")
        assert event.after["guid"] == str(code.guid) and event.after["parent_id"] == self.coping.pk

    def test_a_code_created_from_the_transcript_page_goes_to_the_end_of_its_level_too(self):
        self.client.force_login(self.alice)
        self.client.post(reverse("code_create", args=[self.project.slug]), {"name": "Peer chats", "color": "#123456"})
        start = self.transcript.text.index("The group chat")
        self.client.post(
            reverse("excerpt_create", args=[self.transcript.pk]),
            {"start": start, "end": start + 5, "codes": "", "new_code": "Naming peers"},
            headers=HTMX,
        )
        top_level = list(self.project.codes.filter(parent=None).order_by("order", "name").values_list("name", flat=True))
        assert top_level == ["Coping strategies", "Peer chats", "Naming peers"]
        assert len(set(self.project.codes.filter(parent=None).values_list("order", flat=True))) == 3

    def test_without_htmx_it_redirects_to_the_codebook(self):
        self.client.force_login(self.bob)
        response = self.client.post(reverse("code_create", args=[self.project.slug]), {"name": "Peer chats", "color": "#123456"})
        self.assertRedirects(response, self.url)

    def test_an_invalid_form_re_renders_with_status_200_and_keeps_the_input(self):
        self.client.force_login(self.bob)
        response = self.client.post(
            reverse("code_update", args=[self.community.pk]),
            {"name": "Setting boundaries", "color": "#123456", "definition": "Kept text"},
            headers=HTMX,
        )
        assert response.status_code == 200
        self.assertContains(response, "already exists at this level")
        self.assertContains(response, "Kept text")
        self.community.refresh_from_db()
        assert self.community.name == "Sense of community"
        response = self.client.post(reverse("code_update", args=[self.community.pk]), {"name": "X", "color": "red"}, headers=HTMX)
        assert response.status_code == 200
        self.assertContains(response, "#rrggbb")

    def test_renaming_and_recolouring_is_audited_with_before_and_after(self):
        self.client.force_login(self.bob)
        self.client.post(
            reverse("code_update", args=[self.community.pk]),
            {"name": "Belonging", "color": "#0000ff", "definition": "New definition", "inclusion": "When"},
            headers=HTMX,
        )
        self.community.refresh_from_db()
        assert (self.community.name, self.community.color, self.community.inclusion) == ("Belonging", "#0000ff", "When")
        event = AuditEvent.objects.filter(verb="code.changed").latest("pk")
        assert event.before["name"] == "Sense of community" and event.after["name"] == "Belonging"
        assert event.after["parent_id"] == self.coping.pk and event.after["guid"] == str(self.community.guid)

    def test_it_checks_membership_and_role(self):
        url = reverse("code_update", args=[self.community.pk])
        for user, status in [(self.oscar, 404), (self.rita, 403)]:
            self.client.force_login(user)
            assert self.client.post(url, {"name": "Hijacked", "color": "#000000"}).status_code == status
        self.community.refresh_from_db()
        assert self.community.name == "Sense of community"

    def test_moving_with_the_menu_keeps_every_excerpt(self):
        before = excerpt_ids(self.community, self.boundaries)
        self.client.force_login(self.bob)
        response = self.client.post(
            reverse("code_move", args=[self.project.slug]), {"code": self.boundaries.pk, "parent": ""}, headers=HTMX
        )
        assert response.status_code == 200
        self.boundaries.refresh_from_db()
        assert self.boundaries.parent is None
        assert excerpt_ids(self.community, self.boundaries) == before
        assert Excerpt.objects.count() == 3
        event = AuditEvent.objects.filter(verb="code.moved").latest("pk")
        assert (event.before["parent_id"], event.after["parent_id"]) == (self.coping.pk, None)

    def test_a_code_cannot_move_under_its_own_subtheme_or_another_projects_code(self):
        self.client.force_login(self.alice)
        url = reverse("code_move", args=[self.project.slug])
        response = self.client.post(url, {"code": self.coping.pk, "parent": self.community.pk}, headers=HTMX)
        self.assertContains(response, "cannot be moved under itself")
        other = make_code(self.other_project, name="Elsewhere")
        response = self.client.post(url, {"code": self.coping.pk, "parent": other.pk}, headers=HTMX)
        assert response.status_code == 200
        self.coping.refresh_from_db()
        assert self.coping.parent is None

    def test_up_and_down_swap_neighbours(self):
        self.client.force_login(self.bob)
        self.client.post(reverse("code_reorder", args=[self.boundaries.pk]), {"direction": "up"}, headers=HTMX)
        names = [code.name for code in codebook.load_tree(self.project)]
        assert names == ["Coping strategies", "Setting boundaries", "Sense of community"]
        moved = AuditEvent.objects.filter(verb="code.reordered").latest("pk")
        assert (moved.object_repr, moved.after["order"]) == ("Sense of community", 1)

    def test_only_a_lead_archives_and_the_code_keeps_its_coding(self):
        url = reverse("code_archive", args=[self.community.pk])
        self.client.force_login(self.bob)
        assert self.client.post(url, {"archived": "1"}).status_code == 403
        self.client.force_login(self.alice)
        self.client.post(url, {"archived": "1"}, headers=HTMX)
        self.community.refresh_from_db()
        assert self.community.archived and self.community.applications.count() == 2
        self.client.post(url, {"archived": "0"}, headers=HTMX)
        self.community.refresh_from_db()
        assert not self.community.archived
        assert list(AuditEvent.objects.filter(verb__in=["code.archived", "code.unarchived"]).order_by("pk").values_list("verb", flat=True)) == ["code.archived", "code.unarchived"]


class MergeTests(CodebookTestCase):
    def test_merging_moves_every_excerpt_without_duplicates(self):
        union = excerpt_ids(self.community, self.boundaries)
        assert len(union) == 3
        CodeApplication.objects.filter(code=self.community, excerpt=self.both).update(is_exemplar=True)
        self.client.force_login(self.alice)
        response = self.client.post(
            reverse("code_merge", args=[self.project.slug]),
            {"source": self.community.pk, "target": self.boundaries.pk},
            headers=HTMX,
        )
        assert response.status_code == 200
        assert "1 excerpt moved, 1 already had both" in response.headers["HX-Trigger"].encode().decode("unicode_escape")
        assert not Code.objects.filter(pk=self.community.pk).exists()
        assert excerpt_ids(self.boundaries) == union
        assert self.boundaries.applications.count() == 3  # one application per excerpt
        assert Excerpt.objects.count() == 3
        assert self.boundaries.applications.get(excerpt=self.both).is_exemplar
        event = AuditEvent.objects.get(verb="code.merged")
        assert event.before["source_excerpts"] == 2 and event.before["target_excerpts"] == 2
        assert event.after["target_excerpts"] == 3 and event.after["into"] == self.boundaries.pk

    def test_merging_brings_subthemes_and_memos_along(self):
        from transcripts.models import Memo

        Memo.objects.create(project=self.project, code=self.coping, author=self.alice, body="A note")
        other_theme = make_code(self.project, name="Wellbeing")
        actions.merge_codes(self.coping, other_theme, by=self.alice)
        self.community.refresh_from_db()
        self.boundaries.refresh_from_db()
        assert self.community.parent == other_theme and self.boundaries.parent == other_theme
        assert other_theme.memos.count() == 1

    def test_a_theme_cannot_be_merged_into_its_own_subtheme_or_itself(self):
        self.client.force_login(self.alice)
        url = reverse("code_merge", args=[self.project.slug])
        response = self.client.post(url, {"source": self.coping.pk, "target": self.community.pk}, headers=HTMX)
        self.assertContains(response, "move it out first")
        response = self.client.post(url, {"source": self.coping.pk, "target": self.coping.pk}, headers=HTMX)
        self.assertContains(response, "Choose two different codes")
        assert Code.objects.filter(project=self.project).count() == 3

    def test_a_coder_may_not_merge(self):
        self.client.force_login(self.bob)
        url = reverse("code_merge", args=[self.project.slug])
        assert self.client.post(url, {"source": self.community.pk, "target": self.boundaries.pk}).status_code == 403
        assert Code.objects.filter(pk=self.community.pk).exists()


class DeleteTests(CodebookTestCase):
    def test_an_unused_code_is_deleted_by_a_coder(self):
        unused = make_code(self.project, name="Unused")
        self.client.force_login(self.bob)
        response = self.client.post(reverse("code_delete", args=[unused.pk]), headers=HTMX)
        assert response.status_code == 200
        assert not Code.objects.filter(pk=unused.pk).exists()

    def test_a_code_in_use_needs_a_leads_confirmation_that_shows_how_many_excerpts(self):
        url = reverse("code_delete", args=[self.community.pk])
        self.client.force_login(self.bob)
        response = self.client.post(url, headers=HTMX)
        self.assertContains(response, "applied to 2 excerpts")
        self.assertContains(response, "Only a lead can delete")
        assert self.client.post(url, {"confirm": "1"}, headers=HTMX).status_code == 403
        self.client.force_login(self.alice)
        response = self.client.post(url, headers=HTMX)
        self.assertContains(response, "1 of these excerpt carries no other code")
        self.assertContains(response, 'id="confirm-delete-button"')
        assert Code.objects.filter(pk=self.community.pk).exists()
        self.client.post(url, {"confirm": "1"}, headers=HTMX)
        assert not Code.objects.filter(pk=self.community.pk).exists()

    def test_deleting_keeps_every_excerpt_that_has_another_code(self):
        before = excerpt_ids(self.boundaries)
        actions.delete_code(self.community, by=self.alice, confirmed=True)
        assert excerpt_ids(self.boundaries) == before
        assert set(Excerpt.objects.values_list("pk", flat=True)) == before  # only the excerpt coded with it alone went
        assert self.boundaries.applications.get(excerpt=self.both)
        event = AuditEvent.objects.get(verb="code.deleted")
        assert event.before["excerpts"] == 2 and event.before["guid"] == str(self.community.guid)

    def test_a_theme_with_subthemes_is_not_deleted(self):
        self.client.force_login(self.alice)
        response = self.client.post(reverse("code_delete", args=[self.coping.pk]), {"confirm": "1"}, headers=HTMX)
        self.assertContains(response, "subthemes of this code first")
        assert Code.objects.filter(pk=self.coping.pk).exists()


class ExemplarTests(CodebookTestCase):
    def test_a_lead_marks_and_unmarks_an_exemplar_from_the_codes_page(self):
        application = self.community.applications.get(excerpt=self.only_community)
        detail = reverse("code_detail", args=[self.community.pk])
        self.client.force_login(self.rita)
        response = self.client.get(detail)
        self.assertContains(response, self.only_community.quote)
        self.assertContains(response, "P07")
        self.assertContains(response, "Bob Coder")
        self.assertNotContains(response, "Mark as exemplar")
        url = reverse("code_exemplar", args=[self.community.pk])
        assert self.client.post(url, {"application": application.pk, "exemplar": "1"}).status_code == 403
        self.client.force_login(self.alice)
        response = self.client.post(url, {"application": application.pk, "exemplar": "1"}, headers=HTMX)
        self.assertContains(response, "Unmark exemplar")
        self.assertNotContains(response, "<html")
        application.refresh_from_db()
        assert application.is_exemplar
        assert AuditEvent.objects.filter(verb="exemplar.marked", object_id=str(application.pk)).exists()
        history = self.client.get(reverse("codebook_history", args=[self.project.slug]))
        self.assertContains(history, f"Marked excerpt #{self.only_community.pk} as an exemplar of “Sense of community”")
        self.assertRedirects(self.client.post(url, {"application": application.pk, "exemplar": "0"}), detail)
        application.refresh_from_db()
        assert not application.is_exemplar

    def test_a_busy_codes_excerpts_come_a_page_at_a_time_exemplars_first(self):
        texts = [make_transcript(self.project, title=f"Extra {n:02}", text="We look after each other here. " * 3) for n in range(5)]
        made = [make_excerpt(text, [self.community], start=0, end=30, by=self.bob) for text in texts]
        marked = self.community.applications.get(excerpt=made[-1])
        actions.set_exemplar(marked, True, by=self.alice)
        total = self.community.applications.count()
        detail = reverse("code_detail", args=[self.community.pk])
        self.client.force_login(self.alice)
        with mock.patch("transcripts.views.codebook.EXCERPTS_PER_PAGE", 2):
            first = self.client.get(detail)
            last = self.client.get(detail, {"page": (total + 1) // 2})
            # Unmarking from the second page gives the second page back.
            other = self.community.applications.exclude(pk=marked.pk).order_by("pk").first()
            again = self.client.post(
                reverse("code_exemplar", args=[self.community.pk]),
                {"application": other.pk, "exemplar": "1", "page": "2"},
                headers=HTMX,
            )
        assert [app.pk for app in first.context["applications"]][0] == marked.pk
        assert len(first.context["applications"]) == 2
        self.assertContains(first, f"Excerpts 1–2 of {total}, exemplars first.")
        self.assertContains(first, "?page=2")
        assert len(last.context["applications"]) == total - 2 * (last.context["page"].number - 1)
        self.assertContains(again, "page 2 of")

    def test_a_codes_page_costs_the_same_queries_with_four_times_the_excerpts(self):
        detail = reverse("code_detail", args=[self.community.pk])
        self.client.force_login(self.alice)
        self.client.get(detail)  # warm the session
        queries = []
        for n_more in (3, 9):
            for n in range(n_more):
                text = make_transcript(self.project, title=f"More {len(queries)}-{n}", text="We look after each other. " * 3)
                make_excerpt(text, [self.community], start=0, end=25, by=self.bob)
            with mock.patch("transcripts.views.codebook.EXCERPTS_PER_PAGE", 2):
                with CaptureQueriesContext(connection) as captured:
                    assert self.client.get(detail).status_code == 200
            queries.append(len(captured))
        assert self.community.applications.count() >= 4 * 3
        assert queries[0] == queries[1], queries

    def test_an_application_of_another_code_is_404(self):
        other = self.boundaries.applications.first()
        self.client.force_login(self.alice)
        url = reverse("code_exemplar", args=[self.community.pk])
        assert self.client.post(url, {"application": other.pk, "exemplar": "1"}).status_code == 404


class HistoryTests(CodebookTestCase):
    def test_history_lists_who_changed_what_from_what(self):
        actions.change_code(self.community, by=self.bob, name="Belonging", definition="Being part of a group")
        actions.move_code(self.boundaries, None, by=self.alice)
        self.client.force_login(self.rita)
        response = self.client.get(reverse("codebook_history", args=[self.project.slug]))
        self.assertContains(response, "Changed “Belonging”")
        self.assertContains(response, "<del>Sense of community</del>", html=False)
        self.assertContains(response, "<ins>Belonging</ins>", html=False)
        self.assertContains(response, "Moved “Setting boundaries”")
        self.assertContains(response, "<del>Coping strategies</del>", html=False)
        self.assertContains(response, "(top level)")
        self.assertContains(response, "bob")

    def test_replay_rebuilds_the_codebook_as_it_stood_at_each_point(self):
        def tree(until) -> list[tuple[int, str]]:
            return [(depth, theme.name) for theme, depth, _ in walk(codebook.replay(self.project, until))]

        start = timezone.now()
        today = [(depth, theme.name) for theme, depth, _ in walk(codebook.current_themes(self.project, quotes=False))]
        assert tree(start) == today
        actions.change_code(self.community, by=self.bob, name="Belonging")
        actions.move_code(self.boundaries, None, by=self.alice)
        extra = actions.create_code(self.project, by=self.alice, name="Stigma")
        actions.merge_codes(extra, self.boundaries, by=self.alice)
        actions.archive_code(self.coping, True, by=self.alice)
        actions.delete_code(make_code(self.project, name="Short-lived"), by=self.alice)
        assert tree(start) == today
        now = [(depth, theme.name) for theme, depth, _ in walk(codebook.current_themes(self.project, quotes=False))]
        assert tree(timezone.now()) == now == [(0, "Coping strategies"), (1, "Belonging"), (0, "Setting boundaries")]
        replayed = {theme.name: theme for theme, _, _ in walk(codebook.replay(self.project, timezone.now()))}
        assert replayed["Coping strategies"].archived
        assert replayed["Belonging"].guid == str(self.community.guid)

    def test_the_as_of_export_of_a_past_date_uses_the_trail(self):
        AuditEvent.objects.filter(pk=0)  # the trail is append-only: dates come from real events
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        document = codebook.codebook_document(self.project, as_of=yesterday)
        assert document.themes == [] and document.version == "0"
        document = codebook.codebook_document(self.project, as_of=timezone.localdate())
        assert [theme.name for theme, _, _ in walk(document.themes)] == ["Coping strategies", "Sense of community", "Setting boundaries"]
        assert int(document.version) == AuditEvent.objects.filter(project=self.project, verb__startswith="code.").count()
