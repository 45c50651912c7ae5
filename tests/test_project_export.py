"""A whole project out as REFI-QDA .qdpx: the file, its contents against the database, the options,
what never leaves, the audit event, bounded queries, the download and the command.

The file is checked with lxml and XPath against Project.xsd, not with our own reader alone.
"""

from __future__ import annotations

import datetime
import io
import tempfile
import zipfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lxml import etree

from tests.base import (
    BaseTestCase,
    download_through_a_job,
    make_code,
    make_excerpt,
    make_participant,
    make_transcript,
    run_worker,
    started_job,
)
from transcripts import actions
from transcripts.interop import qdpx
from transcripts.interop.refi import split_description
from transcripts.models import (
    Attribute,
    AttributeValue,
    AuditEvent,
    CodeApplication,
    Excerpt,
    Job,
    Membership,
    Memo,
    Project,
    Pseudonym,
)
from transcripts.project_export import CONSENSUS_USER_NAME, ExportOptions, _Guids, export_project

DATA = Path(__file__).parent / "data" / "refi-qda"
NS = {"q": "urn:QDA-XML:project:1.0"}
SCHEMA = etree.XMLSchema(etree.parse(str(DATA / "Project.xsd")))
REAL_NAME = "Maria Lopez-Okafor"


def exported(project: Project, **options) -> bytes:
    out = io.BytesIO()
    export_project(project, out, options=ExportOptions(**options))
    return out.getvalue()


def qde(data: bytes) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("project.qde"))


def xpath(root: etree._Element, path: str) -> list:
    return root.xpath(path, namespaces=NS)


def source_texts(data: bytes) -> dict[str, str]:
    """TextSource guid -> the text of its .txt member, read through its plainTextPath."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    texts = {}
    for source in xpath(qde(data), "//q:TextSource"):
        member = "sources/" + source.get("plainTextPath").removeprefix("internal://")
        texts[source.get("guid")] = archive.read(member).decode("utf-8")
    return texts


class ExportStudy(BaseTestCase):
    """Two coders and a consensus on texts with accents and emoji, typed attributes, memos everywhere."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.project.description = "Peer workers' stories"
        cls.project.save(update_fields=["description"])
        cls.role = Attribute.objects.create(project=cls.project, name="role", kind="choice", choices=["Lead peer", "Navigator"])
        cls.years = Attribute.objects.create(project=cls.project, name="years", kind="number", order=1)
        cls.joined = Attribute.objects.create(project=cls.project, name="joined", kind="date", order=2)
        cls.town = Attribute.objects.create(project=cls.project, name="town", kind="text", order=3)
        for attribute, raw in ((cls.role, "Navigator"), (cls.years, "6.5"), (cls.joined, "2021-03-04"), (cls.town, "Año Nuevo")):
            value = AttributeValue(participant=cls.participant, attribute=attribute, value=raw)
            value.full_clean()
            value.save()
        cls.p08 = make_participant(cls.project, label="P08")
        cls.emoji = make_transcript(
            cls.project,
            title="Interview 8",
            participant=cls.p08,
            text="Interviewer: ¿Qué tal?\nP08: Café ☕ and 🎉 with the team, sí.\nInterviewer: Gracias.",
            source_name=f"{REAL_NAME} interview.docx",
        )
        cls.parent = make_code(cls.project, name="Support", color="#1f77b4", definition="Help given or received.",
                               inclusion="Practical or emotional help.", exclusion="Help from services.")
        cls.child = make_code(cls.project, name="Peer support", parent=cls.parent, color="#2ca02c",
                              typical_example="She came and found me.")
        cls.old = make_code(cls.project, name="Old theme")
        actions.archive_code(cls.old, True, by=cls.alice)
        text = cls.emoji.text
        start = text.index("Café")
        cls.alice_excerpt = make_excerpt(cls.emoji, [cls.parent, cls.child], start=start, end=text.index(" with"), by=cls.alice,
                                         memo="Coffee and party: 🎉")
        cls.bob_excerpt = make_excerpt(cls.emoji, [cls.child], start=text.index("🎉"), end=text.index(", sí"), by=cls.bob)
        cls.bob_first = make_excerpt(cls.transcript, [cls.code], start=0, end=11, by=cls.bob)
        cls.consensus = make_excerpt(cls.emoji, [cls.child], start=start, end=text.index(", sí"), by=cls.alice,
                                     memo="Both coders saw peer support here.")
        Excerpt.objects.filter(pk=cls.consensus.pk).update(is_consensus=True)
        Memo.objects.create(project=cls.project, author=cls.alice, title="Journal", body="Week one: started coding.")
        Memo.objects.create(project=cls.project, transcript=cls.emoji, author=cls.bob, body="Lively interview.")
        Memo.objects.create(project=cls.project, code=cls.child, author=cls.alice, title="Scope", body="Only peers, not staff.")
        Pseudonym.objects.create(project=cls.project, original=REAL_NAME, replacement="[Peer A]")
        cls.guid = _Guids(cls.project)


class FileTests(ExportStudy):
    def test_the_file_validates_against_project_xsd(self):
        root = qde(exported(self.project))
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        self.assertEqual(root.get("name"), "Peer workers study")
        self.assertEqual(root.get("origin"), "peercoding")

    def test_counts_match_the_database(self):
        root = qde(exported(self.project))
        expected = {
            "//q:TextSource": self.project.transcripts.count(),
            "//q:PlainTextSelection": Excerpt.objects.filter(transcript__project=self.project).count(),
            "//q:PlainTextSelection/q:Coding": CodeApplication.objects.filter(code__project=self.project).count(),
            "/q:Project/q:CodeBook//q:Code": self.project.codes.count(),
            "/q:Project/q:Variables/q:Variable": self.project.attributes.count(),
            "/q:Project/q:Cases/q:Case": self.project.participants.count(),
            "/q:Project/q:Cases/q:Case/q:VariableValue": 4,
            # three memos, and the memos of alice's excerpt and of the consensus
            "/q:Project/q:Notes/q:Note": self.project.memos.count() + 2,
        }
        for path, count in expected.items():
            with self.subTest(path=path):
                self.assertEqual(len(xpath(root, path)), count)
        self.assertEqual(expected["//q:TextSource"], 2)
        self.assertEqual(expected["//q:PlainTextSelection"], 4)
        self.assertEqual(expected["//q:PlainTextSelection/q:Coding"], 5)

    def test_each_source_is_the_exact_stored_text(self):
        data = exported(self.project)
        texts = source_texts(data)
        for transcript in self.project.transcripts.all():
            self.assertEqual(texts[self.guid("transcript", transcript.pk).upper()], transcript.text)
        names = {s.get("name") for s in xpath(qde(data), "//q:TextSource")}
        self.assertEqual(names, {"Interview 7", "Interview 8"})

    def test_every_selection_quotes_the_stored_excerpt_in_code_points(self):
        data = exported(self.project)
        texts = source_texts(data)
        quotes = {self.guid("excerpt", pk).upper(): quote for pk, quote in Excerpt.objects.values_list("pk", "quote")}
        selections = xpath(qde(data), "//q:PlainTextSelection")
        for selection in selections:
            text = texts[selection.getparent().get("guid")]
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            self.assertEqual(text[start:end], quotes[selection.get("guid")])
        self.assertEqual(len(selections), len(quotes))
        # The emoji before the excerpt counts as one position, as the spec says.
        bob = xpath(qde(data), f"//q:PlainTextSelection[@guid='{self.guid('excerpt', self.bob_excerpt.pk).upper()}']")[0]
        self.assertEqual(int(bob.get("startPosition")), self.emoji.text.index("🎉"))
        self.assertEqual(self.bob_excerpt.quote, "🎉 with the team")

    def test_our_reader_reads_back_what_the_database_holds(self):
        project = qdpx.read_project("study.qdpx", exported(self.project))
        self.assertEqual(project.offset_reading, "code points")
        by_guid = {source.guid: source for source in project.sources}
        for excerpt in Excerpt.objects.all():
            source = by_guid[self.guid("transcript", excerpt.transcript_id)]
            (selection,) = [s for s in source.selections if s.guid == self.guid("excerpt", excerpt.pk)]
            self.assertEqual(source.text[selection.start : selection.end], excerpt.quote)
        self.assertFalse(project.left_out)

    def test_the_codebook_keeps_tree_colours_guids_archived_and_fields(self):
        root = qde(exported(self.project))
        parent = xpath(root, f"/q:Project/q:CodeBook/q:Codes/q:Code[@guid='{str(self.parent.guid).upper()}']")[0]
        self.assertEqual(parent.get("name"), "Support")
        self.assertEqual(parent.get("color"), "#1F77B4")
        self.assertEqual(parent.get("isCodable"), "true")
        (child,) = xpath(parent, "q:Code")
        self.assertEqual(child.get("guid"), str(self.child.guid).upper())
        fields = split_description(xpath(parent, "q:Description")[0].text)
        self.assertEqual(fields["definition"], "Help given or received.")
        self.assertEqual(fields["inclusion"], "Practical or emotional help.")
        self.assertEqual(fields["exclusion"], "Help from services.")
        self.assertEqual(split_description(xpath(child, "q:Description")[0].text)["typical_example"], "She came and found me.")
        old = xpath(root, f"//q:Code[@guid='{str(self.old.guid).upper()}']")[0]
        self.assertEqual(old.get("isCodable"), "false")

    def test_participants_are_cases_with_typed_values_and_their_sources(self):
        root = qde(exported(self.project))
        types = {v.get("name"): v.get("typeOfVariable") for v in xpath(root, "//q:Variable")}
        self.assertEqual(types, {"role": "Text", "years": "Float", "joined": "Date", "town": "Text"})
        role = xpath(root, "//q:Variable[@name='role']/q:Description")[0].text
        self.assertIn("Lead peer\nNavigator", role)
        (p07,) = xpath(root, "//q:Case[@name='P07']")
        values = {xpath(p07, f"//q:Variable[@guid='{v.xpath('q:VariableRef', namespaces=NS)[0].get('targetGUID')}']")[0].get("name"):
                  (etree.QName(v[1]).localname, v[1].text) for v in xpath(p07, "q:VariableValue")}
        self.assertEqual(values, {
            "role": ("TextValue", "Navigator"), "years": ("FloatValue", "6.5"),
            "joined": ("DateValue", "2021-03-04"), "town": ("TextValue", "Año Nuevo"),
        })
        self.assertEqual([r.get("targetGUID") for r in xpath(p07, "q:SourceRef")], [self.guid("transcript", self.transcript.pk).upper()])

    def test_codings_name_their_code_their_coder_and_date(self):
        root = qde(exported(self.project))
        users = {u.get("guid"): u.get("name") for u in xpath(root, "//q:User")}
        selection = xpath(root, f"//q:PlainTextSelection[@guid='{self.guid('excerpt', self.alice_excerpt.pk).upper()}']")[0]
        codings = xpath(selection, "q:Coding")
        self.assertEqual({xpath(c, "q:CodeRef")[0].get("targetGUID") for c in codings},
                         {str(self.parent.guid).upper(), str(self.child.guid).upper()})
        self.assertEqual({users[c.get("creatingUser")] for c in codings}, {"Alice Lead"})
        for coding in codings:
            datetime.datetime.fromisoformat(coding.get("creationDateTime"))
        bob = xpath(root, f"//q:PlainTextSelection[@guid='{self.guid('excerpt', self.bob_first.pk).upper()}']")[0]
        self.assertEqual(users[bob.get("creatingUser")], "Bob Coder")

    def test_memos_are_notes_referred_to_by_what_they_are_on(self):
        root = qde(exported(self.project))
        notes = {n.get("guid"): xpath(n, "q:PlainTextContent")[0].text for n in xpath(root, "//q:Note")}

        def notes_of(element) -> set[str]:
            return {notes[ref.get("targetGUID")] for ref in xpath(element, "q:NoteRef")}

        self.assertEqual(notes_of(root), {"Week one: started coding."})
        self.assertEqual(notes_of(xpath(root, "//q:TextSource[@name='Interview 8']")[0]), {"Lively interview."})
        self.assertEqual(notes_of(xpath(root, "//q:Code[@name='Peer support']")[0]), {"Only peers, not staff."})
        selection = xpath(root, f"//q:PlainTextSelection[@guid='{self.guid('excerpt', self.alice_excerpt.pk).upper()}']")[0]
        self.assertEqual(notes_of(selection), {"Coffee and party: 🎉"})


class OptionTests(ExportStudy):
    def consensus_selection(self, root):
        return xpath(root, f"//q:PlainTextSelection[@guid='{self.guid('excerpt', self.consensus.pk).upper()}']")[0]

    def test_the_consensus_is_created_by_the_consensus_user_and_settled_by_the_lead(self):
        root = qde(exported(self.project))
        users = {u.get("guid"): u.get("name") for u in xpath(root, "//q:User")}
        selection = self.consensus_selection(root)
        self.assertEqual(users[selection.get("creatingUser")], CONSENSUS_USER_NAME)
        self.assertEqual(users[selection.get("modifyingUser")], "Alice Lead")
        self.assertEqual({users[c.get("creatingUser")] for c in xpath(selection, "q:Coding")}, {CONSENSUS_USER_NAME})
        own = [s for s in xpath(root, "//q:PlainTextSelection") if s is not selection]
        self.assertNotIn(CONSENSUS_USER_NAME, {users[s.get("creatingUser")] for s in own})

    def test_consensus_only_leaves_each_coders_own_coding_out(self):
        data = exported(self.project, consensus_only=True)
        root = qde(data)
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        selections = xpath(root, "//q:PlainTextSelection")
        self.assertEqual([s.get("guid") for s in selections], [self.guid("excerpt", self.consensus.pk).upper()])
        # Still every transcript, code, participant and memo; the memos of coders' excerpts go with them.
        self.assertEqual(len(xpath(root, "//q:TextSource")), 2)
        self.assertEqual(len(xpath(root, "//q:CodeBook//q:Code")), self.project.codes.count())
        self.assertEqual(len(xpath(root, "//q:Note")), self.project.memos.count() + 1)
        users = {u.get("name") for u in xpath(root, "//q:User")}
        self.assertIn(CONSENSUS_USER_NAME, users)

    def test_a_project_without_consensus_has_no_consensus_user(self):
        Excerpt.objects.filter(pk=self.consensus.pk).update(is_consensus=False)
        root = qde(exported(self.project))
        self.assertNotIn(CONSENSUS_USER_NAME, {u.get("name") for u in xpath(root, "//q:User")})

    def test_one_set_of_transcripts(self):
        data = exported(self.project, transcript_ids=(self.transcript.pk,))
        root = qde(data)
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        self.assertEqual([s.get("name") for s in xpath(root, "//q:TextSource")], ["Interview 7"])
        self.assertEqual(len(xpath(root, "//q:PlainTextSelection")), 1)
        self.assertEqual([c.get("name") for c in xpath(root, "//q:Case")], ["P07"])
        notes = {xpath(n, "q:PlainTextContent")[0].text for n in xpath(root, "//q:Note")}
        self.assertNotIn("Lively interview.", notes)  # its transcript stays behind
        self.assertNotIn("Coffee and party: 🎉", notes)
        self.assertEqual(len(zipfile.ZipFile(io.BytesIO(data)).namelist()), 2)


class PrivacyAndAuditTests(ExportStudy):
    def test_the_de_identification_list_and_file_names_never_leave(self):
        data = exported(self.project)
        archive = zipfile.ZipFile(io.BytesIO(data))
        for name in archive.namelist():
            content = archive.read(name).decode("utf-8")
            with self.subTest(member=name):
                self.assertNotIn(REAL_NAME, content)
                self.assertNotIn("Lopez", content)
        self.assertIn(REAL_NAME, Pseudonym.objects.get().original)  # it was there to leak

    def test_the_audit_trail_never_leaves(self):
        data = exported(self.project)
        xml = zipfile.ZipFile(io.BytesIO(data)).read("project.qde").decode("utf-8")
        events = AuditEvent.objects.filter(project_id=self.project.pk)
        self.assertGreater(events.count(), 5)
        for event in events:
            self.assertNotIn(event.hash, xml)
        for verb in ("code.created", "excerpt.created", "code.archived"):
            self.assertNotIn(verb, xml)

    def test_the_export_is_an_audit_event(self):
        export_project(self.project, io.BytesIO(), options=ExportOptions(consensus_only=True), by=self.alice)
        event = AuditEvent.objects.filter(project_id=self.project.pk).latest("seq")
        self.assertEqual(event.verb, "project.exported")
        self.assertEqual(event.actor, self.alice)
        self.assertEqual(event.after["consensus_only"], True)
        self.assertEqual(event.after["selections"], 1)
        self.assertEqual(event.after["sources"], 2)

    def test_control_characters_in_memos_do_not_break_the_file(self):
        Memo.objects.create(project=self.project, author=self.alice, body="line\x0bbreak and \x01 bell")
        root = qde(exported(self.project))
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        self.assertIn("line\nbreak and  bell", {xpath(n, "q:PlainTextContent")[0].text for n in xpath(root, "//q:Note")})


class BoundedQueryTests(BaseTestCase):
    def queries_for_export(self) -> int:
        with CaptureQueriesContext(connection) as queries:
            export_project(self.project, io.BytesIO(), by=self.alice)
        return len(queries)

    def add_excerpts(self, transcript, n: int) -> None:
        first = transcript.excerpts.count()  # new spans each time: the same coding twice is refused
        for index in range(first, first + n):
            make_excerpt(transcript, [self.code], start=index, end=index + 3, by=self.bob if index % 2 else self.alice,
                         memo="why" if index % 3 == 0 else "")

    def test_the_number_of_queries_does_not_grow_with_excerpts_or_transcripts(self):
        self.add_excerpts(self.transcript, 2)
        small = self.queries_for_export()
        self.add_excerpts(self.transcript, 25)
        for index in range(4):
            self.add_excerpts(make_transcript(self.project, title=f"More {index}"), 6)
        big = self.queries_for_export()
        self.assertEqual(Excerpt.objects.count(), 51)
        self.assertEqual(small, big)


class DownloadTests(ExportStudy):
    def url(self) -> str:
        return reverse("project_export", args=[self.project.slug])

    def test_a_lead_downloads_the_file_uncached(self):
        self.client.force_login(self.alice)
        response = download_through_a_job(self, self.url(), {"coding": "all"})
        self.assertIn("no-store", response["Cache-Control"])
        self.assertIn('filename="peer-workers-', response["Content-Disposition"])
        self.assertTrue(response["Content-Disposition"].rstrip('"').endswith(".qdpx"))
        root = qde(response.getvalue())
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        self.assertEqual(len(xpath(root, "//q:PlainTextSelection")), 4)
        event = AuditEvent.objects.filter(project_id=self.project.pk).latest("seq")
        self.assertEqual((event.verb, event.actor), ("project.exported", self.alice))

    def test_the_options_reach_the_file(self):
        self.client.force_login(self.alice)
        response = download_through_a_job(self, self.url(), {"coding": "consensus", "transcripts": [self.emoji.pk]})
        root = qde(response.getvalue())
        self.assertEqual([s.get("name") for s in xpath(root, "//q:TextSource")], ["Interview 8"])
        self.assertEqual(len(xpath(root, "//q:PlainTextSelection")), 1)
        self.assertIn("-consensus-", response["Content-Disposition"])

    def test_progress_counts_the_transcripts_written(self):
        self.client.force_login(self.alice)
        job = started_job(self, self.url(), {"coding": "all"})
        run_worker()
        job.refresh_from_db()
        n = self.project.transcripts.count()
        self.assertEqual((job.status, job.done, job.total), (Job.Status.DONE, n, n))

    def test_a_lead_who_is_no_longer_one_when_it_runs_gets_nothing(self):
        self.client.force_login(self.alice)
        job = started_job(self, self.url(), {"coding": "all"})
        Membership.objects.filter(project=self.project, user=self.alice).update(role=Membership.Role.CODER)
        run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.message), (Job.Status.FAILED, "Only a lead of the project may export the whole project."))
        self.assertFalse(AuditEvent.objects.filter(verb="project.exported").exists())

    def test_members_without_the_role_get_403_and_outsiders_404(self):
        before = AuditEvent.objects.count()
        for user, status in [(self.oscar, 404), (self.rita, 403), (self.bob, 403)]:
            self.client.force_login(user)
            self.assertEqual(self.client.post(self.url()).status_code, status)
        self.client.logout()
        self.assertEqual(self.client.post(self.url()).status_code, 302)
        self.assertEqual(AuditEvent.objects.count(), before)
        self.assertFalse(Job.objects.exists())

    def test_a_transcript_of_another_project_is_refused_and_nothing_is_exported(self):
        other = make_transcript(self.other_project, title="Elsewhere")
        before = AuditEvent.objects.count()
        self.client.force_login(self.alice)
        response = self.client.post(self.url(), {"transcripts": [other.pk]})
        self.assertRedirects(response, reverse("project_detail", args=[self.project.slug]))
        self.assertEqual(AuditEvent.objects.count(), before)
        self.assertFalse(Job.objects.exists())

    def test_the_project_page_offers_the_download_to_leads_only(self):
        page = reverse("project_detail", args=[self.project.slug])
        self.client.force_login(self.alice)
        response = self.client.get(page)
        self.assertContains(response, 'id="project-export-form"')
        self.assertContains(response, f'action="{self.url()}"')
        for user in (self.bob, self.rita):
            self.client.force_login(user)
            self.assertNotContains(self.client.get(page), "project-export-form")


class CommandTests(ExportStudy):
    def test_the_command_writes_a_valid_file(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "study.qdpx"
            out = io.StringIO()
            call_command("export_project", self.project.slug, str(path), stdout=out)
            root = qde(path.read_bytes())
            self.assertEqual(sorted(p.name for p in Path(folder).iterdir()), ["study.qdpx"])
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        self.assertEqual(len(xpath(root, "//q:PlainTextSelection")), 4)
        self.assertIn("4 selections", out.getvalue())
        event = AuditEvent.objects.filter(project_id=self.project.pk).latest("seq")
        self.assertEqual((event.verb, event.actor_name), ("project.exported", "system"))

    def test_the_command_takes_the_options(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "study.qdpx"
            call_command("export_project", self.project.slug, str(path), "--consensus-only",
                         "--transcript", "Interview 8", stdout=io.StringIO())
            root = qde(path.read_bytes())
        self.assertEqual([s.get("name") for s in xpath(root, "//q:TextSource")], ["Interview 8"])
        self.assertEqual(len(xpath(root, "//q:PlainTextSelection")), 1)

    def test_the_command_refuses_what_it_cannot_find(self):
        with tempfile.TemporaryDirectory() as folder:
            for args, message in [
                (["nope", f"{folder}/x.qdpx"], "no project"),
                ([self.project.slug, f"{folder}/x.zip"], ".qdpx"),
                ([self.project.slug, f"{folder}/x.qdpx", "--transcript", "Missing"], "no transcript"),
            ]:
                with self.subTest(args=args), self.assertRaisesMessage(CommandError, message):
                    call_command("export_project", *args, stdout=io.StringIO())
            self.assertEqual(list(Path(folder).iterdir()), [])


class DemoStudyTests(BaseTestCase):
    def test_the_demo_study_exports_a_valid_file_that_quotes_every_excerpt(self):
        call_command("load_demo", quiet_logins=True, stdout=io.StringIO())
        demo = Project.objects.get(slug="peer-workers-demo")
        lead = Membership.objects.filter(project=demo, role="lead").first().user
        data = io.BytesIO()
        summary = export_project(demo, data, by=lead)
        root = qde(data.getvalue())
        self.assertTrue(SCHEMA.validate(root), SCHEMA.error_log)
        excerpts = Excerpt.objects.filter(transcript__project=demo)
        self.assertEqual(summary.selections, excerpts.count())
        self.assertEqual(len(xpath(root, "//q:PlainTextSelection")), excerpts.count())
        texts = source_texts(data.getvalue())
        quotes = sorted(excerpts.values_list("quote", flat=True))
        found = sorted(
            texts[s.getparent().get("guid")][int(s.get("startPosition")) : int(s.get("endPosition"))]
            for s in xpath(root, "//q:PlainTextSelection")
        )
        self.assertEqual(found, quotes)
