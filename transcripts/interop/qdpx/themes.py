"""Between the codebook shapes of exports (Theme) and of projects (Code), through refi's Description form."""

from __future__ import annotations

from transcripts.interop.codebook import Theme
from transcripts.interop.refi import describe, split_description

from .model import Code


def code_from_theme(theme: Theme) -> Code:
    """The Code written for a theme: definition and criteria in its Description, archived as not codable."""
    return Code(
        guid=theme.guid,
        name=theme.name,
        color=theme.color,
        codable=not theme.archived,
        description=describe(theme),
        children=[code_from_theme(child) for child in theme.children],
    )


def theme_from_code(code: Code) -> Theme:
    """The Theme a Code reads back as: its Description split into definition and criteria."""
    return Theme(
        name=code.name,
        color=code.color,
        guid=code.guid,
        archived=not code.codable,
        children=[theme_from_code(child) for child in code.children],
        **split_description(code.description),
    )
