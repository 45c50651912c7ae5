"""Pages and downloads shown to a signed-in user say Cache-Control: no-store."""

from django.urls import reverse

from tests.base import BaseTestCase, make_excerpt, run_worker, started_job


class NoStoreTests(BaseTestCase):
    def test_every_signed_in_response_says_no_store(self):
        make_excerpt(self.transcript, [self.code])
        slug = self.project.slug
        self.client.force_login(self.alice)
        report = started_job(self, reverse("review_report", args=[slug, "docx"]))
        codebook = started_job(self, reverse("codebook_export", args=[slug]), {"format": "docx"})
        run_worker()
        urls = [
            reverse("project_list"),
            reverse("project_detail", args=[slug]),
            reverse("transcript_detail", args=[self.transcript.pk]),
            reverse("review_summary", args=[slug]),
            reverse("review_quotes", args=[slug, self.code.pk]),
            reverse("audit_list", args=[slug]),
            reverse("audit_export", args=[slug]),
            reverse("job_detail", args=[report.pk]),
            reverse("job_download", args=[report.pk]),
            reverse("job_download", args=[codebook.pk]),
            reverse("transcript_state", args=[self.transcript.pk]),
            reverse("two_factor"),
        ]
        for url in urls:
            with self.subTest(url=url):
                response = self.client.get(url)
                assert response.status_code == 200, response.status_code
                assert "no-store" in response["Cache-Control"]
                if response.streaming:
                    b"".join(response.streaming_content)
