"""peercoding -> .qdpx -> peercoding is lossless: the demo study, with a consensus, memos on
everything, an archived code and typed attributes, exported, imported as a new project and
exported again gives the same file (GUIDs of users, sources, selections, cases, variables and
notes aside: they are made from the project and may differ) and the same rows; a second trip
gives what the first did.

The files are compared through lxml, not our reader, so a field our reader drops still counts.
"""

from __future__ import annotations

import io
import zipfile

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import TestCase
from lxml import etree

from transcripts import actions
from transcripts.management.commands.load_demo import SLUG
from transcripts.models import Attribute, AttributeValue, Excerpt, Memo, Participant, Project
from transcripts.project_export import CONSENSUS_USER_ID, export_project

NS = {"q": "urn:QDA-XML:project:1.0"}


def exported(project: Project) -> bytes:
    out = io.BytesIO()
    export_project(project, out)  # every coder's coding and the consensus
    return out.getvalue()


def imported(data: bytes, slug: str, lead: User) -> tuple[Project, actions.PreparedImport]:
    """The file as a new project, each file user mapped to the account of the same username."""
    prepared = actions.prepare_project_import(actions.read_project_file(f"{slug}.qdpx", data), f"{slug}.qdpx")
    file_ids = {user.guid: user.id for user in prepared.project.users}
    accounts = {user.username: user for user in User.objects.all()}
    mapping = {u.guid: accounts[file_ids[u.guid]] for u in prepared.users if file_ids[u.guid] in accounts}
    result = actions.import_project(prepared, name="Round trip", slug=slug, by=lead, mapping=mapping)
    return result.project, prepared


def xpath(element, path: str) -> list:
    return element.xpath(path, namespaces=NS)


def file_content(data: bytes) -> dict:
    """What a .qdpx says, with the GUIDs that are made per project replaced by what they name."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(archive.read("project.qde"))
    users = {u.get("guid"): u.get("id") for u in xpath(root, "/q:Project/q:Users/q:User")}
    sources = {s.get("guid"): s.get("name") for s in xpath(root, "//q:Sources/q:TextSource")}
    variables = {v.get("guid"): v.get("name") for v in xpath(root, "//q:Variables/q:Variable")}
    selections = {
        s.get("guid"): (sources[s.getparent().get("guid")], int(s.get("startPosition")), int(s.get("endPosition")),
                        users[s.get("creatingUser")])
        for s in xpath(root, "//q:PlainTextSelection")
    }
    named = {**sources, **selections, "": "project"}
    codes = [
        (
            code.get("guid"), code.get("name"), code.get("color"), code.get("isCodable"),
            "".join(xpath(code, "q:Description/text()")),
            [c.get("guid") for c in xpath(code, "ancestor::q:Code")],
        )
        for code in xpath(root, "//q:CodeBook//q:Code")
    ]
    cases = sorted(
        (
            case.get("name"),
            sorted((variables[v.find("q:VariableRef", NS).get("targetGUID")], etree.QName(v[1]).localname, v[1].text)
                   for v in xpath(case, "q:VariableValue")),
            sorted(sources[ref.get("targetGUID")] for ref in xpath(case, "q:SourceRef")),
        )
        for case in xpath(root, "//q:Cases/q:Case")
    )
    notes = {}
    for holder in xpath(root, "//*[q:NoteRef]"):
        target = named.get(holder.get("guid") or "", holder.get("guid"))
        for ref in xpath(holder, "q:NoteRef"):
            notes.setdefault(ref.get("targetGUID"), []).append((etree.QName(holder).localname, target))
    return {
        "project": (root.get("name"), root.get("origin"), "".join(xpath(root, "q:Description/text()"))),
        "users": sorted((u.get("name"), u.get("id")) for u in xpath(root, "//q:Users/q:User")),
        "codes": codes,
        "variables": [(v.get("name"), v.get("typeOfVariable"), "".join(xpath(v, "q:Description/text()")))
                      for v in xpath(root, "//q:Variables/q:Variable")],
        "cases": cases,
        "sources": sorted(
            (s.get("name"), archive.read("sources/" + s.get("plainTextPath").removeprefix("internal://")).decode("utf-8"),
             users.get(s.get("creatingUser")))
            for s in xpath(root, "//q:Sources/q:TextSource")
        ),
        "selections": sorted(
            (
                *selections[s.get("guid")],
                users[s.get("modifyingUser")],
                s.get("name"),
                sorted((c.find("q:CodeRef", NS).get("targetGUID"), users[c.get("creatingUser")]) for c in xpath(s, "q:Coding")),
            )
            for s in xpath(root, "//q:PlainTextSelection")
        ),
        "notes": sorted(
            (n.get("name", ""), "".join(xpath(n, "q:PlainTextContent/text()")), users[n.get("creatingUser")],
             sorted(notes.get(n.get("guid"), [])))
            for n in xpath(root, "//q:Notes/q:Note")
        ),
    }


def database_content(project: Project) -> dict:
    """What the project holds, by name rather than by primary key."""
    excerpts = Excerpt.objects.filter(transcript__project=project).select_related("transcript", "coder")
    attributes = project.attributes.order_by("order", "name")
    return {
        "transcripts": sorted(
            (t.title, t.text, t.participant.label if t.participant else None)
            for t in project.transcripts.select_related("participant")
        ),
        "excerpts": sorted(
            (e.transcript.title, e.start, e.end, e.quote, e.coder.username, e.is_consensus, e.memo,
             sorted(e.codes.values_list("name", flat=True)))
            for e in excerpts
        ),
        "codes": [
            (c.name, c.parent.name if c.parent else None, c.color, c.definition, c.inclusion, c.exclusion,
             c.typical_example, c.atypical_example, c.order, c.archived, str(c.guid))
            for c in project.codes.select_related("parent").order_by("parent__name", "order", "name")
        ],
        # In their order; REFI-QDA has no place for the numbers themselves, so gaps close up.
        "attributes": [(a.name, a.label, a.kind, a.choices) for a in attributes],
        "participants": sorted(
            (p.label, sorted((v.attribute.name, v.value, v.number, v.date) for v in p.values.select_related("attribute")))
            for p in Participant.objects.filter(project=project)
        ),
        "memos": sorted(
            (m.title, m.body, m.author.username, m.transcript.title if m.transcript else None, m.code.name if m.code else None)
            for m in Memo.objects.filter(project=project).select_related("author", "transcript", "code")
        ),
    }


class DemoRoundTripTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        call_command("load_demo", quiet_logins=True, stdout=io.StringIO())
        cls.lead = User.objects.get(username="pi")
        cls.demo = Project.objects.get(slug=SLUG)
        cls.add_what_the_demo_lacks(cls.demo, cls.lead)
        cls.first_file = exported(cls.demo)
        cls.copy, cls.prepared = imported(cls.first_file, "round-trip", cls.lead)
        cls.second_file = exported(cls.copy)
        cls.second_copy, _ = imported(cls.second_file, "round-trip-2", cls.lead)
        cls.third_file = exported(cls.second_copy)

    @staticmethod
    def add_what_the_demo_lacks(demo: Project, lead: User) -> None:
        """A consensus, memos on the project, a transcript and a code, an archived code, a relabelled,
        a date and a choice attribute."""
        dana, sam = User.objects.get(username="dana"), User.objects.get(username="sam")
        coded = Excerpt.objects.filter(transcript__project=demo, coder=dana).select_related("transcript").order_by("pk")[0]
        transcript = coded.transcript
        sam_excerpt = Excerpt.objects.filter(transcript=transcript, coder=sam).first()
        codes = list(coded.codes.all())
        actions.settle_consensus(
            transcript, originals=[e for e in (coded, sam_excerpt) if e], versions=[(coded.start, coded.end, codes)],
            choice=f"accept:{dana.pk}", note="Dana's reading holds: the passage is about support.", by=lead,
        )
        actions.settle_consensus(
            transcript, originals=[coded], versions=[(coded.start, coded.start + 5, codes[:1])],
            choice="new", note="Only the opening words.\nSecond line.", by=lead,
        )
        Memo.objects.create(project=demo, author=lead, title="Analytic journal", body="Week one: coding started.")
        Memo.objects.create(project=demo, transcript=transcript, author=sam, title="", body="A long, lively interview.")
        Memo.objects.create(project=demo, code=codes[0], author=dana, title="Scope", body="Peers only, not staff.")
        leaf = demo.codes.filter(children=None, excerpts=None).order_by("pk").first() or demo.codes.order_by("-pk")[0]
        actions.archive_code(leaf, True, by=lead)
        years = demo.attributes.get(name="years_as_peer")
        years.label = "Years in peer work"
        years.save(update_fields=["label"])
        joined = Attribute.objects.create(project=demo, name="joined", kind="date", order=10)
        setting = Attribute.objects.create(project=demo, name="setting", kind="choice", choices=["Rural", "Urban"], order=11)
        for participant in Participant.objects.filter(project=demo).order_by("label")[:3]:
            for attribute, raw in ((joined, "2021-03-04"), (setting, "Rural")):
                value = AttributeValue(participant=participant, attribute=attribute, value=raw)
                value.full_clean()
                value.save()

    def test_the_study_has_what_the_comparison_needs(self):
        demo = database_content(self.demo)
        assert sum(1 for e in demo["excerpts"] if e[5]) == 2  # consensus
        assert sum(1 for e in demo["excerpts"] if e[6] and not e[5]) > 0  # coders' excerpt memos
        assert any(code[9] for code in demo["codes"])  # archived
        assert ("years_as_peer", "Years in peer work", "number") in [a[:3] for a in demo["attributes"]]
        assert len(demo["memos"]) == 3 and {"dana", "sam", "pi"} <= set(e[4] for e in demo["excerpts"])

    def test_the_second_file_says_what_the_first_did(self):
        first, second = file_content(self.first_file), file_content(self.second_file)
        for part in first:
            if part != "project":
                assert second[part] == first[part], part
        assert second["project"][1:] == first["project"][1:]  # the name is the one chosen at import

    def test_the_imported_project_holds_what_the_demo_holds(self):
        demo, copy = database_content(self.demo), database_content(self.copy)
        for part in demo:
            assert copy[part] == demo[part], part

    def test_the_consensus_comes_back_as_consensus_settled_by_the_lead(self):
        consensus = Excerpt.objects.filter(transcript__project=self.copy, is_consensus=True)
        assert consensus.count() == 2 and set(consensus.values_list("coder__username", flat=True)) == {"pi"}
        assert not User.objects.filter(first_name="Consensus").exists()
        assert not User.objects.filter(username__icontains="consensus").exists()
        assert CONSENSUS_USER_ID in {user.id for user in self.prepared.project.users}
        assert len(self.prepared.users) == 3  # pi, dana, sam: no account to map for the consensus
        assert any("consensus" in note.lower() for note in self.prepared.preview_lines())

    def test_a_consensus_that_names_no_lead_is_settled_by_whoever_imports_it(self):
        archive = zipfile.ZipFile(io.BytesIO(self.first_file))
        root = etree.fromstring(archive.read("project.qde"))
        (consensus,) = [u.get("guid") for u in xpath(root, "//q:User") if u.get("id") == CONSENSUS_USER_ID]
        for selection in xpath(root, f"//q:PlainTextSelection[@creatingUser='{consensus}']"):
            del selection.attrib["modifyingUser"]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as changed:
            for member in archive.namelist():
                data = etree.tostring(root) if member == "project.qde" else archive.read(member)
                changed.writestr(member, data)
        project, _ = imported(out.getvalue(), "unnamed-lead", User.objects.get(username="reader"))
        settled = Excerpt.objects.filter(transcript__project=project, is_consensus=True)
        assert sorted(settled.values_list("coder__username", flat=True)) == ["reader", "reader"]

    def test_excerpt_memos_do_not_grow_on_each_trip(self):
        memos = sorted(Excerpt.objects.filter(transcript__project=self.demo).exclude(memo="").values_list("memo", flat=True))
        for project in (self.copy, self.second_copy):
            again = sorted(Excerpt.objects.filter(transcript__project=project).exclude(memo="").values_list("memo", flat=True))
            assert again == memos

    def test_a_second_trip_gives_what_the_first_did(self):
        second, third = file_content(self.second_file), file_content(self.third_file)
        assert third == second
        assert database_content(self.second_copy) == database_content(self.copy)
