"""The access helpers and the first pages: 404 for outsiders, 403 for missing roles."""

from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt, make_transcript
from transcripts import access
from transcripts.models import Memo


class AccessHelperTests(BaseTestCase):
    def test_members_get_the_object_and_their_role(self):
        excerpt = make_excerpt(self.transcript, [self.code])
        memo = Memo.objects.create(project=self.project, author=self.alice, body="Journal")
        for user, role in [(self.alice, "lead"), (self.bob, "coder"), (self.rita, "reader")]:
            project, membership = access.get_project_for_member(user, self.project.slug)
            self.assertEqual((project, membership.role), (self.project, role))
            self.assertEqual(access.get_transcript_for_member(user, self.transcript.pk)[0], self.transcript)
            self.assertEqual(access.get_code_for_member(user, self.code.pk)[0], self.code)
            self.assertEqual(access.get_excerpt_for_member(user, excerpt.pk)[0], excerpt)
            self.assertEqual(access.get_participant_for_member(user, self.participant.pk)[0], self.participant)
            self.assertEqual(access.get_memo_for_member(user, memo.pk)[0], memo)

    def test_outsiders_and_anonymous_users_get_404_for_every_kind_of_object(self):
        excerpt = make_excerpt(self.transcript, [self.code])
        memo = Memo.objects.create(project=self.project, author=self.alice, body="Journal")
        loaders = [
            (access.get_project_for_member, self.project.slug),
            (access.get_transcript_for_member, self.transcript.pk),
            (access.get_code_for_member, self.code.pk),
            (access.get_excerpt_for_member, excerpt.pk),
            (access.get_participant_for_member, self.participant.pk),
            (access.get_memo_for_member, memo.pk),
        ]
        for user in [self.oscar, AnonymousUser()]:
            for loader, key in loaders:
                with self.subTest(user=str(user), loader=loader.__name__), self.assertRaises(Http404):
                    loader(user, key)

    def test_missing_ids_are_404_like_foreign_ones(self):
        with self.assertRaises(Http404):
            access.get_transcript_for_member(self.alice, 987654)

    def test_roles_decide_what_members_may_do(self):
        expectations = {
            self.alice: dict(can_code=True, can_edit_codebook=True, can_import=True, can_manage=True),
            self.bob: dict(can_code=True, can_edit_codebook=True, can_import=False, can_manage=False),
            self.rita: dict(can_code=False, can_edit_codebook=False, can_import=False, can_manage=False),
        }
        for user, answers in expectations.items():
            _, membership = access.get_project_for_member(user, self.project.slug)
            for question, answer in answers.items():
                self.assertEqual(getattr(membership, question)(), answer, f"{user} {question}")


class PageAccessTests(BaseTestCase):
    def test_every_page_needs_a_login(self):
        for url in [reverse("project_list"), reverse("project_detail", args=[self.project.slug])]:
            response = self.client.get(url)
            self.assertRedirects(response, f"{reverse('login')}?next={url}", fetch_redirect_response=False)

    def test_a_user_sees_only_their_projects(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("project_list"))
        self.assertContains(response, self.project.name)
        self.assertNotContains(response, self.other_project.name)

    def test_project_page_checks_membership(self):
        url = reverse("project_detail", args=[self.project.slug])
        self.client.force_login(self.oscar)
        self.assertEqual(self.client.get(url).status_code, 404)
        for user in [self.alice, self.bob, self.rita]:
            self.client.force_login(user)
            response = self.client.get(url)
            self.assertContains(response, self.transcript.title)

    def test_project_page_query_count_does_not_grow_with_transcripts(self):
        self.client.force_login(self.alice)
        url = reverse("project_detail", args=[self.project.slug])
        self.client.get(url)
        # Seven, one of them for the member's own background jobs ("Your files").
        with self.assertNumQueries(7) as small:
            self.client.get(url)
        for n in range(10):
            transcript = make_transcript(self.project, title=f"Extra {n}")
            make_excerpt(transcript, [self.code])
        make_code(self.project, name="Another")
        with self.assertNumQueries(len(small.captured_queries)):
            self.client.get(url)


class LoginPageTests(BaseTestCase):
    def test_login_page_logs_a_user_in_and_out(self):
        response = self.client.get(reverse("login"))
        self.assertContains(response, "Log in")
        response = self.client.post(reverse("login"), {"username": "bob", "password": "correct horse battery staple"})
        self.assertRedirects(response, reverse("project_list"))
        response = self.client.post(reverse("logout"))
        self.assertRedirects(response, reverse("login"), fetch_redirect_response=False)
        self.assertEqual(self.client.get(reverse("project_list")).status_code, 302)

    def test_a_wrong_password_says_so_without_saying_which_part_was_wrong(self):
        response = self.client.post(reverse("login"), {"username": "bob", "password": "nope"})
        self.assertContains(response, "Please enter a correct username and password")

    def test_next_redirects_stay_on_the_site(self):
        response = self.client.post(
            reverse("login") + "?next=https://evil.example/steal",
            {"username": "bob", "password": "correct horse battery staple", "next": "https://evil.example/steal"},
        )
        self.assertRedirects(response, reverse("project_list"))

    def test_pages_send_security_headers(self):
        response = self.client.get(reverse("login"))
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        csp = response["Content-Security-Policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)


class LoginThrottlingTests(BaseTestCase):
    def test_repeated_failures_lock_the_user_name_even_for_the_right_password(self):
        from django.conf import settings

        url = reverse("login")
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = self.client.post(url, {"username": "bob", "password": "wrong guess"})
            self.assertEqual(response.status_code, 200)
        response = self.client.post(url, {"username": "bob", "password": "wrong guess"})
        self.assertEqual(response.status_code, 429)
        response = self.client.post(url, {"username": "bob", "password": "correct horse battery staple"})
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many attempts", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)
        # The same user name from another address is locked too; another user elsewhere is not.
        elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
        response = self.client.post(url, {"username": "bob", "password": "correct horse battery staple"}, **elsewhere)
        self.assertEqual(response.status_code, 429)
        response = self.client.post(url, {"username": "rita", "password": "correct horse battery staple"}, **elsewhere)
        self.assertRedirects(response, reverse("project_list"))

    def test_a_success_resets_the_count(self):
        url = reverse("login")
        for _ in range(3):
            self.client.post(url, {"username": "bob", "password": "wrong guess"})
        self.client.post(url, {"username": "bob", "password": "correct horse battery staple"})
        self.client.post(reverse("logout"))
        for _ in range(3):
            self.client.post(url, {"username": "bob", "password": "wrong guess"})
        response = self.client.post(url, {"username": "bob", "password": "correct horse battery staple"})
        self.assertRedirects(response, reverse("project_list"))


class SessionLimitTests(BaseTestCase):
    def test_a_session_ends_after_the_absolute_limit_however_active(self):
        from django.test import override_settings

        from transcripts.middleware import SESSION_STARTED_KEY

        url = reverse("project_list")
        self.client.post(reverse("login"), {"username": "bob", "password": "correct horse battery staple"})
        self.assertEqual(self.client.get(url).status_code, 200)
        session = self.client.session
        session[SESSION_STARTED_KEY] -= 13 * 3600
        session.save()
        with override_settings(SESSION_ABSOLUTE_SECONDS=12 * 3600):
            response = self.client.get(url)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("login")))

    def test_the_idle_timeout_is_fifteen_minutes_renewed_by_the_users_requests_not_by_polling(self):
        import datetime
        import time

        from django.conf import settings
        from django.contrib.sessions.models import Session
        from django.utils import timezone

        from transcripts.middleware import SESSION_SEEN_KEY

        self.assertEqual(settings.SESSION_COOKIE_AGE, 15 * 60)
        self.client.post(reverse("login"), {"username": "bob", "password": "correct horse battery staple"})
        page, poll = reverse("project_list"), reverse("transcript_state", args=[self.transcript.pk])

        def expires_after(seen_ago: int, url: str) -> float:
            """Minutes left on the session after a request, when it was last renewed `seen_ago` s before
            and had one minute left."""
            session = self.client.session
            session[SESSION_SEEN_KEY] = int(time.time()) - seen_ago
            session.save()
            Session.objects.filter(session_key=session.session_key).update(
                expire_date=timezone.now() + datetime.timedelta(minutes=1)
            )
            self.assertEqual(self.client.get(url).status_code, 200)
            left = Session.objects.get(session_key=session.session_key).expire_date - timezone.now()
            return left.total_seconds() / 60

        self.assertGreater(expires_after(120, page), 14.9)  # renewed
        self.assertLess(expires_after(10, page), 1.01)  # renewed less than a minute ago: no write
        self.assertLess(expires_after(120, poll), 1.01)  # the page polling by itself
        session = self.client.session
        Session.objects.filter(session_key=session.session_key).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=1)
        )
        response = self.client.get(page)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("login")))
