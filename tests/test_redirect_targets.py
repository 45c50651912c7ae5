"""Every redirect whose target comes from the request stays on the site."""

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.base import PASSWORD, BaseTestCase, make_excerpt
from transcripts.middleware import SECOND_FACTOR_KEY

HOSTILE = [
    "https://evil.example/steal",
    "//evil.example/steal",
    "/\\evil.example/steal",
    "\\\\evil.example/steal",
    "/\\/evil.example",
    "///evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "",
]
# Relative: Django's login view follows it (it stays on the site); ours take absolute paths only.
RELATIVE = "abc"


class RedirectTargetTests(BaseTestCase):
    def assert_stays(self, response, fallback: str) -> None:
        assert response.status_code == 302, response.status_code
        assert response["Location"] == fallback, response["Location"]

    def test_every_target_taken_from_the_request_is_checked(self):
        excerpt = make_excerpt(self.transcript, [self.code])
        application = excerpt.applications.get()
        exemplar_url = reverse("review_exemplar", args=[self.project.slug, application.pk])
        quotes = reverse("review_quotes", args=[self.project.slug, self.code.pk])
        home = reverse("project_list")
        TOTPDevice.objects.create(user=self.bob, name="Phone", confirmed=True)

        def login(target):
            return self.client.post(reverse("login"), {"username": "rita", "password": PASSWORD, "next": target})

        def verify(target):
            self.client.force_login(self.alice)  # no device: the code step sends her on at once
            return self.client.get(reverse("login_verify"), {"next": target})

        def verify_with_code_pending(target):
            self.client.force_login(self.bob)
            session = self.client.session
            session[SECOND_FACTOR_KEY] = True
            session.save()
            response = self.client.get(reverse("login_verify"), {"next": target})
            self.assertContains(response, f'<input type="hidden" name="next" value="{home}">')

        def exemplar(target):
            self.client.force_login(self.alice)
            return self.client.post(exemplar_url, {"exemplar": "1", "back": target})

        cases = [(login, home), (verify, home), (exemplar, quotes)]
        for target in HOSTILE:
            for send, fallback in cases:
                with self.subTest(view=send.__name__, target=target):
                    self.assert_stays(send(target), fallback)
                    self.client.logout()
            with self.subTest(view="verify_with_code_pending", target=target):
                verify_with_code_pending(target)
                self.client.logout()
        for send, fallback in cases[1:]:
            with self.subTest(view=send.__name__, target=RELATIVE):
                self.assert_stays(send(RELATIVE), fallback)
                self.client.logout()
        # A path on the site is followed.
        for send, _ in cases:
            with self.subTest(view=send.__name__, target="own path"):
                own = reverse("project_detail", args=[self.project.slug]) + "?tab=1"
                assert send(own)["Location"] == own
                self.client.logout()
