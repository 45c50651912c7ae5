"""The members page: add, change role, remove (audited, access ends at once), and new accounts
with a one-time link to set the password."""

import re

from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.base import PASSWORD, make_user
from tests.teamwork_base import TeamworkTestCase
from transcripts import actions
from transcripts.models import AuditEvent, Excerpt, Membership, TranscriptAssignment

STRONG = "lantern-orchid-basalt-42"


class MemberListTests(TeamworkTestCase):
    def setUp(self) -> None:
        self.url = reverse("member_list", args=[self.project.slug])
        self.newbie = make_user("newbie")

    def membership(self, user) -> Membership:
        return Membership.objects.get(project=self.project, user=user)

    def test_every_member_sees_the_list_and_only_leads_see_the_controls(self):
        for user in (self.rita, self.bob):
            self.client.force_login(user)
            response = self.client.get(self.url)
            self.assertContains(response, "cora")
            self.assertNotContains(response, "Create an account")
            self.assertNotContains(response, reverse("member_remove", args=[self.project.slug, self.membership(self.bob).pk]))
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(response, "Create an account")
        self.assertContains(response, reverse("member_remove", args=[self.project.slug, self.membership(self.bob).pk]))

    def test_a_lead_adds_an_existing_account_and_it_is_audited(self):
        self.client.force_login(self.alice)
        response = self.client.post(self.url, {"username": "NEWBIE", "role": "reader"})
        self.assertRedirects(response, self.url)
        assert self.membership(self.newbie).role == "reader"
        event = AuditEvent.objects.filter(verb="member.added").latest("pk")
        assert event.after == {"user": "newbie", "role": "reader"}
        for username, message in [("newbie", "already a member"), ("nobody", "no account")]:
            response = self.client.post(self.url, {"username": username, "role": "coder"})
            self.assertContains(response, message)

    def test_role_changes_are_audited_with_before_and_after(self):
        self.client.force_login(self.alice)
        bob = self.membership(self.bob)
        self.client.post(reverse("member_role", args=[self.project.slug, bob.pk]), {"role": "reader"})
        assert self.membership(self.bob).role == "reader"
        event = AuditEvent.objects.filter(verb="member.role_changed").latest("pk")
        assert (event.before, event.after) == ({"role": "coder"}, {"user": "bob", "role": "reader"})

    def test_the_last_lead_cannot_be_demoted_or_removed(self):
        self.client.force_login(self.alice)
        alice = self.membership(self.alice)
        self.client.post(reverse("member_role", args=[self.project.slug, alice.pk]), {"role": "coder"})
        self.client.post(reverse("member_remove", args=[self.project.slug, alice.pk]))
        assert self.membership(self.alice).role == "lead"
        response = self.client.get(self.url)
        self.assertContains(response, "at least one lead")

    def test_a_removed_member_loses_access_at_once_and_their_coding_stays(self):
        excerpt = actions.create_excerpt(self.hand, start=15, end=20, codes=[self.x], by=self.bob)
        TranscriptAssignment.objects.create(transcript=self.hand, coder=self.bob)
        TranscriptAssignment.objects.create(transcript=self.transcript, coder=self.bob, done_at="2026-01-01T00:00Z")
        bob_client = self.client_class()
        bob_client.force_login(self.bob)
        page = reverse("transcript_detail", args=[self.hand.pk])
        assert bob_client.get(page).status_code == 200
        self.client.force_login(self.alice)
        response = self.client.post(reverse("member_remove", args=[self.project.slug, self.membership(self.bob).pk]))
        self.assertRedirects(response, self.url)
        # bob is in no other project, so he is logged out too: the page sends him to log in.
        assert bob_client.get(page).status_code == 302
        assert Excerpt.objects.filter(pk=excerpt.pk).exists()
        # Open assignments go, finished ones stay as a record of the work.
        assert list(TranscriptAssignment.objects.filter(coder=self.bob).values_list("transcript_id", flat=True)) == [
            self.transcript.pk
        ]
        event = AuditEvent.objects.filter(verb="member.removed").latest("pk")
        assert event.before == {"user": "bob", "role": "coder"} and event.after == {"open_assignments_removed": 1}

    def test_a_removed_member_is_logged_out_everywhere_and_keeps_their_other_projects(self):
        actions.set_role(self.other_project, self.bob, "reader", by=self.oscar)
        self.client.force_login(self.bob)
        page = reverse("transcript_detail", args=[self.hand.pk])
        lead = self.client_class()
        lead.force_login(self.alice)
        lead.post(reverse("member_remove", args=[self.project.slug, self.membership(self.bob).pk]))
        assert self.client.get(reverse("project_list")).status_code == 302  # logged out
        self.client.force_login(self.bob)
        assert self.client.get(page).status_code == 404
        assert self.client.get(reverse("project_detail", args=[self.other_project.slug])).status_code == 200

    def test_someone_left_in_no_project_is_logged_out_everywhere(self):
        self.client.force_login(self.newbie)
        actions.set_role(self.project, self.newbie, "coder", by=self.alice)
        other = self.client_class()
        other.force_login(self.bob)
        n_before = Session.objects.count()
        lead = self.client_class()
        lead.force_login(self.alice)
        lead.post(reverse("member_remove", args=[self.project.slug, self.membership(self.newbie).pk]))
        assert Session.objects.count() == n_before  # newbie's session gone, alice's new one added
        assert self.client.get(reverse("project_list")).status_code == 302
        assert other.get(reverse("project_list")).status_code == 200


class OneTimeLinkTests(TeamworkTestCase):
    def create(self, **data) -> tuple:
        self.client.force_login(self.alice)
        data = {"username": "dana", "first_name": "Dana", "last_name": "Field", "role": "coder", **data}
        response = self.client.post(reverse("member_account", args=[self.project.slug]), data)
        return response

    def logs_in(self, username: str, password: str) -> bool:
        response = self.client.post(reverse("login"), {"username": username, "password": password})
        self.client.logout()
        return response.status_code == 302

    def link_in(self, response) -> str:
        match = re.search(r'<code class="link-path" id="set-password-path">([^<]+)</code>', response.content.decode())
        return match.group(1)

    def test_a_lead_creates_an_account_and_sees_the_link_once_as_a_path(self):
        response = self.create()
        self.assertEqual(response.status_code, 200)
        dana = User.objects.get(username="dana")
        assert not dana.has_usable_password()
        assert Membership.objects.get(project=self.project, user=dana).role == "coder"
        link = self.link_in(response)
        assert link.startswith("/accounts/set-password/") and "://" not in link
        self.assertContains(response, "Put this site's address in front of it")
        assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
        # Shown once: the members page does not show it again, and the audit trail never holds it.
        self.assertNotContains(self.client.get(reverse("member_list", args=[self.project.slug])), link)
        token = link.rstrip("/").rsplit("/", 1)[1]
        assert not any(token in str(e.after) for e in AuditEvent.objects.all())
        assert list(AuditEvent.objects.order_by("-pk").values_list("verb", flat=True)[:2]) == [
            "member.added", "account.created"
        ]

    def test_the_link_sets_a_strong_password_once_without_a_login(self):
        link = self.link_in(self.create())
        self.client.logout()
        response = self.client.get(link)
        self.assertContains(response, "Set your password")
        self.assertContains(response, "dana")
        for weak in ("short", "password1234", "123456789012345", "danafield"):
            response = self.client.post(link, {"new_password1": weak, "new_password2": weak})
            self.assertContains(response, "form-errors")
        response = self.client.post(link, {"new_password1": STRONG, "new_password2": STRONG})
        self.assertRedirects(response, reverse("login"))
        assert self.logs_in("dana", STRONG)
        self.client.logout()
        response = self.client.get(link)
        self.assertContains(response, "already been used or has expired")
        response = self.client.post(link, {"new_password1": "another-" + STRONG, "new_password2": "another-" + STRONG})
        self.assertContains(response, "already been used or has expired")
        assert self.logs_in("dana", STRONG)
        assert AuditEvent.objects.filter(verb="account.password_set").count() == 1

    def test_a_tampered_or_foreign_link_is_refused(self):
        link = self.link_in(self.create())
        self.client.logout()
        parts = link.rstrip("/").split("/")
        for bad in (link[:-3] + "xx/", "/".join(parts[:-2] + ["Mg", parts[-1]]) + "/", "/accounts/set-password/!!/x/"):
            response = self.client.get(bad)
            self.assertContains(response, "already been used or has expired")
        # Bob's password cannot be reset with a link for dana.
        assert self.logs_in("bob", PASSWORD)

    def test_taken_names_and_bad_input_are_refused_and_only_leads_create_accounts(self):
        response = self.create(username="Bob")
        self.assertContains(response, "taken")
        response = self.create(username="two words")
        self.assertContains(response, "Use letters")
        self.client.force_login(self.bob)
        response = self.client.post(reverse("member_account", args=[self.project.slug]), {"username": "x", "role": "lead"})
        assert response.status_code == 403
        assert not User.objects.filter(username__in=["x", "two words"]).exists()
