"""Text PostgreSQL cannot store (NUL) is refused wherever a request brings it, with a message;
pseudonym replacements are stored in the form transcripts are, so applying them works."""

from django.urls import reverse

from tests.base import BaseTestCase, make_excerpt
from transcripts import actions
from transcripts.models import AuditEvent, Excerpt, Pseudonym
from transcripts.middleware import UNSTORABLE_TEXT_MESSAGE

HTMX = {"HX-Request": "true"}


class NulTests(BaseTestCase):
    def test_a_nul_in_a_memo_is_refused_and_nothing_changes(self):
        excerpt = make_excerpt(self.transcript, [self.code])
        self.client.force_login(self.alice)
        url = reverse("excerpt_update", args=[excerpt.pk])
        response = self.client.post(url, {"version": 1, "memo": "fine\x00text"}, headers=HTMX)
        assert response.status_code == 400
        assert "NUL" in response["HX-Trigger"]
        response = self.client.post(url, {"version": 1, "memo": "fine\x00text"})
        self.assertContains(response, UNSTORABLE_TEXT_MESSAGE, status_code=400)
        excerpt.refresh_from_db()
        assert (excerpt.memo, excerpt.version) == ("", 1)

    def test_a_nul_in_the_client_token_is_refused(self):
        self.client.force_login(self.bob)
        url = reverse("excerpt_create", args=[self.transcript.pk])
        fields = {"start": 0, "end": 11, "codes": self.code.pk, "client_token": "tab-1\x00"}
        assert self.client.post(url, fields, headers=HTMX).status_code == 400
        assert not Excerpt.objects.exists()

    def test_a_nul_in_a_query_string_is_refused_for_readers_too(self):
        self.client.force_login(self.rita)
        url = reverse("review_search", args=[self.project.slug])
        for query in ["?q=%00", "?q=group%00chat", "?%00=1"]:
            with self.subTest(query=query):
                self.assertContains(self.client.get(url + query), "cannot be stored", status_code=400)
        assert self.client.get(url + "?q=group").status_code == 200

    def test_a_nul_in_a_path_is_refused(self):
        self.client.force_login(self.alice)
        assert self.client.get("/accounts/set-password/MQ%00/abc/").status_code == 400

    def test_no_audit_row_carries_a_nul(self):
        excerpt = make_excerpt(self.transcript, [self.code])
        self.client.force_login(self.alice)
        before = AuditEvent.objects.count()
        self.client.post(reverse("excerpt_update", args=[excerpt.pk]), {"version": 1, "memo": "\x00"}, headers=HTMX)
        assert AuditEvent.objects.count() == before


class PseudonymInputTests(BaseTestCase):
    def setUp(self) -> None:
        self.client.force_login(self.alice)
        self.url = reverse("pseudonym_list", args=[self.project.slug])
        self.transcript = actions.create_transcript(
            self.project, title="P11", text="Interviewer: Who?\nP11: Maria and José from the clinic.", by=self.alice, turns=[]
        )

    def test_names_are_stored_in_nfc_and_applying_them_works(self):
        self.client.post(self.url, {"original": "Jose\u0301", "replacement": "Rene\u0301"})
        self.client.post(self.url, {"original": "Maria", "replacement": "Zoe\u0308"})
        assert sorted(Pseudonym.objects.values_list("original", "replacement")) == [("José", "René"), ("Maria", "Zoë")]
        response = self.client.post(reverse("transcript_deidentify", args=[self.transcript.pk]), {"hash": self.transcript.content_hash})
        assert response.status_code == 302
        self.transcript.refresh_from_db()
        assert self.transcript.text == "Interviewer: Who?\nP11: Zoë and René from the clinic."

    def test_line_breaks_and_a_leading_combining_mark_are_refused(self):
        for replacement in ["Peer\rA", "Peer\u2028A", "Peer\u2029A", "Peer\r\nA", "Peer\x85A", "\u0301A"]:
            with self.subTest(replacement=replacement):
                response = self.client.post(self.url, {"original": "Maria", "replacement": replacement})
                assert response.status_code == 200
                assert response.context["form"].errors["replacement"]
        response = self.client.post(self.url, {"original": "Ma\nria", "replacement": "X"})
        assert response.context["form"].errors["original"] == ["Write it on one line."]
        assert not Pseudonym.objects.exists()

    def test_a_replacement_saved_before_the_check_is_refused_with_a_message(self):
        Pseudonym.objects.create(project=self.project, original="Maria", replacement="Peer\u2028A")
        url = reverse("transcript_deidentify", args=[self.transcript.pk])
        response = self.client.post(url, {"hash": self.transcript.content_hash}, follow=True)
        self.assertContains(response, "nothing was applied")
        self.transcript.refresh_from_db()
        assert "Maria" in self.transcript.text
