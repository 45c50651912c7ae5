"""REFI-QDA projects: the sample files of four tools, the round trip, the schema, hostile archives.

Expected counts are written down as literals and checked against the files themselves with
lxml XPath, so neither depends on the reader under test.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from transcripts.interop.codebook import Theme
from transcripts.interop.readers.base import ImportRefused
from transcripts.interop.qdpx import (
    Case,
    Code,
    Coding,
    Note,
    NoteTarget,
    Project,
    Selection,
    Set,
    TextSource,
    User,
    Variable,
    VariableValue,
    describe_left_out,
    read_project,
    write_project,
)
from transcripts.interop.qdpx.offsets import CODE_POINTS, UTF16, PositionMap
from transcripts.interop.qdpx.themes import code_from_theme, theme_from_code

DATA = Path(__file__).parent / "data" / "refi-qda"
NS = {"q": "urn:QDA-XML:project:1.0"}
UTC = datetime.UTC


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def project_xml(name: str) -> etree._Element:
    data = sample(name)
    if name.endswith(".qdpx"):
        data = zipfile.ZipFile(io.BytesIO(data)).read("project.qde")
    return etree.fromstring(data)


def xpath_count(root: etree._Element, path: str) -> int:
    return int(root.xpath(f"count({path})", namespaces=NS))


def project_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "Project.xsd")))


def qde_of(data: bytes) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("project.qde"))


# The samples -----------------------------------------------------------------------------------------

FILE_COUNTS = {  # counted in the XML: users, codes, text sources, plain-text selections, their codings, ...
    "qc-1.3.2_demo.qdpx": {"users": 1, "codes": 262, "text_sources": 2, "selections": 158, "codings": 205, "notes": 0, "sets": 0},
    "nvivo-mac-15.0_codes-only.qdpx": {"users": 2, "codes": 262, "text_sources": 2, "selections": 0, "codings": 0, "notes": 0, "sets": 0},
    "atlasti-8.4_standard-project.qde": {"users": 3, "codes": 14, "text_sources": 6, "selections": 6, "codings": 7, "notes": 2, "sets": 16},
}
XPATHS = {
    "users": "/q:Project/q:Users/q:User",
    "codes": "/q:Project/q:CodeBook//q:Code",
    "text_sources": "/q:Project/q:Sources/q:TextSource",
    "selections": "/q:Project/q:Sources/q:TextSource/q:PlainTextSelection",
    "codings": "/q:Project/q:Sources/q:TextSource/q:PlainTextSelection/q:Coding",
    "notes": "/q:Project/q:Notes/q:Note",
    "sets": "/q:Project/q:Sets/q:Set",
}


@pytest.mark.parametrize("name", sorted(FILE_COUNTS))
def test_the_literal_counts_are_what_the_files_hold(name):
    root = project_xml(name)
    assert {key: xpath_count(root, path) for key, path in XPATHS.items()} == FILE_COUNTS[name]


def test_qc_demo_reads_with_every_selection_quoting_the_line_qc_named():
    project = read_project("qc-1.3.2_demo.qdpx", sample("qc-1.3.2_demo.qdpx"))
    assert project.origin == "qc 1.3.2" and project.offset_reading == CODE_POINTS
    assert project.counts() == {
        "sources": 2, "codes": 262, "selections": 158, "codings": 205, "notes": 0, "cases": 0, "variables": 0, "users": 1,
    }
    assert not project.left_out and project.messages == []
    board, admin = project.sources
    assert (board.name, board.text_from, len(board.text)) == ("board_2017", "sources/board_2017.txt", 52543)
    assert (admin.name, len(admin.text), admin.selections) == ("admin-1", 31906, [])
    # qc names each selection "line:N" and selects that line (counted from 0) with its line feed.
    lines = board.text.split("\n")
    for selection in board.selections:
        line = int(selection.name.removeprefix("line:"))
        assert board.text[selection.start : selection.end] == lines[line] + "\n"
    first = board.selections[0]
    assert (first.guid, first.start, first.end) == ("37323865-3734-6533-3337-623138653238", 320, 400)
    assert [c.code_guid for c in first.codings] == ["37613432-3130-6635-3839-613934656566"]
    assert first.codings[0].creating_user == project.users[0].guid == "39633935-3331-3962-6632-373436373264"
    assert max(depth(code) for code in project.codes) == 7


def depth(code: Code) -> int:
    return 1 + max((depth(child) for child in code.children), default=0)


def test_nvivo_mac_codes_only_reads_its_codebook_and_says_its_sources_are_empty():
    project = read_project("nvivo-mac-15.0_codes-only.qdpx", sample("nvivo-mac-15.0_codes-only.qdpx"))
    assert project.origin == "NVivo for Mac 15.0.0"
    assert [(u.name, u.id, u.email) for u in project.users] == [("chrisp", "CP", ""), ("cp", "C", "")]
    assert len(project.all_codes()) == 262 and max(depth(code) for code in project.codes) == 7
    assert project.sources == []  # its two .txt members hold one line feed each
    assert project.left_out == {"empty_text_source": 2}
    assert describe_left_out(project.left_out) == "2 text sources with no text"


def test_atlas_ti_standard_project_counts_everything_it_leaves_out():
    project = read_project("atlasti-8.4_standard-project.qde", sample("atlasti-8.4_standard-project.qde"))
    assert project.name == "ATLAS.ti standard project" and project.origin.startswith("ATLAS.ti 8.4.0")
    assert [u.name for u in project.users] == ["ATLAS.ti", "Friedrich Markgraf", "Sebastian Petrausch"]
    codes = project.all_codes()
    assert len(codes) == 14 and all(code.children == [] for code in codes)  # ATLAS.ti flattens "Coke::diet Coke"
    diet = next(code for code in codes if code.name == "Coke::diet Coke")
    assert (diet.guid, diet.color, diet.description) == ("d299efae-5779-46dc-9827-a3d1a5d544bc", "#966450", "non sucré")
    assert [(n.name, n.text) for n in project.notes] == [
        ("Research Plan", "This is a great project by a dynamic team of researcher-developers. "),
        ("My favorite Coke ad", "This version is much better than the new Director\u2019s cut "),
    ]
    # A bare .qde: its six text sources point at .txt files that are not in it.
    assert project.sources == []
    assert len(project.sets) == 16 and project.sets[1].name == "gender: male"
    assert dict(project.left_out) == {
        "pdf_source": 2, "picture_source": 1, "audio_source": 1, "video_source": 2,
        "text_source_without_text": 6, "selection_in_source_without_text": 6,
        "pdf_selection": 4, "picture_selection": 1, "video_selection": 2, "media_transcript": 3,
        "set": 16, "graph": 1, "link": 1,
    }
    root = project_xml("atlasti-8.4_standard-project.qde")
    assert project.left_out["pdf_selection"] == xpath_count(root, "//q:PDFSource/q:PDFSelection")
    assert project.left_out["media_transcript"] == xpath_count(root, "//q:VideoSource/q:Transcript | //q:AudioSource/q:Transcript")
    sentence = describe_left_out(project.left_out)
    assert sentence.startswith("2 PDF sources, 1 picture source, 1 audio source, 2 video sources, ")
    assert sentence.endswith("16 sets, 1 graph and 1 link")


# A file written the way NVivo for Windows counts: UTF-16 units ------------------------------------------

CODE_GUID = "5b1e2c3d-0000-4000-8000-000000000001"
USER_GUID = "5b1e2c3d-0000-4000-8000-0000000000aa"
TEXT = "Interviewer: How was it? 😀\nAna: I felt 💪 after the group, honestly. 🙌 Then work.\n"


def qdpx(xml: str, members: dict[str, bytes] | None = None, *, qde_name: str = "project.qde") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(qde_name, xml)
        for name, data in (members or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def project_with(selections: str, *, source: str = "", codes: str = "") -> str:
    codes = codes or f'<Code guid="{CODE_GUID}" name="Energy" isCodable="true"/>'
    source = source or 'plainTextPath="internal://5B1E2C3D-0000-4000-8000-0000000000F1.txt"'
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="Windows study" origin="NVivo 14 for Windows">'
        f'<Users><User guid="{USER_GUID}" name="Ana R." id="ana@example.org"/></Users>'
        f"<CodeBook><Codes>{codes}</Codes></CodeBook>"
        f'<Sources><TextSource guid="5b1e2c3d-0000-4000-8000-0000000000f1" name="Ana" {source}>{selections}</TextSource></Sources>'
        "</Project>"
    )


def selection(start: int, end: int, code: str = CODE_GUID, guid_tail: str = "01") -> str:
    return (
        f'<PlainTextSelection guid="5b1e2c3d-0000-4000-8000-0000000001{guid_tail}" startPosition="{start}" endPosition="{end}">'
        f'<Coding guid="5b1e2c3d-0000-4000-8000-0000000002{guid_tail}" creatingUser="{USER_GUID}" creationDateTime="2024-05-01T10:00:00Z">'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


def windows_file() -> bytes:
    positions = PositionMap(TEXT)
    spans = [(TEXT.index(word), TEXT.index(word) + len(word)) for word in ("after the group", "Then work", "honestly")]
    units = [(positions.from_code_points(s, UTF16), positions.from_code_points(e, UTF16)) for s, e in spans]
    xml = project_with("".join(selection(s, e, guid_tail=f"{i:02d}") for i, (s, e) in enumerate(units)))
    # The .txt member carries a BOM, as Windows tools often write it; it is not part of the text.
    return qdpx(xml, {"Sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt": b"\xef\xbb\xbf" + TEXT.encode()})


def test_utf16_positions_are_detected_and_every_selection_quotes_what_was_highlighted():
    project = read_project("windows.qdpx", windows_file())
    assert project.offset_reading == UTF16
    (source,) = project.sources
    assert source.text == TEXT and source.text_from == "Sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt"
    assert [source.text[s.start : s.end] for s in source.selections] == ["after the group", "Then work", "honestly"]
    assert project.users == [User(USER_GUID, "Ana R.", "ana@example.org", "ana@example.org")]
    coding = source.selections[0].codings[0]
    assert (coding.code_guid, coding.creating_user, coding.created) == (CODE_GUID, USER_GUID, datetime.datetime(2024, 5, 1, 10, tzinfo=UTC))
    assert project.messages == [
        "Selection positions were counted in UTF-16 code units, not in characters as REFI-QDA says "
        "(NVivo for Windows counts UTF-16 code units); they were converted."
    ]


def test_a_file_object_reads_like_bytes():
    assert read_project("windows.qdpx", io.BytesIO(windows_file())).counts() == read_project("w.qdpx", windows_file()).counts()


def test_a_tie_between_counting_emoji_as_one_or_two_is_said_and_nvivo_for_windows_breaks_it():
    # 2-5 in "😀 ab cd" is "ab " in code points and " ab" in UTF-16 units: both sit between words.
    members = {"sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt": "😀 ab cd".encode()}
    tie = project_with(selection(2, 5))
    for origin, reading, quote in (("NVivo 14 for Windows", UTF16, " ab"), ("MAXQDA 2022", CODE_POINTS, "ab ")):
        project = read_project("tie.qdpx", qdpx(tie.replace("NVivo 14 for Windows", origin), members))
        assert project.offset_reading == reading
        selected = project.sources[0].selections[0]
        assert project.sources[0].text[selected.start : selected.end] == quote
        assert project.messages[-1].startswith("Selection positions fit ")


def test_plain_text_content_in_a_bare_qde_is_read():
    xml = project_with(f"<PlainTextContent>{TEXT[:24]}</PlainTextContent>" + selection(0, 11), source=" ")
    project = read_project("bare.qde", xml.encode())
    (source,) = project.sources
    assert source.text_from == "PlainTextContent" and source.text[0:11] == "Interviewer"
    assert source.selections[0].end == 11 and project.offset_reading == CODE_POINTS


# Round trip and schema ---------------------------------------------------------------------------------


def g(n: int) -> str:
    return f"0c0ffee0-0000-4000-8000-{n:012x}"


def full_project() -> Project:
    when = datetime.datetime(2024, 5, 1, 9, 30, 15, tzinfo=UTC)
    community = Theme(
        name="Sense of community", color="#a5d6a7", guid=g(10), definition="Belonging to a group.",
        inclusion="Group rituals.", typical_example="We always meet on Fridays.",
        children=[Theme(name="Group chat", guid=g(11)), Theme(name="Old name", guid=g(12), archived=True)],
    )
    text = "Ana: I felt 💪 after the group.\r\nBo: Same 🙌, really.\n"
    felt = text.index("felt")
    source = TextSource(
        guid=g(20), name="Interview Ana", text=text, description="First interview",
        creating_user=g(1), created=when, modifying_user=g(2), modified=when,
        values=[VariableValue(g(30), "Madrid")],
        selections=[
            Selection(g(40), g(20), felt, felt + 6, name="felt 💪", creating_user=g(1), created=when,
                      codings=[Coding(g(50), g(10), g(1), when), Coding(g(51), g(11), g(2), when)]),
            Selection(g(41), g(20), text.index("Same"), len(text) - 1, creating_user=g(2), created=when,
                      codings=[Coding(g(52), g(11), g(2), when)]),
        ],
    )
    return Project(
        name="Round trip", origin="peercoding", description="A study & its <notes>",
        creating_user=g(1), created=when,
        users=[User(g(1), "Alice Lead", "alice@example.org", "alice@example.org"), User(g(2), "Bob", "", "")],
        codes=[code_from_theme(community), Code(g(13), "Barriers", "#fa0", description="Things in the way.")],
        variables=[
            Variable(g(30), "City", "Text"), Variable(g(31), "Age", "Float", "Years at interview", label="Age then"),
            Variable(g(32), "Interviewed", "Date"), Variable(g(33), "Role", "Text", choices=["Nurse", "Doctor"], label="Job"),
        ],
        cases=[Case(g(60), "P01", "First participant", [VariableValue(g(31), "34.5"), VariableValue(g(32), "2024-04-30"),
                                                        VariableValue(g(33), "Nurse"), VariableValue(g(30), "Madrid")], [g(20)])],
        sources=[source, TextSource(g(21), "Empty-ish", "Only one line.")],
        notes=[
            Note(g(70), "Project memo", "Why we started.", creating_user=g(1), created=when, attached_to=[NoteTarget("project", "")]),
            Note(g(71), "Code memo", "Tricky\r\ncode.", attached_to=[NoteTarget("code", g(11))]),
            Note(g(72), "Source memo", "Long interview.", attached_to=[NoteTarget("source", g(20))]),
            Note(g(73), "Excerpt memo", "Key quote.", attached_to=[NoteTarget("selection", g(40)), NoteTarget("coding", g(50))]),
        ],
        sets=[Set(g(80), "Core codes", code_guids=[g(10), g(13)], source_guids=[g(20)])],
    )


def write(project: Project) -> bytes:
    buffer = io.BytesIO()
    write_project(project, buffer)
    return buffer.getvalue()


def test_a_written_project_validates_against_project_xsd():
    data = write(full_project())
    schema = project_schema()
    assert schema.validate(qde_of(data)), schema.error_log
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == [f"sources/{g(20).upper()}.txt", f"sources/{g(21).upper()}.txt", "project.qde"]
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read(names[0]) == full_project().sources[0].text.encode("utf-8")  # exactly the stored text
    root = qde_of(data)
    sel = root.find(".//q:PlainTextSelection", NS)
    text = full_project().sources[0].text
    assert (int(sel.get("startPosition")), int(sel.get("endPosition"))) == (text.index("felt"), text.index("felt") + 6)
    source = root.find(".//q:TextSource", NS)
    assert source.get("plainTextPath") == f"internal://{g(20).upper()}.txt"
    assert [v.get("typeOfVariable") for v in root.findall(".//q:Variable", NS)] == ["Text", "Float", "Date", "Text"]
    assert [c.tag.split("}")[1] for c in root.find(".//q:Case", NS).iter() if c.tag.endswith("Value")] == [
        "VariableValue", "FloatValue", "VariableValue", "DateValue", "VariableValue", "TextValue", "VariableValue", "TextValue"
    ]
    old = root.find(".//q:Code[@name='Old name']", NS)
    assert old.get("isCodable") == "false"


def test_write_then_read_gives_back_the_same_project():
    original = full_project()
    again = read_project("round.qdpx", write(original))
    assert again.offset_reading == CODE_POINTS and again.messages == []
    assert again.left_out == {"set": 1}  # read back, and counted because peercoding has no such sets yet
    for source in original.sources:
        source.text_from = f"sources/{source.guid.upper()}.txt"
    original.codes[1].color = "#ffaa00"  # "#fa0" is written as given and read back in full
    for name in ("name", "description", "users", "codes", "variables", "cases", "sources", "notes", "sets"):
        assert getattr(again, name) == getattr(original, name), name
    assert (again.creating_user, again.created) == (original.creating_user, original.created)
    assert [theme_from_code(code) for code in again.codes[:1]] == [
        Theme(name="Sense of community", color="#a5d6a7", guid=g(10), definition="Belonging to a group.",
              inclusion="Group rituals.", typical_example="We always meet on Fridays.",
              children=[Theme(name="Group chat", guid=g(11)), Theme(name="Old name", guid=g(12), archived=True)])
    ]
    assert again.variables[3].kind == "choice" and again.variables[1].kind == "number"


def test_a_variable_label_is_a_paragraph_that_only_a_peercoding_file_reads_as_a_label():
    root = qde_of(write(full_project()))
    descriptions = [v.findtext("q:Description", "", NS) for v in root.findall(".//q:Variable", NS)]
    assert descriptions[1] == "Years at interview\n\nLabel:\nAge then"
    assert descriptions[3] == "Label:\nJob\n\nChoices:\nNurse\nDoctor"
    other = full_project()
    other.origin = "MAXQDA 2024"
    again = read_project("other.qdpx", write(other))
    assert [(v.description, v.label) for v in again.variables[1::2]] == [
        ("Years at interview\n\nLabel:\nAge then", ""),
        ("Label:\nJob", ""),
    ]


def test_the_writer_streams_sources_from_a_generator_to_an_unseekable_stream():
    class Sink:
        def __init__(self):
            self.chunks = []

        def write(self, data):
            self.chunks.append(bytes(data))
            return len(data)

        def flush(self):
            pass

    project = full_project()
    loaded = []

    def sources():
        for source in full_project().sources:
            loaded.append(source.guid)
            yield source

    project.sources = sources()
    sink = Sink()
    result = write_project(project, sink)
    assert (result.sources, result.selections, loaded) == (2, 2, [g(20), g(21)])
    again = read_project("streamed.qdpx", b"".join(sink.chunks))
    assert [s.text for s in again.sources] == [s.text for s in full_project().sources]


def test_control_characters_are_never_written():
    project = full_project()
    project.codes[1].name = "Bar\x01riers"
    project.codes[1].description = "Line\x0bbreak and\x00 nul"
    project.notes[0].text = "Memo\x1b[0m"
    buffer = io.BytesIO()
    result = write_project(project, buffer)
    assert result.removed == 4
    root = qde_of(buffer.getvalue())
    assert project_schema().validate(root)
    again = read_project("clean.qdpx", buffer.getvalue())
    assert (again.codes[1].name, again.codes[1].description, again.notes[0].text) == ("Barriers", "Line\nbreak and nul", "Memo[0m")


def test_an_empty_project_is_still_valid():
    data = write(Project(name="Nothing yet"))
    assert project_schema().validate(qde_of(data)), project_schema().error_log
    assert read_project("empty.qdpx", data).counts() == dict.fromkeys(
        ("sources", "codes", "selections", "codings", "notes", "cases", "variables", "users"), 0
    )


def test_the_writer_refuses_a_selection_outside_its_source():
    project = full_project()
    project.sources[0].selections[0].end = 10_000
    with pytest.raises(ValueError, match="outside its source"):
        write(project)


# Refusals ----------------------------------------------------------------------------------------------


def refusal(name: str, data: bytes, **options) -> str:
    with pytest.raises(ImportRefused) as caught:
        read_project(name, data, **options)
    return caught.value.message


def test_files_that_are_not_projects_are_refused_by_name():
    assert "is not a zip archive" in refusal("study.qdpx", b"<Project/>")
    assert "no project.qde" in refusal("study.qdpx", qdpx("<x/>", qde_name="readme.txt"))
    assert "does not parse" in refusal("study.qdpx", qdpx("<Project name='x'><Users>"))
    assert "not a REFI-QDA project" in refusal("study.qde", b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>')
    assert "is empty" in refusal("study.qde", b"")


def test_entities_and_doctypes_are_refused():
    bomb = '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Project name="&b;"/>'
    assert "declares a DTD or XML entities" in refusal("bomb.qdpx", qdpx(bomb))
    external = '<?xml version="1.0"?><!DOCTYPE p SYSTEM "file:///etc/passwd"><Project name="x"/>'
    assert "declares a DTD" in refusal("ext.qde", external.encode())


def test_a_selection_outside_its_source_is_refused():
    xml = project_with(selection(5, 500))
    message = refusal("long.qdpx", qdpx(xml, {"sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt": TEXT.encode()}))
    assert "runs from 5 to 500" in message and "Ana" in message


def test_a_coding_of_a_code_not_in_the_codebook_is_refused():
    xml = project_with(selection(0, 11, code="5b1e2c3d-0000-4000-8000-00000000dead"))
    message = refusal("ghost.qdpx", qdpx(xml, {"sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt": TEXT.encode()}))
    assert "5b1e2c3d-0000-4000-8000-00000000dead" in message and "not in the codebook" in message


def test_two_codes_with_one_guid_are_refused():
    codes = f'<Code guid="{CODE_GUID}" name="A" isCodable="true"/><Code guid="{{{CODE_GUID.upper()}}}" name="B" isCodable="true"/>'
    assert "two codes share the GUID" in refusal("twins.qde", project_with("", codes=codes, source=" ").encode())


def test_path_traversal_is_refused_in_member_names_and_in_paths():
    member = qdpx(project_with(""), {"../../etc/cron.d/evil": b"x"})
    assert "outside the project" in refusal("trav.qdpx", member)
    path = project_with("", source='plainTextPath="internal://../../secret.txt"')
    assert "outside the project" in refusal("trav.qdpx", qdpx(path))


def test_an_encrypted_source_member_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", project_with(""))
        archive.writestr("sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt", TEXT.encode())
        archive.filelist[-1].flag_bits |= 0x1  # zipfile cannot encrypt; mark it so in the central directory
    assert "encrypted" in refusal("locked.qdpx", buffer.getvalue())


def test_a_zip_bomb_among_the_sources_is_refused():
    bomb = qdpx(project_with(""), {"sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt": b"a" * (8 * 1024 * 1024)})
    assert "compressed more than" in refusal("bomb.qdpx", bomb)


def test_the_per_archive_limit_counts_only_what_is_read_and_names_its_setting():
    text = "word " * 40_000  # 200,000 bytes of text
    video = bytes(range(256)) * 4096  # 1 MB that does not compress, never read
    xml = project_with("", source='plainTextPath="internal://5B1E2C3D-0000-4000-8000-0000000000F1.txt"').replace(
        "</Sources>", '<VideoSource guid="5b1e2c3d-0000-4000-8000-0000000000f2" path="internal://clip.mp4"/></Sources>'
    )
    members = {"sources/5B1E2C3D-0000-4000-8000-0000000000F1.txt": text.encode(), "sources/clip.mp4": video}
    project = read_project("media.qdpx", qdpx(xml, members), max_bytes=300_000)
    assert project.sources[0].text == text and project.left_out == {"video_source": 1}
    message = refusal("media.qdpx", qdpx(xml, members), max_bytes=150_000, limit_setting="PROJECT_IMPORT_MAX_BYTES")
    assert "limit for project archives (the setting PROJECT_IMPORT_MAX_BYTES)" in message


def test_only_a_peercoding_file_has_a_consensus_user():
    users = [User(g(1), "Ana"), User(g(2), "Consensus", id="peercoding:consensus")]
    assert Project("p", origin="peercoding", users=users).consensus_user() == g(2)
    assert Project("p", origin="MAXQDA 2024", users=users).consensus_user() == ""
    assert Project("p", origin="peercoding", users=users[:1]).consensus_user() == ""
