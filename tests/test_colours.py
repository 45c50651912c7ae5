"""Code colours: which ink reads on them, and the CSS rules the pages load."""

import pytest

from transcripts import colours


def test_luminance_runs_from_black_to_white():
    assert colours.relative_luminance("#000000") == 0
    assert colours.relative_luminance("#ffffff") == pytest.approx(1)
    # WCAG weights: green counts most, blue least.
    assert colours.relative_luminance("#00ff00") == pytest.approx(0.7152)
    assert colours.relative_luminance("#0000FF") == pytest.approx(0.0722)


def test_it_picks_the_ink_with_the_better_contrast():
    assert colours.ink_for("#ffff00") == "#000"  # yellow
    assert colours.ink_for("#1f77b4") == "#fff"  # a mid blue
    assert colours.ink_for("#000000") == "#fff"
    assert colours.ink_for("#ffffff") == "#000"
    # Either side of the 0.179 crossing: #757575 is just below it, #767676 just above.
    assert colours.ink_for("#757575") == "#fff"
    assert colours.ink_for("#767676") == "#000"


def test_a_colour_it_cannot_read_gets_black_ink():
    for unreadable in ("", "#", "#abc", "#gg0000", "red"):
        assert colours.ink_for(unreadable) == "#000"
        with pytest.raises(ValueError):
            colours.relative_luminance(unreadable)


def test_each_code_gets_one_rule_with_its_colour_and_ink():
    css = colours.code_rules([(7, "#ffff00"), (12, "#1f77b4")])
    assert css == ".c-7{--code:#ffff00;--code-ink:#000}\n.c-12{--code:#1f77b4;--code-ink:#fff}\n"
    assert colours.code_rules([]) == "\n"
