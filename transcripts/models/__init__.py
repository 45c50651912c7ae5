from .audit import AuditEvent
from .coding import Code, CodeApplication, Excerpt, Memo
from .coding import visible_excerpts_q
from .projects import Attribute, AttributeValue, Membership, Participant, Project, Pseudonym
from .teamwork import TranscriptAssignment
from .transcripts import SpeakerTurn, Transcript, TranscriptTextLocked

__all__ = [
    "Attribute",
    "AttributeValue",
    "AuditEvent",
    "Code",
    "CodeApplication",
    "Excerpt",
    "Membership",
    "Memo",
    "Participant",
    "Project",
    "Pseudonym",
    "SpeakerTurn",
    "Transcript",
    "TranscriptTextLocked",
    "TranscriptAssignment",
    "visible_excerpts_q",
]
