"""Starting a project from the web, who may, and the first steps its page then shows."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_participant, make_project, make_transcript, make_user
from transcripts import actions
from transcripts.models import AuditEvent, Membership, Project
from transcripts.models.projects import SiteSettings

EVERYONE = SiteSettings.ProjectCreation.EVERYONE
MARKED = SiteSettings.ProjectCreation.MARKED


def mark_as_able_to_start_projects(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="start_project"))


def set_project_creation(choice: str) -> None:
    SiteSettings(project_creation=choice).save()


class WhoMayStartProjectsTests(BaseTestCase):
    url = reverse("project_create")
    data = {"name": "Housing first study", "slug": "housing-first", "description": "Twelve interviews."}

    def test_anonymous_visitors_are_sent_to_log_in(self):
        for response in (self.client.get(self.url), self.client.post(self.url, self.data)):
            self.assertRedirects(response, f"{reverse('login')}?next={self.url}", fetch_redirect_response=False)
        self.assertFalse(Project.objects.filter(slug="housing-first").exists())

    def test_by_default_only_marked_users_and_superusers_may(self):
        before = (Project.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
        for user in (self.alice, self.bob, self.rita, self.oscar):
            self.client.force_login(user)
            self.assertEqual(self.client.get(self.url).status_code, 403)
            self.assertEqual(self.client.post(self.url, self.data).status_code, 403)
            self.assertNotContains(self.client.get(reverse("project_list")), self.url)
        self.assertEqual((Project.objects.count(), Membership.objects.count(), AuditEvent.objects.count()), before)

        mark_as_able_to_start_projects(self.bob)
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(self.url).status_code, 200)
        response = self.client.get(reverse("project_list"))
        self.assertContains(response, f'href="{self.url}"')
        self.assertContains(response, "and you are one of them")

        admin = make_user("admin", is_superuser=True, is_staff=True)
        self.client.force_login(admin)
        self.assertEqual(self.client.get(self.url).status_code, 200)

    def test_a_group_with_the_permission_marks_its_members(self):
        group = Group.objects.create(name="Principal investigators")
        group.permissions.add(Permission.objects.get(codename="start_project"))
        self.rita.groups.add(group)
        self.client.force_login(self.rita)
        self.assertEqual(self.client.get(self.url).status_code, 200)

    def test_when_the_site_allows_every_user_anyone_logged_in_may(self):
        set_project_creation(EVERYONE)
        self.client.force_login(self.oscar)
        self.assertEqual(self.client.get(self.url).status_code, 200)
        response = self.client.post(self.url, self.data)
        self.assertRedirects(response, reverse("project_detail", args=["housing-first"]))

    def test_an_inactive_user_may_not_even_when_every_user_may(self):
        set_project_creation(EVERYONE)
        self.assertFalse(SiteSettings.load().may_start_projects(make_user("gone", is_active=False)))

    def test_the_administrators_choice_is_shown(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("project_list"))
        self.assertContains(response, "only the people the administrator marks as able to start projects")
        self.assertContains(response, "Ask your administrator")
        set_project_creation(EVERYONE)
        response = self.client.get(reverse("project_list"))
        self.assertContains(response, "every user may start a project")
        self.assertContains(response, "New project")
        self.assertContains(self.client.get(self.url), "every user may start a project")

    def test_the_site_settings_are_one_row(self):
        set_project_creation(EVERYONE)
        set_project_creation(MARKED)
        self.assertEqual(SiteSettings.objects.count(), 1)
        self.assertEqual(SiteSettings.load().project_creation, MARKED)


class ProjectCreateFormTests(BaseTestCase):
    url = reverse("project_create")

    def setUp(self) -> None:
        mark_as_able_to_start_projects(self.bob)
        self.client.force_login(self.bob)

    def post(self, **data):
        data.setdefault("name", "Housing first study")
        data.setdefault("description", "")
        return self.client.post(self.url, data)

    def test_the_creator_becomes_its_lead_and_it_is_audited(self):
        response = self.post(slug="housing-first", description="Twelve interviews with peer workers.")
        project = Project.objects.get(slug="housing-first")
        self.assertRedirects(response, reverse("project_detail", args=[project.slug]))
        self.assertEqual((project.name, project.description), ("Housing first study", "Twelve interviews with peer workers."))
        self.assertEqual(project.created_by, self.bob)
        self.assertEqual(list(project.memberships.values_list("user__username", "role")), [("bob", "lead")])
        event = AuditEvent.objects.get(verb="project.created", project=project)
        self.assertEqual(event.actor, self.bob)
        self.assertEqual(event.after["slug"], "housing-first")
        self.assertEqual(event.after["lead"], "bob")
        page = self.client.get(response["Location"])
        self.assertContains(page, "You are a lead in this project")

    def test_a_short_name_is_made_from_the_name_when_left_empty(self):
        self.post(name="Peer Support in Rural Clinics (2026)", slug="")
        self.assertTrue(Project.objects.filter(slug="peer-support-in-rural-clinics-2026").exists())

    def test_capitals_in_the_short_name_are_lowered(self):
        self.post(slug="Housing-First")
        self.assertTrue(Project.objects.filter(slug="housing-first").exists())

    def test_it_refuses_bad_taken_and_reserved_short_names_with_a_clear_error(self):
        before = (Project.objects.count(), AuditEvent.objects.count())
        cases = [
            ("housing first", "Use only lower-case letters, digits and single hyphens"),
            ("housing--first", "Use only lower-case letters, digits and single hyphens"),
            ("-housing", "Use only lower-case letters, digits and single hyphens"),
            ("naïve", "Use only lower-case letters, digits and single hyphens"),
            ("peer-workers", "Another project already uses the short name “peer-workers”"),
            ("another-study", "Another project already uses the short name “another-study”"),
            ("new", "“new” is reserved"),
        ]
        for slug, message in cases:
            with self.subTest(slug=slug):
                response = self.post(slug=slug)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
                self.assertContains(response, 'id="id_slug-errors"')
        response = self.post(name="   ", slug="ok")
        self.assertContains(response, "This field is required.")
        response = self.post(name="!!!", slug="")
        self.assertContains(response, "no letters or digits")
        self.assertEqual((Project.objects.count(), AuditEvent.objects.count()), before)

    def test_a_name_taken_between_the_check_and_the_insert_is_a_form_error(self):
        from unittest import mock

        from django.db import IntegrityError

        with mock.patch("transcripts.actions.projects.Project.objects.create", side_effect=IntegrityError):
            response = self.post(slug="housing-first")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Another project already uses the short name “housing-first”")


class FirstStepsTests(BaseTestCase):
    def setUp(self) -> None:
        self.project = actions.create_project("Housing first study", "housing-first", by=self.alice)
        self.url = reverse("project_detail", args=[self.project.slug])
        self.client.force_login(self.alice)

    def steps(self) -> list[tuple[str, bool]]:
        response = self.client.get(self.url)
        return [(step["title"], step["done"]) for step in response.context["steps"]]

    def test_an_empty_project_lists_the_steps_in_order_none_done(self):
        response = self.client.get(self.url)
        self.assertContains(response, "First steps")
        self.assertEqual(
            self.steps(),
            [("Import transcripts", False), ("Add participants", False), ("Build or import a codebook", False), ("Add coders", False)],
        )
        self.assertEqual(response.context["next_step"]["title"], "Import transcripts")
        for name in ("import_transcripts", "participant_list", "codebook", "codebook_import", "member_list"):
            self.assertContains(response, reverse(name, args=[self.project.slug]))

    def test_each_step_is_ticked_when_done_and_the_guide_goes_when_all_are(self):
        make_transcript(self.project)
        self.assertEqual([done for _, done in self.steps()], [True, False, False, False])
        self.assertEqual(self.client.get(self.url).context["next_step"]["title"], "Add participants")
        make_participant(self.project)
        make_code(self.project)
        self.assertEqual([done for _, done in self.steps()], [True, True, True, False])
        self.assertContains(self.client.get(self.url), "Done · 1 code")
        actions.set_role(self.project, self.rita, Membership.Role.READER, by=self.alice)
        self.assertEqual([done for _, done in self.steps()], [True, True, True, False])
        actions.set_role(self.project, self.bob, Membership.Role.CODER, by=self.alice)
        response = self.client.get(self.url)
        self.assertEqual(response.context["steps"], [])
        self.assertNotContains(response, "First steps")

    def test_only_leads_see_the_guide(self):
        actions.set_role(self.project, self.bob, Membership.Role.CODER, by=self.alice)
        self.client.force_login(self.bob)
        self.assertNotContains(self.client.get(self.url), "First steps")

    def test_the_steps_cost_one_query_however_much_the_project_holds(self):
        with self.assertNumQueries(1):
            counts = Project.objects.first_steps(self.project.pk)
        self.assertEqual(counts, {"n_transcripts": 0, "n_participants": 0, "n_codes": 0, "n_can_code": 1})

        self.client.get(self.url)  # the first request after logging in also touches the session
        with CaptureQueriesContext(connection) as empty:
            self.client.get(self.url)
        for n in range(5):
            make_transcript(self.project, title=f"Interview {n}")
            make_participant(self.project, label=f"P{n}")
            make_code(self.project, name=f"Theme {n}")
        actions.set_role(self.project, self.bob, Membership.Role.CODER, by=self.alice)
        with self.assertNumQueries(1):
            counts = Project.objects.first_steps(self.project.pk)
        self.assertEqual(counts, {"n_transcripts": 5, "n_participants": 5, "n_codes": 5, "n_can_code": 2})
        with self.assertNumQueries(len(empty)):
            self.client.get(self.url)

    def test_the_project_page_counts_what_it_shows(self):
        make_participant(self.project)
        make_code(self.project)
        make_code(self.project, name="Boundaries")
        self.assertContains(self.client.get(self.url), "1 participant · 2 codes")


class MarkedUsersTests(BaseTestCase):
    def test_a_projects_lead_is_not_thereby_allowed_to_start_others(self):
        other = make_project(make_user("pat"), name="Pat's study", slug="pats-study")
        self.assertTrue(other.memberships.get().is_lead())
        self.assertFalse(SiteSettings.load().may_start_projects(other.created_by))


class SiteSettingsAdminTests(BaseTestCase):
    def test_the_administrator_chooses_in_the_admin_and_there_is_only_one_row(self):
        admin = make_user("admin", is_superuser=True, is_staff=True)
        self.client.force_login(admin)
        add = reverse("admin:transcripts_sitesettings_add")
        self.assertContains(self.client.get(add), "Only users the administrator marks as able to start projects")
        response = self.client.post(add, {"project_creation": "everyone"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(SiteSettings.load().project_creation, EVERYONE)
        self.assertEqual(self.client.get(add).status_code, 403)
        change = reverse("admin:transcripts_sitesettings_change", args=[1])
        self.client.post(change, {"project_creation": "marked"})
        self.assertEqual(SiteSettings.load().project_creation, MARKED)
        self.assertEqual(self.client.post(reverse("admin:transcripts_sitesettings_delete", args=[1])).status_code, 403)
        self.assertEqual(SiteSettings.objects.count(), 1)
        # The mark itself is a permission on the user's admin page.
        user_page = self.client.get(reverse("admin:auth_user_change", args=[self.bob.pk]))
        self.assertContains(user_page, "Can start a project from the web")


class SiteSettingsBackupTests(BaseTestCase):
    def test_a_site_archive_keeps_the_choice_and_a_project_archive_leaves_it_out(self):
        import json

        from transcripts import backup

        set_project_creation(EVERYONE)
        _, site = backup.read_archive(backup.dump())
        rows = [row for row in json.loads(site) if row["model"] == "transcripts.sitesettings"]
        self.assertEqual([row["fields"] for row in rows], [{"project_creation": "everyone"}])
        _, one = backup.read_archive(backup.dump(self.project))
        self.assertNotIn("transcripts.sitesettings", {row["model"] for row in json.loads(one)})
