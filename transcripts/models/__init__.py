from .audit import AuditEvent
from .coding import Code, CodeApplication, Excerpt, Memo
from .counts import CodeTally, CountsReady, ThemeTotal
from .jobs import Job
from .projects import Attribute, AttributeValue, Membership, Participant, Project, Pseudonym, SiteSettings
from .suggestions import SuggestionModel, SuggestionPrediction, SuggestionRejection
from .teamwork import TranscriptAssignment
from .transcripts import SpeakerTurn, Transcript, TranscriptTextLocked
from .visibility import visible_excerpts_q

__all__ = [
    "Attribute",
    "AttributeValue",
    "AuditEvent",
    "Code",
    "CodeApplication",
    "CodeTally",
    "CountsReady",
    "Excerpt",
    "Job",
    "Membership",
    "Memo",
    "Participant",
    "Project",
    "Pseudonym",
    "SiteSettings",
    "SpeakerTurn",
    "SuggestionModel",
    "SuggestionPrediction",
    "SuggestionRejection",
    "Transcript",
    "TranscriptTextLocked",
    "TranscriptAssignment",
    "ThemeTotal",
    "visible_excerpts_q",
]
