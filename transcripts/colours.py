"""Code colours as CSS: each code's class, with the ink that reads on it. No Django imports."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

BLACK, WHITE = "#000", "#fff"


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a "#rrggbb" colour, 0 (black) to 1 (white); ValueError when the
    six digits after the first character are not hexadecimal."""
    r, g, b = (_linear(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4


def ink_for(color: str) -> str:
    """Black or white text, whichever reads better on the colour; black for anything unreadable."""
    try:
        luminance = relative_luminance(color)
    except ValueError:
        return BLACK
    # Above 0.179 black has the higher contrast ratio, below it white.
    return BLACK if luminance > 0.179 else WHITE


def code_rules(colours: Iterable[tuple[int, str]]) -> str:
    """One CSS rule a code, `.c-<id>`, setting --code and --code-ink: pages need no inline styles."""
    return "\n".join(f".c-{pk}{{--code:{color};--code-ink:{ink_for(color)}}}" for pk, color in colours) + "\n"


def rules_version(colours: Iterable[tuple[int, str]]) -> str:
    """A short digest of the codes' colours, whatever their order. A page links the stylesheet
    with the digest of the colours it was drawn with, so the browser may keep that stylesheet
    until a colour changes and the page links another."""
    return hashlib.sha256(repr(sorted(colours)).encode()).hexdigest()[:16]
