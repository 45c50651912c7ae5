"""How a REFI-QDA file counted its positions: readings, conversion and detection by evidence."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transcripts.interop.qdpx import offsets
from transcripts.interop.qdpx.offsets import CODE_POINTS, CODE_POINTS_BOM, READINGS, UTF16, UTF16_BOM, PositionMap

TEXT = "Ana: 😀 I felt 💪 after the group."


def test_each_reading_maps_to_the_same_code_points():
    positions = PositionMap(TEXT)
    felt = TEXT.index("felt")
    assert [positions.from_code_points(felt, reading) for reading in READINGS] == [9, 10, 10, 11]
    for reading in READINGS:
        assert positions.to_code_points(positions.from_code_points(felt, reading), reading) == felt


def test_a_position_between_the_halves_of_a_surrogate_pair_is_not_a_boundary():
    positions = PositionMap(TEXT)
    emoji = TEXT.index("😀")
    assert positions.to_code_points(emoji + 1, UTF16) is None  # inside 😀 counted as two units
    assert positions.to_code_points(emoji + 2, UTF16) == emoji + 1


def test_positions_past_the_end_do_not_fit():
    positions = PositionMap("abc")
    assert positions.to_code_points(3, CODE_POINTS) == 3
    assert positions.to_code_points(4, CODE_POINTS) is None
    assert positions.to_code_points(4, CODE_POINTS_BOM) == 3
    assert positions.to_code_points(-1, CODE_POINTS) is None


def test_word_boundaries():
    assert [offsets.on_word_boundary("ab cd", i) for i in range(6)] == [True, False, True, True, False, True]
    assert offsets.on_word_boundary("a😀b", 1) and offsets.on_word_boundary("a😀b", 2)


def test_utf16_positions_are_told_from_code_points_by_where_they_fall():
    felt, group = TEXT.index("felt"), TEXT.index("group")
    spans = [(felt, felt + 4), (group, group + 5)]
    positions = PositionMap(TEXT)
    as_units = [(positions.from_code_points(s, UTF16), positions.from_code_points(e, UTF16)) for s, e in spans]
    reading, scores = offsets.choose_reading([(TEXT, as_units)])
    assert reading == UTF16
    assert scores[UTF16].key() > scores[CODE_POINTS].key()
    assert offsets.convert(TEXT, as_units, reading) == spans
    assert offsets.choose_reading([(TEXT, spans)])[0] == CODE_POINTS


def test_a_counted_byte_order_mark_is_detected():
    text = "Interviewer: so how did it start?\nAna: slowly, then all at once."
    words = [(text.index("slowly"), text.index("slowly") + 6), (text.index("start"), text.index("start") + 5)]
    shifted = [(start + 1, end + 1) for start, end in words]
    assert offsets.choose_reading([(text, shifted)])[0] == CODE_POINTS_BOM
    assert offsets.convert(text, shifted, CODE_POINTS_BOM) == words


def test_ties_go_to_code_points():
    assert offsets.choose_reading([])[0] == CODE_POINTS
    assert offsets.choose_reading([("plain ascii text", [(0, 16)])])[0] == CODE_POINTS  # every reading fits as well


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéñ", min_size=7, max_size=7)
EMOJI = st.sampled_from(["😀", "💪", "🙌", "𝄞"])  # astral: one code point, two UTF-16 units


@st.composite
def texts_with_selected_words(draw):
    """Seven-letter words with one or two emoji among them, and whole words selected, one after an emoji.

    The readings then differ by one to three at any boundary, less than a word's length, so a
    wrong reading puts some boundary inside a word: the evidence decides.
    """
    tokens = draw(st.lists(WORDS, min_size=2, max_size=20))
    for _ in range(draw(st.integers(1, 2))):
        tokens.insert(draw(st.integers(0, len(tokens) - 1)), draw(EMOJI))
    text = " ".join(tokens)
    first_emoji = min(text.index(ch) for ch in text if ord(ch) > 0xFFFF)
    spans, at = [], 0
    for token in tokens:
        if token.isalpha():
            spans.append((at, at + len(token)))
        at += len(token) + 1
    after = [span for span in spans if span[0] > first_emoji]
    assume(after)
    return text, draw(st.lists(st.sampled_from(spans), max_size=5)) + [draw(st.sampled_from(after))]


@settings(max_examples=150, deadline=None)
@given(texts_with_selected_words(), st.sampled_from(READINGS))
def test_the_reading_a_file_used_is_found_and_undone(sample, reading):
    text, spans = sample
    positions = PositionMap(text)
    written = [(positions.from_code_points(s, reading), positions.from_code_points(e, reading)) for s, e in spans]
    chosen, _ = offsets.choose_reading([(text, written)])
    converted = offsets.convert(text, written, chosen)
    assert [text[s:e] for s, e in converted] == [text[s:e] for s, e in spans]
    # Another reading may only be chosen where it reads these positions the very same way
    # (one emoji before: UTF-16 units and code points after a BOM agree).
    assert chosen == reading or converted == offsets.convert(text, written, reading)


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=0, max_size=40), st.sampled_from(READINGS))
def test_every_boundary_converts_there_and_back(text, reading):
    positions = PositionMap(text)
    for index in range(len(text) + 1):
        assert positions.to_code_points(positions.from_code_points(index, reading), reading) == index
