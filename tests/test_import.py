"""Importing transcripts and participant sheets: page, command, transactions, hostile files."""

import io
import tempfile
import zipfile
from pathlib import Path
from unittest import mock

import docx
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from tests.base import BaseTestCase, make_code, make_excerpt, run_worker, started_job
from transcripts import actions
from transcripts.actions import transcripts as actions_transcripts
from transcripts.models import Attribute, AuditEvent, Job, Participant, SpeakerTurn, Transcript


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


TXT = "Interviewer: What helps?\nP03: My group, honestly.\nInterviewer: Anything else?\nP03: Walking the dog.\n"


class ImportPageTests(BaseTestCase):
    def setUp(self) -> None:
        self.url = reverse("import_transcripts", args=[self.project.slug])
        self.client.force_login(self.alice)

    def upload(self, *files: tuple[str, bytes], htmx: bool = False):
        uploads = [SimpleUploadedFile(name, data) for name, data in files]
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(self.url, {"files": uploads}, headers=headers)

    def test_only_leads_may_import(self):
        for user, status in [(self.oscar, 404), (self.bob, 403), (self.rita, 403)]:
            self.client.force_login(user)
            self.assertEqual(self.client.get(self.url).status_code, status)
            self.assertEqual(self.upload(("P03.txt", TXT.encode())).status_code, status)
        self.assertFalse(Transcript.objects.filter(title="P03").exists())

    def test_it_imports_several_files_and_reports_each(self):
        response = self.upload(
            ("P03.txt", TXT.encode()),
            ("P04 interview.docx", docx_bytes("Interviewer: Hello?", "P04: Hi there.")),
            ("notes.pdf", b"%PDF-1.4"),
        )
        self.assertContains(response, "Imported")
        self.assertContains(response, "Refused:")
        self.assertContains(response, ".docx")  # the refusal lists the accepted formats
        p03 = Transcript.objects.get(project=self.project, title="P03")
        self.assertEqual(p03.participant.label, "P03")
        self.assertEqual(p03.source_format, "txt")
        roles = dict(p03.turns.values_list("speaker", "role").distinct())
        self.assertEqual(roles, {"Interviewer": "interviewer", "P03": "participant"})
        p04 = Transcript.objects.get(project=self.project, title="P04 interview")
        self.assertEqual(p04.text, "Interviewer: Hello?\nP04: Hi there.")
        self.assertEqual(p04.participant.label, "P04")

    def test_the_htmx_response_is_only_the_result_rows(self):
        response = self.upload(("P03.txt", TXT.encode()), htmx=True)
        self.assertContains(response, 'id="import-result-rows"')
        self.assertNotContains(response, "<html")

    def test_a_bad_file_leaves_nothing_behind_and_does_not_stop_the_good_ones(self):
        before = (Transcript.objects.count(), SpeakerTurn.objects.count(), Participant.objects.count())
        response = self.upload(
            ("P09.docx", b"this is not a zip"),
            ("P10.txt", b"\xff\xfe\x00broken"[3:] + b"\x80\x81"),
            ("P11.txt", b""),
            ("P12.txt", TXT.replace("P03", "P12").encode()),
        )
        self.assertEqual(response.content.decode().count("Refused:"), 3)
        after = (Transcript.objects.count(), SpeakerTurn.objects.count(), Participant.objects.count())
        self.assertEqual(after[0], before[0] + 1)
        self.assertEqual(after[2], before[2] + 1)  # P12 only
        self.assertFalse(Participant.objects.filter(label__in=["P09", "P10", "P11"]).exists())

    @override_settings(UPLOAD_MAX_BYTES=1000)
    def test_files_over_the_limit_are_refused(self):
        response = self.upload(("P05.txt", b"Interviewer: hi\n" * 200))
        self.assertContains(response, "upload limit")
        self.assertFalse(Transcript.objects.filter(title="P05").exists())

    def test_script_in_a_transcript_is_kept_as_text_and_shown_escaped(self):
        payload = "P06: <script>alert('x')</script> & <b>bold</b>"
        self.upload(("P06.txt", f"Interviewer: hi\n{payload}\n".encode()))
        transcript = Transcript.objects.get(title="P06")
        self.assertIn("<script>alert('x')</script>", transcript.text)
        response = self.client.get(reverse("transcript_detail", args=[transcript.pk]))
        self.assertContains(response, "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;")
        self.assertNotContains(response, "<script>alert")

    def test_control_characters_never_reach_the_stored_name(self):
        self.upload(("P03\x07\x1b[2J.txt", TXT.encode()))
        name = Transcript.objects.get(title__startswith="P03").source_name
        self.assertFalse(any(ord(ch) < 32 for ch in name), name)

    def test_path_components_never_reach_the_stored_name(self):
        # Django keeps only the last path component of an uploaded file's name.
        self.upload(("../../etc/P03.txt", TXT.encode()))
        self.assertEqual(Transcript.objects.get(title="P03").source_name, "P03.txt")

    def test_the_same_title_twice_gets_a_distinct_title(self):
        self.upload(("P03.txt", TXT.encode()))
        self.upload(("P03.txt", TXT.encode()))
        self.assertEqual(
            sorted(Transcript.objects.filter(title__startswith="P03").values_list("title", flat=True)),
            ["P03", "P03 (2)"],
        )

    def test_speaker_roles_can_be_corrected_and_are_audited(self):
        self.upload(("P03.txt", TXT.encode()))
        transcript = Transcript.objects.get(title="P03")
        url = reverse("transcript_speakers", args=[transcript.pk])
        page = self.client.get(url)
        self.assertContains(page, "Interviewer")
        # Labels are listed in name order: Interviewer, P03.
        response = self.client.post(url, {"role_0": "other", "role_1": "participant"})
        self.assertRedirects(response, reverse("transcript_detail", args=[transcript.pk]))
        self.assertEqual(set(transcript.turns.filter(speaker="Interviewer").values_list("role", flat=True)), {"other"})
        self.assertTrue(AuditEvent.objects.filter(verb="transcript.speakers_mapped").exists())


class ImportCommandTests(BaseTestCase):
    def test_it_imports_a_folder_and_exits_non_zero_when_a_file_is_refused(self):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "P21.txt").write_text(TXT.replace("P03", "P21"))
            Path(folder, "P22.docx").write_bytes(docx_bytes("I: Hi", "P22: Hello"))
            Path(folder, "P23.docx").write_bytes(b"PK\x03\x04 not really")
            Path(folder, "ignored.pdf").write_bytes(b"%PDF")
            out = io.StringIO()
            with self.assertRaises(CommandError):
                call_command("import_transcripts", self.project.slug, folder, stdout=out)
        lines = out.getvalue().splitlines()
        self.assertEqual(sum(line.startswith("imported") for line in lines), 2)
        self.assertEqual(sum(line.startswith("refused") for line in lines), 1)
        self.assertTrue(Transcript.objects.filter(title="P22", participant__label="P22").exists())
        self.assertFalse(Transcript.objects.filter(title="P23").exists())

    def test_it_exits_cleanly_when_everything_is_imported(self):
        with tempfile.NamedTemporaryFile(suffix=".txt", prefix="P30_") as handle:
            handle.write(TXT.encode())
            handle.flush()
            out = io.StringIO()
            call_command("import_transcripts", self.project.slug, handle.name, stdout=out)
        self.assertIn("1 imported, 0 refused", out.getvalue())

    def test_an_unknown_project_is_an_error(self):
        with self.assertRaises(CommandError):
            call_command("import_transcripts", "no-such-project", "x.txt")


SHEET = "label,role,years_as_peer,organization_type,started\nP07,Peer navigator,7,Harm reduction,2019-05-01\nP08,Lead peer,3,Harm reduction,2022-01-15\nP09,Peer navigator,12,Hospital,2013-09-09\n"


class ParticipantSheetTests(BaseTestCase):
    def setUp(self) -> None:
        self.client.force_login(self.alice)

    def test_preview_then_import_creates_typed_attributes(self):
        preview = self.client.post(
            reverse("participant_sheet_preview", args=[self.project.slug]),
            {"sheet": SimpleUploadedFile("people.csv", SHEET.encode())},
        )
        self.assertContains(preview, "2 new, 1 already in the")
        self.assertFalse(Attribute.objects.filter(project=self.project).exists())  # nothing saved yet
        payload = preview.context["payload"]
        kinds = {f"kind_{i}": c.kind for i, c in enumerate(preview.context["sheet"].columns)}
        kinds["kind_0"] = "choice"
        response = self.client.post(
            reverse("participant_sheet_import", args=[self.project.slug]), {"payload": payload, **kinds}
        )
        self.assertRedirects(response, reverse("participant_list", args=[self.project.slug]))
        years = Attribute.objects.get(project=self.project, name="years_as_peer")
        self.assertEqual(years.kind, "number")
        self.assertEqual(Attribute.objects.get(project=self.project, name="role").kind, "choice")
        self.assertEqual(Attribute.objects.get(project=self.project, name="started").kind, "date")
        p09 = Participant.objects.get(project=self.project, label="P09")
        self.assertEqual(p09.values.get(attribute=years).number, 12)
        self.assertEqual(self.project.participants.count(), 3)

    def test_a_tampered_preview_is_refused(self):
        response = self.client.post(
            reverse("participant_sheet_import", args=[self.project.slug]), {"payload": "forged"}, follow=True
        )
        self.assertContains(response, "expired or was altered")
        self.assertEqual(self.project.participants.count(), 1)

    def test_a_value_that_does_not_fit_its_type_refuses_the_whole_sheet(self):
        call_command("import_participants", self.project.slug, self._write(SHEET), stdout=io.StringIO())
        bad = SHEET.replace("12,Hospital", "twelve,Hospital").replace("P07", "P17").replace("P08", "P18")
        with self.assertRaises(CommandError) as error:
            call_command("import_participants", self.project.slug, self._write(bad), stdout=io.StringIO())
        self.assertIn("twelve", str(error.exception))
        self.assertFalse(Participant.objects.filter(label__in=["P17", "P18"]).exists())

    def test_participants_can_be_added_by_hand_and_readers_cannot(self):
        url = reverse("participant_create", args=[self.project.slug])
        self.client.force_login(self.rita)
        self.assertEqual(self.client.post(url, {"label": "P50"}).status_code, 403)
        self.client.force_login(self.alice)
        self.client.post(url, {"label": "P50"})
        self.assertTrue(Participant.objects.filter(project=self.project, label="P50").exists())
        response = self.client.post(url, {"label": "p50"})
        self.assertContains(response, "already a participant")

    def test_the_sheet_links_transcripts_by_label(self):
        transcript = actions.create_transcript(self.project, title="P08 interview", text="I: hi\nP08: hello", by=self.alice)
        call_command("import_participants", self.project.slug, self._write(SHEET), stdout=io.StringIO())
        transcript.refresh_from_db()
        self.assertEqual(transcript.participant.label, "P08")

    def _write(self, content: str) -> str:
        handle = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
        handle.write(content)
        handle.close()
        self.addCleanup(Path(handle.name).unlink)
        return handle.name


class DeidentificationTests(BaseTestCase):
    def setUp(self) -> None:
        self.client.force_login(self.alice)
        self.transcript = actions.create_transcript(
            self.project,
            title="P11",
            text="Interviewer: Where?\nP11: At Millbrook Clinic with maria and Maria's team.",
            by=self.alice,
            turns=[],
        )

    def test_only_leads_see_the_list(self):
        url = reverse("pseudonym_list", args=[self.project.slug])
        for user, status in [(self.oscar, 404), (self.bob, 403), (self.rita, 403)]:
            self.client.force_login(user)
            self.assertEqual(self.client.get(url).status_code, status)

    def test_preview_then_apply(self):
        list_url = reverse("pseudonym_list", args=[self.project.slug])
        self.client.post(list_url, {"original": "Maria", "replacement": "[Peer A]"})
        self.client.post(list_url, {"original": "Millbrook Clinic", "replacement": "[Agency 2]"})
        url = reverse("transcript_deidentify", args=[self.transcript.pk])
        preview = self.client.get(url)
        self.assertContains(preview, "3 changes will be made")
        self.client.post(url, {"hash": self.transcript.content_hash})
        self.transcript.refresh_from_db()
        self.assertEqual(
            self.transcript.text, "Interviewer: Where?\nP11: At [Agency 2] with [Peer A] and [Peer A]'s team."
        )
        event = AuditEvent.objects.get(verb="transcript.deidentified")
        self.assertNotIn("Maria", str(event.before) + str(event.after))

    def test_a_stale_preview_changes_nothing(self):
        self.client.post(reverse("pseudonym_list", args=[self.project.slug]), {"original": "Maria", "replacement": "X"})
        url = reverse("transcript_deidentify", args=[self.transcript.pk])
        self.client.post(url, {"hash": "0" * 64})
        self.transcript.refresh_from_db()
        self.assertIn("maria", self.transcript.text)

    def test_it_is_refused_once_coded(self):
        self.client.post(reverse("pseudonym_list", args=[self.project.slug]), {"original": "Maria", "replacement": "X"})
        make_excerpt(self.transcript, [self.code], start=0, end=5)
        response = self.client.post(
            reverse("transcript_deidentify", args=[self.transcript.pk]), {"hash": self.transcript.content_hash}, follow=True
        )
        self.assertContains(response, "can no longer change")
        self.transcript.refresh_from_db()
        self.assertIn("Maria", self.transcript.text)

    def test_turns_follow_the_replacements(self):
        from transcripts.interop.readers import parse_transcript

        parsed = parse_transcript("P12.txt", "Interviewer: Hi Maria\nMaria: Hello from Millbrook\nInterviewer: And?\nMaria: That is all.\n".encode())
        transcript = actions.create_transcript(
            self.project, title="P12", text=parsed.text, by=self.alice, turns=parsed.turns
        )
        actions_list = [("Maria", "[Peer A]"), ("Millbrook", "[Town]")]
        for original, replacement in actions_list:
            self.project.pseudonyms.create(original=original, replacement=replacement)
        actions.deidentify_transcript(transcript, by=self.alice, expected_hash=transcript.content_hash)
        transcript.refresh_from_db()
        for turn in transcript.turns.all():
            self.assertEqual(transcript.text[turn.start : turn.end].split(":")[0], turn.speaker)
        self.assertEqual(set(transcript.turns.values_list("speaker", flat=True)), {"Interviewer", "[Peer A]"})


class BackgroundImportTests(BaseTestCase):
    """Many files, or big ones, are imported by the worker while the page follows the job."""

    def setUp(self) -> None:
        self.url = reverse("import_transcripts", args=[self.project.slug])
        self.client.force_login(self.alice)

    def six_files(self) -> list:
        return [SimpleUploadedFile(f"P{n:02d}.txt", TXT.replace("P03", f"P{n:02d}").encode()) for n in range(10, 16)]

    def test_six_files_at_once_are_imported_by_the_worker_each_on_its_own(self):
        files = self.six_files()
        files[2] = SimpleUploadedFile("notes.pdf", b"%PDF-1.4")
        job = started_job(self, self.url, {"files": files})
        self.assertEqual((job.kind, job.project, job.requested_by), (Job.Kind.TRANSCRIPTS_IMPORT, self.project, self.alice))
        stored = [Path(settings.JOBS_DIR) / stored for _, stored in job.params["files"]]
        self.assertTrue(all(path.is_file() for path in stored))  # kept in JOBS_DIR until the job ends
        self.assertFalse(Transcript.objects.filter(title="P10").exists())
        run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.done, job.total), (Job.Status.DONE, 6, 6))
        self.assertEqual(sorted(self.project.transcripts.filter(title__startswith="P1").values_list("title", flat=True)),
                         ["P10", "P11", "P13", "P14", "P15"])
        self.assertFalse(any(path.exists() for path in stored))
        page = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertContains(page, "5 of 6 files imported.")
        self.assertContains(page, "P10.txt: imported as “P10” (participant P10).")
        self.assertContains(page, "notes.pdf: refused: ")
        self.assertContains(page, reverse("import_transcripts", args=[self.project.slug]))

    def test_a_big_file_from_the_pages_script_gets_a_row_that_follows_its_job(self):
        big = TXT * (2 * 1024 * 1024 // len(TXT) + 1)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url, {"files": [SimpleUploadedFile("P20.txt", big.encode())]}, headers={"HX-Request": "true"})
        job = Job.objects.get()
        self.assertNotContains(response, "<html")
        self.assertContains(response, 'class="import-job"')
        self.assertContains(response, f'hx-get="{reverse("job_detail", args=[job.pk])}"')
        run_worker()
        self.assertEqual(Transcript.objects.get(title="P20").text.count("Walking the dog."), big.count("Walking the dog."))
        # A small one is imported in the request, as before.
        response = self.client.post(self.url, {"files": [SimpleUploadedFile("P21.txt", TXT.encode())]}, headers={"HX-Request": "true"})
        self.assertContains(response, "Imported")
        self.assertEqual(Job.objects.count(), 1)

    def test_a_failure_in_the_worker_keeps_whole_files_only_and_says_so(self):
        job = started_job(self, self.url, {"files": self.six_files()})
        real = actions_transcripts.create_transcript
        calls = []

        def third_fails(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise OSError("disk full")
            return real(*args, **kwargs)

        with mock.patch.object(actions_transcripts, "create_transcript", third_fails), self.assertLogs("transcripts.jobs", "ERROR"):
            run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, Job.Status.FAILED)
        self.assertEqual(sorted(self.project.transcripts.filter(title__startswith="P1").values_list("title", flat=True)), ["P10", "P11"])
        self.assertFalse(SpeakerTurn.objects.filter(transcript__title="P12").exists())
        self.assertFalse(Participant.objects.filter(project=self.project, label="P12").exists())
        self.assertEqual(list(Path(settings.JOBS_DIR).glob("import-*")), [])
        page = self.client.get(reverse("job_detail", args=[job.pk]))
        self.assertContains(page, 'role="alert"')
        self.assertContains(page, "Something went wrong while importing, and the file it was reading was not imported.")
        self.assertContains(page, "P11.txt: imported as")
        self.assertNotContains(page, "disk full")
        self.assertNotContains(page, "Start it again")

    def test_only_the_lead_who_uploaded_sees_the_job(self):
        job = started_job(self, self.url, {"files": self.six_files()})
        run_worker()
        for user in (self.bob, self.rita, self.oscar):
            self.client.force_login(user)
            self.assertEqual(self.client.get(reverse("job_detail", args=[job.pk])).status_code, 404)
        actions.set_role(self.project, self.bob, "lead", by=self.alice)
        self.client.force_login(self.bob)  # not even another lead
        self.assertEqual(self.client.get(reverse("job_detail", args=[job.pk])).status_code, 404)
        self.assertNotContains(self.client.get(reverse("project_detail", args=[self.project.slug])), f'id="job-{job.pk}"')
