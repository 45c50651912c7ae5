"""Text normalization, offsets, word boundaries and interval arithmetic on awkward text."""

import random
import unicodedata

import pytest

from transcripts import spans
from transcripts.spans import intersect, merge, subtract


def test_it_normalizes_line_ends_bom_and_control_characters():
    raw = "\ufeffInterviewer: Hi\r\nP01: Hello\rthere\x00\x07\x1b[0m\tok\u2028end\x85"
    assert spans.normalize_text(raw) == "Interviewer: Hi\nP01: Hello\nthere[0m\tok\nend\n"


def test_it_composes_combining_accents_to_nfc():
    decomposed = "Jose\u0301 said cafe\u0301"
    text = spans.normalize_text(decomposed)
    assert text == "José said café"
    assert unicodedata.is_normalized("NFC", text)
    assert len(text) == len("José said café")


def test_it_keeps_emoji_beyond_the_bmp_as_one_code_point():
    text = spans.normalize_text("I felt 💪 after group 🙌🏽.")
    start = text.index("💪")
    assert text[start : start + 1] == "💪"
    assert spans.codepoint_to_utf16(text, start + 1) == start + 2


def test_it_keeps_right_to_left_text_in_logical_order():
    raw = "P03: قالت إن المجموعة ساعدتها\nP03: שלום"
    text = spans.normalize_text(raw)
    assert text == raw
    start = text.index("المجموعة")
    assert text[start : start + len("المجموعة")] == "المجموعة"


def test_it_converts_between_utf16_units_and_code_points():
    text = "a💪b🙌🏽c é\u0301"
    for index in range(len(text) + 1):
        units = spans.codepoint_to_utf16(text, index)
        assert spans.utf16_to_codepoint(text, units) == index
    assert spans.utf16_to_codepoint(text, 1) == 1
    assert spans.utf16_to_codepoint(text, 2) == 1  # inside the surrogate pair: back to the emoji
    assert spans.utf16_to_codepoint(text, 3) == 2
    assert spans.codepoint_to_utf16(text, len(text)) == len(text.encode("utf-16-le")) // 2
    with pytest.raises(ValueError):
        spans.utf16_to_codepoint(text, 999)
    with pytest.raises(ValueError):
        spans.codepoint_to_utf16(text, len(text) + 1)


def test_it_snaps_selections_to_whole_words():
    text = "P07: The group chat, honestly.\nNext line"
    start = text.index("roup")
    assert text[slice(*spans.snap_to_words(text, start, start + 6))] == "group chat"
    assert text[slice(*spans.snap_to_words(text, 4, 9))] == "The"
    accented = "José said café"
    assert accented[slice(*spans.snap_to_words(accented, 1, 2))] == "José"
    assert spans.snap_to_words(text, 4, 5) == (5, 5)  # only a space: nothing left


def test_it_finds_the_word_to_either_side_across_whitespace():
    text = "I: Well,\n  the group   chat 💪 helps"
    chat = text.index("chat")
    assert spans.word_left(text, chat) == text.index("group")  # over the spaces, to the word's start
    assert spans.word_left(text, chat + 2) == chat  # from inside a word, to its own start
    assert spans.word_right(text, chat) == chat + len("chat")
    assert spans.word_right(text, chat + 4) == text.index("💪") + 1  # the emoji is one code point
    assert spans.word_left(text, text.index("the")) == text.index("Well,")  # across the line break
    assert (spans.word_left(text, 0), spans.word_right(text, len(text))) == (0, len(text))
    assert spans.word_left("   ", 3) == 0 and spans.word_right("   ", 0) == 3


def test_moving_a_boundary_goes_a_word_at_a_time_and_never_empties_the_excerpt():
    text = "the group chat helps"
    group, chat, helps = text.index("group"), text.index("chat"), text.index("helps")
    start, end = chat, chat + len("chat")
    assert spans.move_boundary(text, start, end, "start-left") == (group, end)
    assert spans.move_boundary(text, start, end, "end-right") == (start, helps + len("helps"))
    assert spans.move_boundary(text, start, end, "start-right") == (end - 1, end)  # keeps one character
    assert spans.move_boundary(text, start, end, "end-left") == (start, start + 1)
    assert spans.move_boundary(text, group, end, "start-right") == (group + len("group"), end)
    assert spans.move_boundary(text, group, end, "end-left") == (group, chat)
    assert spans.BOUNDARY_MOVES == {"start-left", "start-right", "end-left", "end-right"}
    with pytest.raises(ValueError):
        spans.move_boundary(text, start, end, "sideways")


def test_merge_joins_overlapping_and_touching_intervals_and_drops_empty_ones():
    assert merge([(5, 8), (0, 3), (3, 4), (7, 10), (12, 12)]) == [(0, 4), (5, 10)]

def test_intersect_and_subtract_on_awkward_edges():
    a = [(0, 5), (8, 12), (20, 30)]
    b = [(3, 9), (11, 21), (29, 40)]
    assert intersect(a, b) == [(3, 5), (8, 9), (11, 12), (20, 21), (29, 30)]
    assert subtract(a, b) == [(0, 3), (9, 11), (21, 29)]
    assert subtract(a, []) == a
    assert intersect(a, []) == []

def test_interval_arithmetic_agrees_with_sets_of_characters_on_random_data():
    rng = random.Random(7)
    for _ in range(200):
        a = merge((s, s + rng.randrange(1, 9)) for s in rng.sample(range(60), 6))
        b = merge((s, s + rng.randrange(1, 9)) for s in rng.sample(range(60), 6))
        chars_a = {i for s, e in a for i in range(s, e)}
        chars_b = {i for s, e in b for i in range(s, e)}
        assert {i for s, e in intersect(a, b) for i in range(s, e)} == chars_a & chars_b
        assert {i for s, e in subtract(a, b) for i in range(s, e)} == chars_a - chars_b
        assert spans.length(intersect(a, b)) == len(chars_a & chars_b)


def test_a_one_megabyte_transcript_normalizes_and_hashes_consistently():
    line = "P12: Honestly the peer group was what kept me going — día tras día 💬.\r\n"
    raw = line * (1_048_576 // len(line.encode("utf-8")) + 1)
    assert len(raw.encode("utf-8")) > 1_048_576
    text = spans.normalize_text(raw)
    assert "\r" not in text
    assert spans.normalize_text(text) == text
    assert spans.content_hash(text) == spans.content_hash(spans.normalize_text(raw))
    last = text.rindex("💬")
    assert spans.utf16_to_codepoint(text, spans.codepoint_to_utf16(text, last)) == last


def test_check_span_refuses_spans_outside_the_text():
    text = "abc"
    spans.check_span(text, 0, 3)
    for start, end in [(-1, 2), (2, 2), (2, 1), (0, 4)]:
        with pytest.raises(ValueError):
            spans.check_span(text, start, end)


def _rebuild(paragraphs):
    return "".join("".join(s.text for s in p.segments) + ("\n" if p.has_newline else "") for p in paragraphs)


def test_layout_gives_back_exactly_the_text():
    text = "Interviewer: Hi 💪\nP07: José said café\n\nP07: שלום and more\n"
    labels = [(0, 12), (text.index("P07"), text.index("P07") + 4)]
    excerpts = [(1, 3, 25), (2, 20, 30), (3, len(text) - 9, len(text) - 1)]
    paragraphs = spans.layout(text, labels, excerpts)
    assert _rebuild(paragraphs) == text
    assert [p.number for p in paragraphs] == [1, 2, 3, 4, 5]
    covering = {s.start: s.excerpts for p in paragraphs for s in p.segments}
    assert covering[20] == (1, 2)
    assert covering[25] == (2,)
    assert paragraphs[0].segments[0].label is True


def test_layout_of_random_spans_round_trips():
    import random

    rng = random.Random(7)
    text = spans.normalize_text("".join(rng.choice("ab c\n💪é") for _ in range(400)))
    for _ in range(50):
        excerpts = []
        for excerpt_id in range(rng.randrange(0, 12)):
            start = rng.randrange(0, len(text) - 1)
            excerpts.append((excerpt_id, start, rng.randrange(start + 1, len(text) + 1)))
        paragraphs = spans.layout(text, [], excerpts)
        assert _rebuild(paragraphs) == text
        for paragraph in paragraphs:
            for segment in paragraph.segments:
                expected = tuple(sorted(i for i, s, e in excerpts if s <= segment.start < e))
                assert segment.excerpts == expected


def test_deidentification_replaces_whole_words_ignoring_case_and_shifts_offsets():
    text = "I met Ann Lee at Millbrook Clinic. Annie was there; ann said hi."
    found = spans.find_replacements(text, [("Ann", "[Peer A]"), ("Ann Lee", "[Peer B]"), ("Millbrook Clinic", "[Agency 2]")])
    assert [r.original for r in found] == ["Ann Lee", "Millbrook Clinic", "ann"]
    new = spans.apply_replacements(text, found)
    assert new == "I met [Peer B] at [Agency 2]. Annie was there; [Peer A] said hi."
    assert new[spans.shift_offset(text.index("Annie"), found):].startswith("Annie")
    assert spans.shift_offset(len(text), found) == len(new)
    assert spans.shift_offset(0, found) == 0


@pytest.mark.parametrize("text", ["", "\n", "one line", "a\nb\n\nc\n", "\n\nstarts with breaks", "é\n💪\nRTL שלום\n"])
def test_lines_from_stored_line_breaks_agree_with_counting_them_in_the_text(text):
    breaks = spans.newline_offsets(text)
    assert breaks == [n for n, ch in enumerate(text) if ch == "\n"]
    for offset in range(len(text) + 1):
        assert spans.line_at(breaks, offset) == spans.line_number_at(text, offset), offset
