"""The codebook as it is and as it was: the tree, its version, its history, and past states.

Reads only; codes are written in `actions.codebook`. Each code.* event stores the code's whole
state (fields, parent_id, order, archived, guid) in `after` (in `before` for code.deleted), so
replay() rebuilds the tree as it stood on any date from the audit trail alone, and history()
shows what changed from what.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.models import Max, Q
from django.utils import timezone

from .interop.codebook import TEXT_FIELDS, CodebookDocument, Quote, Theme, walk  # noqa: F401 (walk: re-exported)
from .models import AuditEvent, Code, CodeApplication, Project, visible_excerpts_q
from .review.summary import kept_totals

EDITABLE = ("name", "color", *TEXT_FIELDS)
LABELS = {
    "name": "Name",
    "color": "Colour",
    "definition": "Definition",
    "inclusion": "Inclusion criteria",
    "exclusion": "Exclusion criteria",
    "typical_example": "Typical example",
    "atypical_example": "Atypical example",
    "parent_id": "Parent",
    "order": "Position",
    "archived": "Archived",
}
# Verbs whose `after` is the code's whole state; code.deleted and code.merged end a code.
STATE_VERBS = ("code.created", "code.changed", "code.moved", "code.reordered", "code.archived", "code.unarchived")
ENDING_VERBS = ("code.deleted", "code.merged")
HISTORY_FILTER = Q(verb__startswith="code.") | Q(verb__startswith="exemplar.") | Q(verb="codebook.imported")


def load_tree(project: Project, membership=None) -> list[Code]:
    """Every code in tree order with `.depth` and its three counts: two queries.

    With a membership, counts cover only the coding that member may see (blind coding). When
    nothing is hidden from the member, the counts are those kept as coding changes (models/
    counts.py), which the theme summary reads too; otherwise, or when the project's counts are
    not kept, they are counted from the coding (at institution scale, seconds).
    """
    visible = visible_excerpts_q(membership, "applications__excerpt__") if membership else None
    kept = kept_totals(project) if visible is None else None
    if kept is None:
        return project.codes.with_counts(visible).in_tree_order()
    own = kept[0]
    codes = project.codes.in_tree_order()
    for code in codes:
        figures = own.get((code.pk,), {})
        code.n_excerpts = figures.get("excerpts", 0)
        code.n_transcripts = figures.get("transcripts", 0)
        code.n_participants = figures.get("participants", 0)
    return codes


def excerpts_lost_with(code: Code) -> int:
    """Excerpts that carry only this code, which deleting it would delete too."""
    return code.applications.exclude(excerpt__applications__code__in=Code.objects.exclude(pk=code.pk)).count()


def codebook_version(project: Project, until: datetime.datetime | None = None) -> tuple[int, int | None]:
    """(number of recorded codebook changes, id of the latest one) up to `until`."""
    events = AuditEvent.objects.filter(HISTORY_FILTER, project_id=project.pk)
    if until is not None:
        events = events.filter(created_at__lt=until)
    row = events.order_by().aggregate(top=Max("pk"))
    return events.count(), row["top"]


def current_themes(project: Project, *, quotes: bool = True, counts: bool = True, membership=None) -> list[Theme]:
    """The codebook as exports see it, from the database: two queries at most."""
    codes = load_tree(project, membership) if counts else project.codes.in_tree_order()
    by_code: dict[int, list[Quote]] = {}
    if quotes:
        visible = visible_excerpts_q(membership, "excerpt__") if membership else None
        applications = (
            CodeApplication.objects.filter(code__project=project, is_exemplar=True)
            .filter(visible or Q())
            .select_related("excerpt__transcript__participant", "excerpt__coder")
            .defer("excerpt__transcript__text")
            .order_by("excerpt__transcript__title", "excerpt__start", "pk")
        )
        for app in applications:
            transcript = app.excerpt.transcript
            label = transcript.participant.label if transcript.participant else transcript.title
            coder = app.excerpt.coder.get_full_name() or app.excerpt.coder.get_username()
            by_code.setdefault(app.code_id, []).append(Quote(app.excerpt.quote, label, coder))
    themes: dict[int, Theme] = {}
    top: list[Theme] = []
    for code in codes:
        theme = Theme(
            name=code.name,
            color=code.color,
            guid=str(code.guid),
            archived=code.archived,
            n_excerpts=getattr(code, "n_excerpts", None),
            n_transcripts=getattr(code, "n_transcripts", None),
            n_participants=getattr(code, "n_participants", None),
            quotes=by_code.get(code.pk, []),
            **{name: getattr(code, name) for name in TEXT_FIELDS},
        )
        themes[code.pk] = theme
        (themes[code.parent_id].children if code.parent_id in themes else top).append(theme)
    return top


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The first instant after `day` in the site's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def replay(project: Project, until: datetime.datetime) -> list[Theme]:
    """The code tree as it stood just before `until`, rebuilt from code.* audit events."""
    states: dict[str, dict] = {}
    events = AuditEvent.objects.filter(
        project_id=project.pk, verb__in=(*STATE_VERBS, *ENDING_VERBS), created_at__lt=until
    ).order_by("pk")
    for event in events.only("verb", "object_id", "after"):
        if event.verb in ENDING_VERBS:
            states.pop(event.object_id, None)
        elif event.after and "name" in event.after:
            states[event.object_id] = event.after
    guids = {str(pk): str(guid) for pk, guid in Code.objects.filter(pk__in=[int(k) for k in states]).values_list("pk", "guid")}
    themes: dict[str, Theme] = {}
    for object_id, state in states.items():
        # Events written before guids were recorded fall back on the live code, else a stable uuid5.
        guid = state.get("guid") or guids.get(object_id) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"peercoding:code:{object_id}"))
        themes[object_id] = Theme(
            name=state["name"],
            color=state.get("color", ""),
            guid=guid,
            archived=bool(state.get("archived")),
            **{name: state.get(name, "") or "" for name in TEXT_FIELDS},
        )
    top: list[Theme] = []
    ordered = sorted(states.items(), key=lambda item: (item[1].get("order", 0), item[1]["name"].lower(), int(item[0])))
    for object_id, state in ordered:
        parent = str(state.get("parent_id")) if state.get("parent_id") is not None else None
        (themes[parent].children if parent in themes else top).append(themes[object_id])
    return top


def codebook_document(
    project: Project, *, quotes: bool = True, counts: bool = True, as_of: datetime.date | None = None, membership=None
) -> CodebookDocument:
    """The codebook with its title block; with `as_of`, rebuilt from the trail without counts or quotes."""
    until = end_of_day(as_of) if as_of else None
    n_changes, latest = codebook_version(project, until)
    themes = replay(project, until) if as_of else current_themes(project, quotes=quotes, counts=counts, membership=membership)
    note = "the number of recorded codebook changes"
    if latest:
        note += f"; latest change is audit event #{latest}"
    return CodebookDocument(
        project=project.name,
        themes=themes,
        exported_on=timezone.localdate(),
        version=str(n_changes),
        version_note=note,
        as_of=as_of,
    )


# History --------------------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    event: AuditEvent
    summary: str
    changes: list[Change] = field(default_factory=list)


def history(project: Project, *, limit: int = 500) -> list[HistoryEntry]:
    """The latest codebook changes, newest first, each with a field-by-field diff."""
    events = list(AuditEvent.objects.filter(HISTORY_FILTER, project_id=project.pk).order_by("-pk")[:limit])
    names = {str(pk): name for pk, name in project.codes.values_list("pk", "name")}
    for event in reversed(events):  # oldest first, so names known only from the trail are filled in
        for state in (event.before, event.after):
            if isinstance(state, dict) and "name" in state and event.object_id not in names:
                names[event.object_id] = state["name"]
    return [_entry(event, names) for event in events]


def _show(field_name: str, value, names: dict[str, str]) -> str:
    if field_name == "parent_id":
        return "(top level)" if value is None else names.get(str(value), f"code #{value}")
    if field_name == "archived":
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _entry(event: AuditEvent, names: dict[str, str]) -> HistoryEntry:
    before, after = event.before or {}, event.after or {}
    name = event.object_repr
    verb = event.verb
    if verb == "code.created":
        changes = [Change(LABELS[k], "", _show(k, after.get(k), names)) for k in (*EDITABLE, "parent_id") if after.get(k)]
        return HistoryEntry(event, f"Created “{name}”", changes)
    if verb == "code.deleted":
        changes = [Change(LABELS[k], _show(k, before.get(k), names), "") for k in (*EDITABLE, "parent_id") if before.get(k)]
        return HistoryEntry(event, f"Deleted “{name}” (it was on {before.get('excerpts', 0)} excerpts)", changes)
    if verb == "code.merged":
        return HistoryEntry(
            event,
            f"Merged “{name}” into “{after.get('into_name', '?')}”: {after.get('moved', 0)} excerpts moved, "
            f"{after.get('already_there', 0)} already had both codes",
        )
    if verb in ("exemplar.marked", "exemplar.unmarked"):
        word = "Marked" if verb == "exemplar.marked" else "Unmarked"
        code_name = names.get(str(after.get("code")), "a code")
        return HistoryEntry(event, f"{word} excerpt #{after.get('excerpt')} as an exemplar of “{code_name}”")
    if verb == "codebook.imported":
        return HistoryEntry(
            event,
            f"Imported {after.get('source', 'a codebook')}: {after.get('created', 0)} codes created, "
            f"{after.get('updated', 0)} updated",
        )
    changes = [
        Change(LABELS.get(k, k), _show(k, before.get(k), names), _show(k, after.get(k), names))
        for k in LABELS
        if k in after and before.get(k) != after.get(k)
    ]
    words = {
        "code.changed": "Changed",
        "code.moved": "Moved",
        "code.reordered": "Reordered",
        "code.archived": "Archived",
        "code.unarchived": "Brought back",
    }
    return HistoryEntry(event, f"{words.get(verb, verb)} “{name}”", changes)
