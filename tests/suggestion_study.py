"""A small study the suggestions can learn from: two coded interviews and one not coded yet."""

from __future__ import annotations

from tests.base import make_code, make_transcript
from transcripts import actions
from transcripts.interop.readers.speakers import detect_turns
from transcripts.models import Excerpt

CHAT = [
    "The group chat with the other peers keeps me going, we text all day and somebody always answers.",
    "When a client relapses I message the group chat and the other peers call me back within the hour.",
    "Our peer group chat is where we share bus passes, jokes, and who needs a hand at the shelter.",
    "The other peers in the group chat check on me every single morning before the shift starts.",
]
WEATHER = [
    "The drive to the clinic takes forty minutes, mostly highway, and the parking lot floods in spring.",
    "Lunch is usually a sandwich at my desk, the cafeteria closed last year when the budget was cut.",
    "The office moved to the third floor in March and the elevator has been broken ever since then.",
    "My shift starts at eight and I file the intake forms on the old computer in the back room.",
]


def interview_text(number: int) -> str:
    lines = []
    for chat, other in zip(CHAT, WEATHER):
        lines.append(f"Interviewer: Tell me about your week, part {number}, and what helps the group chat.")
        lines.append(f"P{number:02d}: {chat}")
        lines.append("Interviewer: And the rest of the day?")
        lines.append(f"P{number:02d}: {other}")
    return "\n".join(lines)


def code_chat(transcript, code, by) -> list[Excerpt]:
    """Code every group-chat answer of the transcript with `code` as `by`."""
    made = []
    for chat in CHAT:
        start = transcript.text.index(chat)
        made.append(actions.create_excerpt(transcript, start=start, end=start + len(chat), codes=[code], by=by))
    return made


def build(project, coders: list) -> dict:
    """Three interviews: the first two coded by `coders` (one each, cycling), the third uncoded."""
    code = make_code(project, name="Peer support chat")
    transcripts = [
        make_transcript(
            project,
            title=f"Interview {n}",
            text=interview_text(n),
            turns=detect_turns(interview_text(n)),
            speaker_roles={"Interviewer": "interviewer", f"P{n:02d}": "participant"},
        )
        for n in (1, 2, 3)
    ]
    for index, transcript in enumerate(transcripts[:2]):
        code_chat(transcript, code, coders[index % len(coders)])
    return {"code": code, "transcripts": transcripts}
