"""Shared set-up for the teamwork tests: a second coder (cora) and a transcript whose agreement
figures are worked out by hand in tests/test_agreement_units.py (the same excerpts, as rows)."""

from __future__ import annotations

from collections import namedtuple

from tests.base import BaseTestCase, make_code, make_transcript, make_user
from transcripts import actions
from transcripts.models import Membership

Turn = namedtuple("Turn", "start end body_start speaker time_ms")

# The participant speaks [15, 35): 20 characters.
HAND_TEXT = "I: Tell me.\nP: abcdefghij0123456789"
HAND_TURNS = [Turn(0, 12, 3, "I", None), Turn(12, 35, 15, "P", None)]


class TeamworkTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.cora = make_user("cora", last_name="Second")
        actions.set_role(cls.project, cls.cora, Membership.Role.CODER, by=cls.alice)
        cls.hand = make_transcript(
            cls.project, title="Hand-worked", text=HAND_TEXT, turns=HAND_TURNS,
            speaker_roles={"I": "interviewer", "P": "participant"},
        )
        cls.x = make_code(cls.project, name="Belonging")
        cls.y = make_code(cls.project, name="Boundaries")

    @classmethod
    def code_hand_transcript(cls) -> None:
        """bob and cora's coding of the hand-worked transcript (coders A and B of the pure tests)."""
        code = actions.create_excerpt
        cls.bob_interviewer = code(cls.hand, start=3, end=11, codes=[cls.x], by=cls.bob)
        cls.bob_first = code(cls.hand, start=15, end=25, codes=[cls.x, cls.y], by=cls.bob)
        cls.bob_second = code(cls.hand, start=25, end=35, codes=[cls.y], by=cls.bob)
        cls.cora_x = code(cls.hand, start=20, end=30, codes=[cls.x], by=cls.cora)
        cls.cora_y = code(cls.hand, start=15, end=35, codes=[cls.y], by=cls.cora)
