"""Transcript importers: happy paths with exact text and turns, and hostile files.

Pure tests: no database. Every file is built here (python-docx, zipfile, or by hand).
"""

from __future__ import annotations

import builtins
import io
import random
import struct
import time
import zipfile
import zlib

import pytest
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transcripts.interop.readers import (
    ACCEPTED_FORMATS,
    ImportRefused,
    ParsedTranscript,
    Turn,
    check_filename,
    parse_transcript,
)
from transcripts.interop import readers
from transcripts.interop.readers import safety
from transcripts.interop.readers.speakers import detect_turns, parse_clock
from transcripts.spans import is_normalized

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)
MB = 1024 * 1024


def refused(filename: str, data: bytes, **kwargs) -> str:
    with pytest.raises(ImportRefused) as info:
        parse_transcript(filename, data, **kwargs)
    return info.value.message


def spans(parsed: ParsedTranscript) -> list[tuple[str, str, str, int | None]]:
    """Each turn as (speaker, whole turn text, body text, time) for readable assertions."""
    text = parsed.text
    return [(t.speaker, text[t.start : t.end], text[t.body_start : t.end], t.time_ms) for t in parsed.turns]


def document_xml(body: str, *, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
        f'<w:document xmlns:w="{W}" xmlns:mc="{MC}"><w:body>{body}</w:body></w:document>'
    ).encode()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_docx(body: str, *, prolog: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    members = {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": document_xml(body, prolog=prolog)}
    members.update(extra or {})
    return zip_bytes(members)


def raw_zip(entries: list[dict], aliases: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A zip written by hand, so that flags, declared sizes and offsets can lie.

    entries: dicts with name, data, and optionally method (0 stored, 8 deflate), flags,
    declared_size. aliases: (new name, existing name) central directory entries that point at
    an existing member's local header - overlapping members.
    """
    out = bytearray()
    records: dict[str, tuple] = {}
    for entry in entries:
        name = entry["name"].encode()
        data = entry.get("data", b"")
        method = entry.get("method", 0)
        if method == 8:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            stored = packer.compress(data) + packer.flush()
        else:
            stored = data
        flags = entry.get("flags", 0)
        crc = zlib.crc32(data)
        size = entry.get("declared_size", len(data))
        records[entry["name"]] = (flags, method, crc, len(stored), size, len(out))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc, len(stored), size, len(name), 0)
        out += name + stored
    central = bytearray()
    rows = [(name, records[name]) for name in records] + [(new, records[old]) for new, old in aliases]
    for name, (flags, method, crc, stored_size, size, offset) in rows:
        encoded = name.encode()
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21, crc, stored_size, size,
            len(encoded), 0, 0, 0, 0, 0, offset,
        )
        central += encoded
    directory_at = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(rows), len(rows), len(central), directory_at, 0)
    return bytes(out)


def docx_entries(document: bytes = b"") -> list[dict]:
    return [
        {"name": "[Content_Types].xml", "data": CONTENT_TYPES},
        {"name": "word/document.xml", "data": document or document_xml("<w:p><w:r><w:t>Hi</w:t></w:r></w:p>")},
    ]


def p(*runs: str) -> str:
    return "<w:p>" + "".join(runs) + "</w:p>"


def r(text: str, *, bold: bool = False) -> str:
    props = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{props}<w:t xml:space="preserve">{text}</w:t></w:r>'


# --- File names, formats, sizes ------------------------------------------------------------


def test_check_filename_trims_and_refuses_paths_and_control_characters():
    assert check_filename("  Interview 7.docx \n") == "Interview 7.docx"
    assert check_filename("Entrevista Jose\u0301.txt") == "Entrevista Jos\u00e9.txt"
    cases = [
        ("../etc/passwd.txt", "slash"),
        ("C:\\Users\\me\\a.txt", "slash"),
        ("a\x00.txt", "control characters"),
        ("a\nb.txt", "control characters"),
        ("evil\u202etxt.exe", "control characters"),
        ("a..b.txt", '".."'),
        ("x" * 252 + ".txt", "longer than 255 characters"),
        ("   ", "has no name"),
    ]
    for name, message in cases:
        with pytest.raises(ImportRefused, match=message):
            check_filename(name)
        assert message in refused(name, b"Interviewer: hi")


def test_it_refuses_unknown_extensions_listing_accepted_formats():
    assert ACCEPTED_FORMATS == (".docx", ".txt", ".vtt", ".srt")
    message = refused("notes.pdf", b"%PDF-1.7")
    assert "imports .docx, .txt, .vtt and .srt files" in message
    assert "\u201cnotes.pdf\u201d" in message
    assert "imports .docx" in refused("README", b"hello")


def test_extension_is_case_insensitive():
    assert parse_transcript("A.TXT", b"Interviewer: hi").format == "txt"


def test_it_refuses_empty_and_whitespace_only_files():
    for extension in ACCEPTED_FORMATS:
        assert "is empty" in refused(f"a{extension}", b"")
    assert "contains no text" in refused("a.txt", b"  \n\t\r\n ")
    assert "contains no text" in refused("a.docx", make_docx(p(r("   "))))


def test_it_refuses_files_over_the_limit_in_mb():
    data = b"Interviewer: hello\n" * (MB // 19 + 1)
    assert "larger than the 1 MB limit" in refused("a.txt", data, max_bytes=MB)
    assert "larger than the 20 MB limit" in refused("a.txt", b"x" * (20 * MB + 1))
    assert parse_transcript("a.txt", data[:MB], max_bytes=MB).text


# --- Plain text -----------------------------------------------------------------------------

TRANSCRIPT = "Interview 3\n\nInterviewer: How did the group start?\nTake your time.\n\nP07: With a chat.\n"


def test_txt_utf8_text_and_turns():
    parsed = parse_transcript("i.txt", TRANSCRIPT.encode())
    assert parsed.format == "txt"
    assert parsed.text == "Interview 3\n\nInterviewer: How did the group start?\nTake your time.\n\nP07: With a chat."
    assert spans(parsed) == [
        ("Interviewer", "Interviewer: How did the group start?\nTake your time.",
         "How did the group start?\nTake your time.", None),
        ("P07", "P07: With a chat.", "With a chat.", None),
    ]
    assert parsed.notes == []
    assert is_normalized(parsed.text)


@pytest.mark.parametrize(
    "data, note",
    [
        (b"\xef\xbb\xbf" + TRANSCRIPT.encode(), None),
        (b"\xff\xfe" + TRANSCRIPT.encode("utf-16-le"), "Read as UTF-16."),
        (b"\xfe\xff" + TRANSCRIPT.encode("utf-16-be"), "Read as UTF-16."),
        (TRANSCRIPT.replace("\n", "\r\n").encode(), None),
        (b"\xff\xfe" + TRANSCRIPT.replace("\n", "\r\n").encode("utf-16-le"), "Read as UTF-16."),
    ],
    ids=["utf8-bom", "utf16-le", "utf16-be", "crlf", "utf16-crlf"],
)
def test_txt_encodings_and_line_ends_give_the_same_text(data, note):
    plain = parse_transcript("i.txt", TRANSCRIPT.encode())
    parsed = parse_transcript("i.txt", data)
    assert parsed.text == plain.text
    assert parsed.turns == plain.turns
    assert ("Read as UTF-16." in parsed.notes) == (note is not None)


def test_txt_refuses_invalid_utf8_naming_line_and_byte():
    data = b"line one\nline two\nbad \xff here"
    message = refused("i.txt", data)
    assert "is not valid UTF-8 text: line 3, byte 22." in message
    assert "Save it as UTF-8 text and try again." in message
    # Latin-1 is never guessed.
    assert "line 1, byte 1" in refused("i.txt", "Año".encode("latin-1"))


def test_txt_refuses_broken_utf16_with_position():
    data = b"\xff\xfe" + "ok\n".encode("utf-16-le") + b"\x00\xd8" + "x".encode("utf-16-le")
    assert "is not valid UTF-16 text: line 2, byte 8" in refused("i.txt", data)


def test_txt_refuses_nul_bytes_and_office_files():
    assert "contains NUL bytes; it looks like a binary file" in refused("i.txt", b"Interviewer:\x00 hi")
    assert "contains NUL" in refused("i.txt", b"\xff\xfe" + "a\x00b".encode("utf-16-le"))
    assert "looks like a Word or other Office file" in refused("i.txt", make_docx(p(r("hi"))))


def test_txt_keeps_markup_verbatim_and_drops_control_characters():
    parsed = parse_transcript("i.txt", b"Interviewer: <script>alert(1)</script> &amp;\x07\n")
    assert parsed.text == "Interviewer: <script>alert(1)</script> &amp;"


# --- Speaker detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, speaker",
    [
        ("Interviewer: So", "Interviewer"),
        ("INTERVIEWER: So", "INTERVIEWER"),
        ("Interviewee: Well", "Interviewee"),
        ("I: So", "I"),
        ("R: Well", "R"),
        ("Q: Why?", "Q"),
        ("A: Because", "A"),
        ("P07: Yes", "P07"),
        ("Participant 7: Yes", "Participant 7"),
        ("Speaker 2: Yes", "Speaker 2"),
        ("  Interviewer :  So", "Interviewer"),
        ("Interviewer:", "Interviewer"),
    ],
)
def test_well_known_labels_start_a_turn_on_their_own(line, speaker):
    turns = detect_turns("Title line\n" + line)
    assert [t.speaker for t in turns] == [speaker]
    assert turns[0].start == len("Title line\n") + len(line) - len(line.lstrip())


def test_other_labels_need_two_lines():
    once = "Note: read the consent form.\nMore text."
    assert detect_turns(once) == []
    names = "Dr. Smith: Hello.\nJane Doe: Hi.\nDr. Smith: Shall we?\nJANE DOE: Yes.\nNote: once"
    assert [t.speaker for t in detect_turns(names)] == ["Dr. Smith", "Jane Doe", "Dr. Smith", "JANE DOE"]
    assert detect_turns("jane doe: lower case\njane doe: is not a name") == []
    assert detect_turns("He said: no.\nHe said: no.") == []  # not capitalised words
    assert detect_turns("Time: 10:30\nhttp://example.org\n10:30: x") == []


def test_turns_span_lines_until_the_next_label_and_skip_leading_lines():
    text = "Interview 3\nInterviewer:\n\n  Where?\n\n\nP07: Here\nand there\n\n"
    turns = detect_turns(text)
    assert [(text[t.start : t.end], text[t.body_start : t.end]) for t in turns] == [
        ("Interviewer:\n\n  Where?", "Where?"),
        ("P07: Here\nand there", "Here\nand there"),
    ]


def test_timestamped_label_lines_start_turns_with_their_time():
    text = "Speaker 2  00:03:14\nSo it began.\nStill me.\n\nJane Doe\t3:15\nRight.\nBob Li  1:02:03.5\nOk"
    parsed = detect_turns(text)
    assert [(t.speaker, t.time_ms, text[t.body_start : t.end]) for t in parsed] == [
        ("Speaker 2", 194_000, "So it began.\nStill me."),
        ("Jane Doe", 195_000, "Right."),
        ("Bob Li", 3_723_500, "Ok"),
    ]
    assert text[parsed[0].start : parsed[0].end].startswith("Speaker 2  00:03:14")


def test_bracketed_times_and_tab_labels():
    text = "[00:01:02] Interviewer: Hi\nSpeaker 1 (00:03): Hello\nInterviewer\tAnd?\nP07\tYes"
    turns = detect_turns(text)
    assert [(t.speaker, t.time_ms, text[t.body_start : t.end]) for t in turns] == [
        ("Interviewer", 62_000, "Hi"),
        ("Speaker 1", 3_000, "Hello"),
        ("Interviewer", None, "And?"),
        ("P07", None, "Yes"),
    ]


def test_parse_clock():
    assert parse_clock("00:03:14") == 194_000
    assert parse_clock("3:14") == 194_000
    assert parse_clock("00:00:01,250") == 1_250
    assert parse_clock("3:75") is None
    assert parse_clock("abc") is None


LABELS = ["Interviewer", "P07", "Speaker 2", "Jane Doe", "Dr. Smith", "I", "Q", "A"]
SPEECH = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
    max_size=30,
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(LABELS)), SPEECH), max_size=25))
def test_turns_are_ordered_disjoint_and_start_with_their_label(lines):
    text = "\n".join(f"{label}: {speech}" if label else speech for label, speech in lines)
    turns = detect_turns(text)
    previous_end = 0
    for turn in turns:
        assert previous_end <= turn.start <= turn.body_start <= turn.end <= len(text)
        assert turn.start < turn.end
        assert text[turn.start : turn.end].startswith(turn.speaker)
        assert not text[turn.end :].split("\n", 1)[0].strip()  # ends at the end of a line
        previous_end = turn.end
    labelled = sum(1 for label, _ in lines if label is not None)
    assert len(turns) >= sum(1 for label, _ in lines if label in ("Interviewer", "P07", "Speaker 2", "I", "Q", "A"))
    assert len(turns) <= labelled + text.count("\n") + 1


# --- Word documents -------------------------------------------------------------------------

RICH_BODY = "".join(
    [
        p(r("Interview 3 (pilot)")),
        p(
            r("Interviewer", bold=True),
            r(" Tell me about "),
            '<w:ins w:id="1" w:author="A"><w:r><w:t xml:space="preserve">the </w:t></w:r></w:ins>',
            '<w:del w:id="2" w:author="A"><w:r><w:delText xml:space="preserve">your </w:delText></w:r></w:del>',
            r("group."),
        ),
        p(
            r("P07:", bold=True),
            r(" It started"),
            "<w:r><w:tab/><w:t>in</w:t><w:br/><w:t>2019</w:t></w:r>",
        ),
        '<w:sdt><w:sdtPr><w:alias w:val="Answer"/><w:placeholder><w:docPart w:val="X"/></w:placeholder>'
        "</w:sdtPr><w:sdtContent>" + p(r("Inside a content control.")) + "</w:sdtContent></w:sdt>",
        p(
            r("Page "),
            '<w:fldSimple w:instr=" PAGE "><w:r><w:t>4</w:t></w:r></w:fldSimple>',
            r(" of "),
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
            '<w:r><w:instrText xml:space="preserve"> NUMPAGES </w:instrText></w:r>',
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
            "<w:r><w:t>9</w:t></w:r>",
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
        ),
        "<w:tbl><w:tblPr/><w:tr><w:tc>" + p(r("Interviewer")) + "</w:tc><w:tc>"
        + p(r("And then?")) + p(r("Go on.")) + "</w:tc></w:tr>"
        "<w:tr><w:tc>" + p(r("P07")) + "</w:tc><w:tc>" + p(r("We met weekly.")) + "</w:tc></w:tr></w:tbl>",
        p(
            '<w:moveFrom w:id="3" w:author="A"><w:r><w:t xml:space="preserve">old place </w:t></w:r></w:moveFrom>',
            r("Moved "),
            '<w:moveTo w:id="4" w:author="A"><w:r><w:t>new place</w:t></w:r></w:moveTo>',
        ),
        '<w:sectPr><w:pgSz w:w="12240" w:h="15840"/></w:sectPr>',
    ]
)


def test_docx_reads_what_the_reader_sees():
    parsed = parse_transcript("i.docx", make_docx(RICH_BODY))
    assert parsed.format == "docx"
    assert parsed.text == (
        "Interview 3 (pilot)\n"
        "Interviewer Tell me about the group.\n"
        "P07: It started\tin\n2019\n"
        "Inside a content control.\n"
        "Page 4 of 9\n"
        "Interviewer\tAnd then?\nGo on.\n"
        "P07\tWe met weekly.\n"
        "Moved new place"
    )
    assert spans(parsed) == [
        ("Interviewer", "Interviewer Tell me about the group.", "Tell me about the group.", None),
        ("P07", "P07: It started\tin\n2019\nInside a content control.\nPage 4 of 9",
         "It started\tin\n2019\nInside a content control.\nPage 4 of 9", None),
        ("Interviewer", "Interviewer\tAnd then?\nGo on.", "And then?\nGo on.", None),
        ("P07", "P07\tWe met weekly.\nMoved new place", "We met weekly.\nMoved new place", None),
    ]
    assert parsed.notes == [
        "This document had 4 tracked changes; it was imported as it reads with all changes accepted."
    ]


def test_docx_bold_labels_need_bold_then_plain_text():
    body = "".join(
        [
            p(r("Jane Doe", bold=True), r(" We met in 2019.")),
            p(r("Summary of the whole interview in one bold line", bold=True)),
            p(r("Bob", bold=True), r(": Right.")),
            p(r("Jane Doe", bold=True), r("  Yes.")),
            p(r("Bob", bold=True), '<w:r><w:rPr><w:b w:val="0"/></w:rPr><w:t xml:space="preserve"> Ok.</w:t></w:r>'),
        ]
    )
    parsed = parse_transcript("i.docx", make_docx(body))
    assert [(s, b) for s, _, b, _ in spans(parsed)] == [
        ("Jane Doe", "We met in 2019.\nSummary of the whole interview in one bold line"),
        ("Bob", "Right."),
        ("Jane Doe", "Yes."),
        ("Bob", "Ok."),
    ]


def test_docx_made_with_python_docx():
    document = Document()
    document.add_heading("Interview 12", level=1)
    paragraph = document.add_paragraph()
    paragraph.add_run("Interviewer").bold = True
    paragraph.add_run(" What happened next?")
    paragraph = document.add_paragraph()
    paragraph.add_run("P12").bold = True
    paragraph.add_run(" We <b>wrote</b> a letter.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Interviewer"
    table.cell(0, 1).text = "To whom?"
    buffer = io.BytesIO()
    document.save(buffer)
    parsed = parse_transcript("Interview 12.docx", buffer.getvalue())
    assert parsed.text == (
        "Interview 12\nInterviewer What happened next?\nP12 We <b>wrote</b> a letter.\nInterviewer\tTo whom?"
    )
    assert [(s, b) for s, _, b, _ in spans(parsed)] == [
        ("Interviewer", "What happened next?"),
        ("P12", "We <b>wrote</b> a letter."),
        ("Interviewer", "To whom?"),
    ]


def test_docx_details_hidden_text_text_boxes_nested_fields_and_comments():
    textbox = (
        "<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><w:txbxContent>"
        + p(r("Box text"))
        + "</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>"
        + p(r("Box text"))
        + "</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    body = "".join(
        [
            p(r("Seen"), '<w:r><w:rPr><w:vanish/></w:rPr><w:t>Hidden</w:t></w:r>', r(" text")),
            p(r("Anchor"), textbox, r(" paragraph")),
            p(
                '<w:hyperlink r:id="x" xmlns:r="urn:r">' + r("link") + "</w:hyperlink>",
                "<w:r><w:noBreakHyphen/><w:softHyphen/><w:sym w:char=\"F04A\"/><w:t>x</w:t></w:r>",
            ),
            p(
                '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>IF </w:instrText></w:r>',
                '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r>',
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>inner</w:t></w:r>',
                '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>outer</w:t></w:r>',
                '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
                '<w:r><w:commentReference w:id="0"/></w:r>',
            ),
            # A deleted paragraph mark joins this paragraph to the next once accepted.
            '<w:p><w:pPr><w:rPr><w:del w:id="5" w:author="A"/></w:rPr></w:pPr>' + r("Joined ") + "</w:p>",
            p(r("paragraph")),
            '<w:tbl><w:tr><w:trPr><w:del w:id="6" w:author="A"/></w:trPr><w:tc>' + p(r("Gone row"))
            + "</w:tc></w:tr></w:tbl>",
        ]
    )
    parsed = parse_transcript("i.docx", make_docx(body))
    assert parsed.text == "Seen text\nBox text\nAnchor paragraph\nlink-x\nouter\nJoined paragraph"
    assert parsed.notes[:2] == [
        "This document had 2 tracked changes; it was imported as it reads with all changes accepted.",
        "This document had 1 comment; comments are not imported.",
    ]


def test_docx_refuses_files_that_are_not_word_documents():
    assert "is not a Word document" in refused("i.docx", b"Interviewer: this is plain text")
    assert "is not a Word document" in refused("i.docx", b"PK\x03\x04 truncated")
    message = refused("i.docx", zip_bytes({"hello.txt": b"hi"}))
    assert "is a zip file but not a Word document" in message
    xml = b'<?xml version="1.0"?><html><body>hi</body></html>'
    not_word_root = zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": xml})
    assert "is a zip file but not a Word document" in refused("i.docx", not_word_root)
    assert "is damaged" in refused("i.docx", make_docx("<w:p><w:r><w:t>unclosed</w:r></w:p>"))


def test_docx_refuses_ole_files():
    ole = safety.OLE_MAGIC + b"\x00" * 500
    encrypted = ole + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 100
    assert (
        "is password-protected or encrypted; remove the password in Word and try again"
        in refused("i.docx", encrypted)
    )
    assert "looks like an old .doc file" in refused("i.docx", ole + "WordDocument".encode("utf-16-le"))


def test_docx_refuses_external_entities_without_reading_the_file(tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    opened = []
    real_open = builtins.open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    prolog = f'<!DOCTYPE w:document [<!ENTITY x SYSTEM "file://{secret}">]>'
    data = make_docx("<w:p><w:r><w:t>&x;</w:t></w:r></w:p>", prolog=prolog)
    message = refused("i.docx", data)
    assert "contains XML entity declarations, which are not allowed" in message
    assert "TOP SECRET" not in message
    assert not [name for name in opened if "secret" in name]


def test_docx_refuses_billion_laughs_quickly():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    data = make_docx("<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>", prolog=f"<!DOCTYPE lolz [{entities}]>")
    began = time.perf_counter()
    assert "contains XML entity declarations, which are not allowed" in refused("i.docx", data)
    assert time.perf_counter() - began < 1


def test_docx_refuses_zip_bombs_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w") as member:
            zeros = bytes(MB)
            for _ in range(60):
                member.write(zeros)
    assert len(buffer.getvalue()) < MB
    assert "would unpack to more than 50 MB" in refused("i.docx", buffer.getvalue())

    declared = docx_entries()
    declared[1]["declared_size"] = 500 * MB
    assert "would unpack to more than 50 MB" in refused("i.docx", raw_zip(declared))

    ratio = zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": bytes(5 * MB)})
    assert "compressed more than 200 to 1" in refused("i.docx", ratio)

    many_big = docx_entries() + [
        {"name": f"word/media/{i}.bin", "data": b"x", "declared_size": MB - 1} for i in range(201)
    ]
    assert "would unpack to more than 200 MB" in refused("i.docx", raw_zip(many_big))


def test_docx_does_not_trust_declared_sizes_when_reading():
    body = document_xml(p(r("word " * 2000)))
    lying = docx_entries(body)
    lying[1]["declared_size"] = 100
    assert "is damaged" in refused("i.docx", raw_zip(lying))

    data = zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": body})
    archive = safety.open_package("i.docx", data, safety.WORD)
    info = safety.find_member(archive, "word/document.xml")
    with pytest.raises(ImportRefused, match="unpacks to more than 1 KB"):
        safety.read_member("i.docx", archive, info, limit=1024)


def test_docx_refuses_overlapping_duplicate_and_encrypted_members():
    overlapping = raw_zip(docx_entries(), aliases=(("word/styles.xml", "word/document.xml"),))
    assert "its parts overlap or repeat" in refused("i.docx", overlapping)

    duplicate = docx_entries() + [{"name": "WORD/Document.xml", "data": b"<x/>"}]
    assert "its parts overlap or repeat" in refused("i.docx", raw_zip(duplicate))

    encrypted = docx_entries()
    encrypted[1]["flags"] = 0x1
    assert "password-protected or encrypted" in refused("i.docx", raw_zip(encrypted))


def test_docx_refuses_too_many_members():
    entries = docx_entries() + [{"name": f"word/x{i}.xml", "data": b""} for i in range(1_999)]
    assert "contains more than 2,000 parts" in refused("i.docx", raw_zip(entries))
    assert parse_transcript("i.docx", raw_zip(entries[:2_000])).text == "Hi"


def test_hand_built_zip_reads_like_a_normal_one():
    parsed = parse_transcript("i.docx", raw_zip([dict(e, method=8) for e in docx_entries()]))
    assert parsed.text == "Hi"


# --- Captions -------------------------------------------------------------------------------

VTT = """WEBVTT
Kind: captions

NOTE exported by Teams
with two lines

STYLE
::cue { color: red }

1
00:00:01.000 --> 00:00:03.500 align:start position:10%
<v Jane Doe>Hello &amp; <i>welcome</i>,</v>

00:03.500 --> 00:00:05.000
<v Jane Doe>thanks for coming.

intro-3
00:00:05.000 --> 00:00:07.000
and one more <00:00:06.000><c.yellow>thing</c>.

00:00:07.000 --> 00:00:09.000
<v.loud Bob>Happy to &lt;help&gt;&nbsp;out.</v>

01:00:00.000 --> 01:00:01.000
<v Jane Doe>Much later.
"""


def test_vtt_voices_joining_and_timings():
    parsed = parse_transcript("i.vtt", VTT.encode())
    assert parsed.format == "vtt"
    assert parsed.text == (
        "Jane Doe: Hello & welcome, thanks for coming. and one more thing.\n"
        "Bob: Happy to <help>\u00a0out.\n"
        "Jane Doe: Much later."
    )
    assert spans(parsed) == [
        ("Jane Doe", parsed.text.split("\n")[0], "Hello & welcome, thanks for coming. and one more thing.", 1_000),
        ("Bob", "Bob: Happy to <help>\u00a0out.", "Happy to <help>\u00a0out.", 7_000),
        ("Jane Doe", "Jane Doe: Much later.", "Much later.", 3_600_000),
    ]
    assert "\r" not in parse_transcript("i.vtt", VTT.replace("\n", "\r\n").encode("utf-8-sig")).text


def test_vtt_name_prefixes_like_zoom():
    vtt = (
        "WEBVTT\n\n"
        "00:00:00.500 --> 00:00:01.000\nRecording starts\n\n"
        "1\n00:00:01.000 --> 00:00:02.000\nJane Doe: Hi Bob.\n\n"
        "2\n00:00:02.000 --> 00:00:03.000\nBob Li: Hi.\n\n"
        "3\n00:00:03.000 --> 00:00:04.000\nBob Li: How are you?\n\n"
        "4\n00:00:04.000 --> 00:00:05.000\nJane Doe: Fine.\nReally.\n\n"
        "5\n00:00:05.000 --> 00:00:06.000\nNote: not a speaker\n"
    )
    parsed = parse_transcript("zoom.vtt", vtt.encode())
    assert parsed.text == (
        "Recording starts\nJane Doe: Hi Bob.\nBob Li: Hi. How are you?\nJane Doe: Fine. Really. Note: not a speaker"
    )
    assert [(t.speaker, t.time_ms) for t in parsed.turns] == [
        ("", 500), ("Jane Doe", 1_000), ("Bob Li", 2_000), ("Jane Doe", 4_000)
    ]
    unlabelled = parsed.turns[0]
    assert unlabelled.body_start == unlabelled.start == 0


def test_srt_speakers_and_tags():
    srt = (
        "1\r\n00:00:01,000 --> 00:00:02,500\r\nInterviewer: <i>Where</i> were you?\r\n\r\n"
        "2\r\n00:00:02,500 --> 00:00:04,000\r\n{\\an8}I was at <b>home</b>\r\nwith family.\r\n\r\n"
        "3\r\n00:00:04,000 --> 00:00:05,000\r\n<v P07>Then we left.\r\n"
        "4\r\n00:00:05,000 --> 00:00:06,000\r\nP07: Quickly.\r\n\r\n\r\n"
    )
    parsed = parse_transcript("i.srt", srt.encode())
    assert parsed.format == "srt"
    assert parsed.text == (
        "Interviewer: Where were you? I was at home with family.\nP07: Then we left. Quickly."
    )
    assert [(t.speaker, t.time_ms, parsed.text[t.body_start : t.end]) for t in parsed.turns] == [
        ("Interviewer", 1_000, "Where were you? I was at home with family."),
        ("P07", 4_000, "Then we left. Quickly."),
    ]


def test_captions_refuse_malformed_files_with_the_line():
    assert "line 1 should start with WEBVTT" in refused("i.vtt", b"1\n00:00:01.000 --> 00:00:02.000\nHi\n")
    bad_timing = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n\n00:00:0x.000 --> 00:00:03.000\nThere\n"
    assert "cannot be read on line 6" in refused("i.vtt", bad_timing)
    backwards = b"1\n00:00:05,000 --> 00:00:02,000\nHi\n"
    assert "cannot be read on line 2" in refused("i.srt", backwards)
    assert "no caption timing on line 5" in refused("i.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHi\n\nstray text\n")
    assert "No caption cues were found" in refused("i.vtt", b"WEBVTT\n\nNOTE nothing else\n")
    assert "has caption timings but no caption text" in refused("i.srt", b"1\n00:00:01,000 --> 00:00:02,000\n")
    assert "not valid UTF-8 text: line 3" in refused("i.srt", b"1\n00:00:01,000 --> 00:00:02,000\n\xe9t\xe9\n")


# --- Anything else becomes ImportRefused ----------------------------------------------------


def test_unexpected_errors_become_import_refused(monkeypatch):
    def explode(name, data):
        raise KeyError("boom")

    monkeypatch.setitem(readers.PARSERS, ".txt", explode)
    assert "could not be read" in refused("i.txt", b"hello")


MUTATIONS = 800  # per format: 4,000 seeded mutations in all


def mutate(data: bytes, rng: random.Random) -> bytes:
    mutated = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(mutated))
        choice = rng.random()
        if choice < 0.6:
            mutated[position] = rng.randrange(256)
        elif choice < 0.8:
            del mutated[position]
        else:
            mutated.insert(position, rng.randrange(256))
    return bytes(mutated)


def zipped_docx(document: bytes) -> bytes:
    return zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": document})


@pytest.mark.parametrize(
    "filename, data, wrap",
    [
        ("i.docx", make_docx(RICH_BODY), bytes),
        ("i.docx", document_xml(RICH_BODY), zipped_docx),
        ("i.txt", TRANSCRIPT.encode(), bytes),
        ("i.vtt", VTT.encode(), bytes),
        ("i.srt", b"1\n00:00:01,000 --> 00:00:02,000\nP07: <i>Hi</i>\n\n2\n00:00:02,000 --> 00:00:03,000\nOk\n", bytes),
    ],
    ids=["docx", "docx-xml", "txt", "vtt", "srt"],
)
def test_random_byte_mutations_parse_or_are_refused(filename, data, wrap):
    outcomes = {"parsed": 0, "refused": 0}
    for seed in range(MUTATIONS):
        mutated = wrap(mutate(data, random.Random(seed)))
        try:
            result = parse_transcript(filename, mutated)
        except ImportRefused as exc:
            assert exc.message
            outcomes["refused"] += 1
        else:
            assert isinstance(result, ParsedTranscript)
            assert is_normalized(result.text)
            for turn in result.turns:
                assert isinstance(turn, Turn)
                assert 0 <= turn.start <= turn.body_start <= turn.end <= len(result.text)
            outcomes["parsed"] += 1
    assert sum(outcomes.values()) == MUTATIONS
