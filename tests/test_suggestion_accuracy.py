"""The accuracy page: a lead measures the suggestions in the background and reads the figures evaluate_suggestions prints."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.urls import reverse

from tests.base import BaseTestCase, download_through_a_job, make_code, make_transcript, run_worker, started_job
from tests.suggestion_study import WEATHER, code_chat, interview_text
from transcripts import actions
from transcripts.interop.readers.speakers import detect_turns
from transcripts.models import Excerpt, Job, SuggestionModel


def interview(project, n: int):
    return make_transcript(
        project, title=f"Interview {n}", text=interview_text(n), turns=detect_turns(interview_text(n)),
        speaker_roles={"Interviewer": "interviewer", f"P{n:02d}": "participant"},
    )


class SuggestionAccuracyTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.chat = make_code(cls.project, name="Peer support chat")
        cls.commute = make_code(cls.project, name="Commute")
        cls.interviews = [interview(cls.project, n) for n in (1, 2, 3, 4)]
        for transcript in cls.interviews:
            code_chat(transcript, cls.chat, cls.alice)
        start = cls.interviews[0].text.index(WEATHER[0])
        actions.create_excerpt(cls.interviews[0], start=start, end=start + len(WEATHER[0]), codes=[cls.commute], by=cls.alice)
        cls.url = reverse("suggestion_accuracy", args=[cls.project.slug])
        cls.measure = reverse("measure_suggestions", args=[cls.project.slug])

    def test_a_lead_measures_in_the_background_and_reads_the_figures_the_command_prints(self):
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(self.url), "Not measured yet.")
        response = download_through_a_job(self, self.measure)
        rows = response.getvalue().decode().splitlines()
        assert rows[0] == "code,units,precision,recall,f1,suggested"
        assert rows[1].startswith("Peer support chat,16,") and rows[1].endswith(",yes")
        assert "Commute,1,,,,no: too few examples" in rows
        page = self.client.get(self.url)
        row = SuggestionModel.objects.get(project=self.project, learner=None)
        self.assertContains(page, f"Measured {row.accuracy_measured_at:%Y-%m-%d %H:%M}")
        self.assertContains(page, "4 coded transcripts,\n    each left out in turn")
        printed = io.StringIO()
        call_command("evaluate_suggestions", self.project.slug, stdout=printed)
        chat_line = next(line for line in printed.getvalue().splitlines() if line.startswith("Peer support chat"))
        precision, recall, f1 = chat_line.split()[-3:]
        self.assertContains(
            page, f"<tr><td>Peer support chat</td><td>16</td><td>{precision}</td><td>{recall}</td><td>{f1}</td><td>yes</td></tr>",
            html=True,
        )
        per_transcript = printed.getvalue().split("per transcript: ")[1].split()[0]
        self.assertContains(page, f"<strong>{per_transcript}</strong> suggestions a coder would see per transcript")
        self.assertContains(page, "Too few examples to learn or measure (fewer than 6 units), so never suggested:")
        self.assertContains(page, "Commute (1 unit)")

    def test_the_page_follows_a_measurement_that_is_running(self):
        self.client.force_login(self.alice)
        job = started_job(self, self.measure)
        page = self.client.get(self.url)
        self.assertContains(page, f'id="job-{job.pk}"')
        self.assertContains(page, "<progress")
        run_worker()
        page = self.client.get(self.url)
        self.assertNotContains(page, f'id="job-{job.pk}"')
        self.assertContains(page, "Measure again")
        done = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertContains(done, f'href="{self.url}"')

    def test_the_measurement_starts_in_place_for_htmx(self):
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            fragment = self.client.post(self.measure, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and b"<html" not in fragment.content
        self.assertContains(fragment, "<progress")

    def test_a_project_with_one_coded_transcript_is_told_it_cannot_be_measured(self):
        Excerpt.objects.filter(transcript__in=self.interviews[1:]).delete()
        self.client.force_login(self.alice)
        job = started_job(self, self.measure)
        run_worker()
        job.refresh_from_db()
        assert (job.status, job.message) == (Job.Status.FAILED, "Suggestions need coding on at least two transcripts to be measured.")
        self.assertContains(self.client.get(self.url), "Not measured yet.")

    def test_with_suggestions_off_there_is_nothing_to_measure(self):
        self.project.suggestions_on = False
        self.project.save(update_fields=["suggestions_on"])
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(self.url), "Suggestions are turned off for this project")
        assert self.client.post(self.measure).status_code == 403
        assert not Job.objects.exists()

    def test_leads_find_the_page_from_the_project_and_its_settings(self):
        self.client.force_login(self.alice)
        for page in ("project_detail", "project_settings"):
            self.assertContains(self.client.get(reverse(page, args=[self.project.slug])), f'href="{self.url}"')
        # The settings form shows the switch, so saving the settings keeps suggestions on.
        settings_page = self.client.get(reverse("project_settings", args=[self.project.slug]))
        self.assertContains(settings_page, 'name="suggestions_on" aria-describedby="id_suggestions_on_helptext" id="id_suggestions_on" checked')
        self.client.force_login(self.bob)
        self.assertNotContains(self.client.get(reverse("project_detail", args=[self.project.slug])), self.url)
