from .audit import AuditEvent
from .coding import Code, CodeApplication, Excerpt, Memo
from .projects import Attribute, AttributeValue, Membership, Participant, Project, Pseudonym
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
]
