"""The codebook: every write is atomic and audited, and the trail can rebuild any past state.

Each code.* event stores the code's whole state (fields, parent_id, order, archived, guid) in
`after` (in `before` for code.deleted), so replay() rebuilds the tree as it stood on any date
from the audit trail alone, and the history page can show what changed from what.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from . import actions, audit
from .actions import ConfirmationRequired, _code_state as code_state
from .interop.codebook import TEXT_FIELDS, CodebookDocument, Quote, Theme, walk  # noqa: F401 (walk: re-exported)
from .models import AuditEvent, Code, CodeApplication, Project
from .models.coding import visible_excerpts_q

__all__ = ["ConfirmationRequired"]

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


# Writes ---------------------------------------------------------------------------------------------


def next_order(project: Project | int, parent: Code | None) -> int:
    top = Code.objects.filter(project=project, parent=parent).aggregate(top=Max("order"))["top"]
    return 0 if top is None else top + 1


@transaction.atomic
def create_code(project: Project, *, by, parent: Code | None = None, **fields) -> Code:
    """A new code at the end of its siblings; ValidationError for a bad name, colour or parent."""
    if parent is not None and parent.project_id != project.pk:
        raise ValidationError({"parent": "The parent code belongs to another project."})
    fields.setdefault("order", next_order(project, parent))
    return actions.create_code(project, by=by, parent=parent, **fields)


def _locked(code: Code) -> Code:
    try:
        return Code.objects.select_for_update().get(pk=code.pk)
    except Code.DoesNotExist:
        raise ValidationError("This code was deleted meanwhile.") from None


def _save(code: Code, fields: list[str], verb: str, *, by, before: dict) -> Code:
    code.full_clean(exclude=["guid", "project"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            code.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise ValidationError({"name": "A code with this name already exists at this level."}) from None
    audit.record(verb, by=by, project=code.project_id, obj=code, before=before, after=code_state(code))
    return code


@transaction.atomic
def change_code(code: Code, *, by, **fields) -> Code:
    """Rename, recolour or rewrite a code's definition, criteria and examples."""
    code = _locked(code)
    before = code_state(code)
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ValueError(f"{name} is not an editable field of a code.")
        setattr(code, name, value.strip() if name in TEXT_FIELDS or name == "name" else value)
    if code_state(code) == before:
        return code
    return _save(code, list(fields), "code.changed", by=by, before=before)


@transaction.atomic
def move_code(code: Code, parent: Code | None, *, by) -> Code:
    """Put a code (with its subthemes) under another parent, or at the top when parent is None."""
    code = _locked(code)
    if parent is not None and parent.project_id != code.project_id:
        raise ValidationError({"parent": "The parent code belongs to another project."})
    if (parent.pk if parent else None) == code.parent_id:
        return code
    before = code_state(code)
    code.parent = parent
    code.order = next_order(code.project_id, parent)
    return _save(code, ["parent", "order"], "code.moved", by=by, before=before)


@transaction.atomic
def reorder_code(code: Code, direction: str, *, by) -> Code:
    """Swap a code with its sibling above ("up") or below ("down"); siblings are renumbered 0..n."""
    code = _locked(code)
    siblings = list(
        Code.objects.select_for_update().filter(project_id=code.project_id, parent_id=code.parent_id).order_by("order", "name", "pk")
    )
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == code.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(siblings):
        return code
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.order != position:
            before = code_state(sibling)
            sibling.order = position
            sibling.save(update_fields=["order", "updated_at"])
            audit.record("code.reordered", by=by, project=code.project_id, obj=sibling, before=before, after=code_state(sibling))
    return next(sibling for sibling in siblings if sibling.pk == code.pk)


@transaction.atomic
def archive_code(code: Code, archived: bool, *, by) -> Code:
    """Archive a code (kept with its coding, hidden from the code picker) or bring it back."""
    code = _locked(code)
    if code.archived == archived:
        return code
    before = code_state(code)
    code.archived = archived
    return _save(code, ["archived"], "code.archived" if archived else "code.unarchived", by=by, before=before)


@dataclass
class MergeResult:
    moved: int  # applications moved from the source to the target
    already_there: int  # excerpts that had both codes and keep one application
    excerpts_before: int  # excerpts carrying either code before
    excerpts_after: int  # excerpts carrying the target after


@transaction.atomic
def merge_codes(source: Code, target: Code, *, by) -> MergeResult:
    """Move every excerpt, subtheme and memo of `source` to `target`, then delete `source`.

    An excerpt that had both codes keeps one application (an exemplar mark on either survives).
    """
    if source.project_id != target.project_id:
        raise ValidationError("The two codes belong to different projects.")
    if source.pk == target.pk:
        raise ValidationError("Choose another code to merge into.")
    source, target = _locked(source), _locked(target)
    ancestor = target.parent
    while ancestor is not None:
        if ancestor.pk == source.pk:
            raise ValidationError(f"“{target.name}” is a subtheme of “{source.name}”: move it out first, then merge.")
        ancestor = ancestor.parent
    source_excerpts = set(source.applications.values_list("excerpt_id", flat=True))
    target_excerpts = set(target.applications.values_list("excerpt_id", flat=True))
    shared = source_excerpts & target_excerpts
    before = {"source": code_state(source), "target": code_state(target),
              "source_excerpts": len(source_excerpts), "target_excerpts": len(target_excerpts)}
    marked = list(source.applications.filter(excerpt_id__in=shared, is_exemplar=True).values_list("excerpt_id", flat=True))
    target.applications.filter(excerpt_id__in=marked).update(is_exemplar=True)
    source.applications.filter(excerpt_id__in=shared).delete()
    moved = source.applications.update(code=target)
    source.memos.update(code=target)
    for child in source.children.order_by("order", "name", "pk"):
        move_code(child, target, by=by)
    result = MergeResult(
        moved=moved,
        already_there=len(shared),
        excerpts_before=len(source_excerpts | target_excerpts),
        excerpts_after=target.applications.count(),
    )
    audit.record(
        "code.merged",
        by=by,
        project=source.project_id,
        obj=source,
        before=before,
        after={"into": target.pk, "into_name": target.name, "into_guid": target.guid, "moved": moved,
               "already_there": len(shared), "target_excerpts": result.excerpts_after},
    )
    source.delete()
    return result


def delete_code(code: Code, *, by, confirmed: bool = False) -> None:
    """actions.delete_code: ConfirmationRequired when excerpts carry the code and none confirmed."""
    actions.delete_code(code, by=by, confirmed=confirmed)


def excerpts_lost_with(code: Code) -> int:
    """Excerpts that carry only this code, which deleting it would delete too."""
    return code.applications.exclude(excerpt__applications__code__in=Code.objects.exclude(pk=code.pk)).count()


def set_exemplar(application: CodeApplication, is_exemplar: bool, *, by) -> CodeApplication:
    """actions.set_exemplar: mark or unmark one application as an exemplar (audited as exemplar.*)."""
    return actions.set_exemplar(application, is_exemplar, by=by)


# Reads ----------------------------------------------------------------------------------------------


def load_tree(project: Project, membership=None) -> list[Code]:
    """Every code in tree order with `.depth` and its three counts: one query.

    With a membership, counts cover only the coding that member may see (blind coding).
    """
    visible = visible_excerpts_q(membership, "applications__excerpt__") if membership else None
    return project.codes.with_counts(visible).in_tree_order()


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


# Import ---------------------------------------------------------------------------------------------


@dataclass
class PlannedCode:
    path: tuple[str, ...]
    depth: int
    action: str  # "create", "update" or "same"
    changes: list[Change]
    theme: Theme = field(repr=False)
    code: Code | None = field(default=None, repr=False)
    parent_key: tuple[str, ...] = ()


def plan_import(project: Project, themes: list[Theme]) -> list[PlannedCode]:
    """What importing `themes` would do: codes matched by GUID, else by path (any case)."""
    codes = project.codes.in_tree_order()
    by_pk = {code.pk: code for code in codes}
    paths: dict[tuple[str, ...], Code] = {}
    for code in codes:
        parts, node = [], code
        while node is not None:
            parts.append(node.name.lower())
            node = by_pk.get(node.parent_id)
        paths[tuple(reversed(parts))] = code
    by_guid = {str(code.guid): code for code in codes}
    key_of = {code.pk: key for key, code in paths.items()}
    plan: list[PlannedCode] = []

    def visit(items: list[Theme], parent_key: tuple[str, ...], parent_names: tuple[str, ...], depth: int) -> None:
        seen: set[str] = set()
        for theme in items:
            if theme.name.lower() in seen:
                theme.name = f"{theme.name} ({len(seen) + 1})"  # two siblings of one name in the file
            seen.add(theme.name.lower())
            code = by_guid.get(theme.guid) or paths.get((*parent_key, theme.name.lower()))
            if code is None:
                key, names = (*parent_key, theme.name.lower()), (*parent_names, theme.name)
                changes = [Change(LABELS[k], "", getattr(theme, k)) for k in EDITABLE if getattr(theme, k)]
                plan.append(PlannedCode(names, depth, "create", changes, theme, None, parent_key))
            else:
                key, names = key_of[code.pk], _names(code, by_pk)
                changes = [
                    Change(LABELS[k], getattr(code, k), getattr(theme, k))
                    for k in EDITABLE
                    if k != "name" and getattr(theme, k) and getattr(theme, k) != getattr(code, k)
                ]
                plan.append(PlannedCode(names, depth, "update" if changes else "same", changes, theme, code, parent_key))
            visit(theme.children, key, names, depth + 1)

    visit(themes, (), (), 0)
    return plan


def _names(code: Code, by_pk: dict[int, Code]) -> tuple[str, ...]:
    names, node = [], code
    while node is not None:
        names.append(node.name)
        node = by_pk.get(node.parent_id)
    return tuple(reversed(names))


@transaction.atomic
def apply_import(project: Project, themes: list[Theme], *, by, source: str) -> tuple[int, int]:
    """Create and update codes as plan_import() says, in one transaction; (created, updated)."""
    plan = plan_import(project, themes)
    taken = set(str(g) for g in Code.objects.filter(guid__in=[p.theme.guid for p in plan if p.theme.guid]).values_list("guid", flat=True))
    made: dict[tuple[str, ...], Code] = {}
    created = updated = 0
    for planned in plan:
        theme = planned.theme
        if planned.action == "create":
            parent = made.get(planned.parent_key) if planned.parent_key else None
            fields = {name: getattr(theme, name) for name in TEXT_FIELDS}
            if theme.color:
                fields["color"] = theme.color
            if theme.guid and theme.guid not in taken:
                fields["guid"] = uuid.UUID(theme.guid)
            code = create_code(project, by=by, parent=parent, name=theme.name, archived=theme.archived, **fields)
            created += 1
        else:
            code = planned.code
            if planned.action == "update":
                changed = {k: getattr(theme, k) for k in EDITABLE if k != "name" and getattr(theme, k) and getattr(theme, k) != getattr(code, k)}
                code = change_code(code, by=by, **changed)
                updated += 1
        # Children name their parent by its key: the stored path for a matched code, else the file's path.
        made[tuple(part.lower() for part in planned.path)] = code
        made[(*planned.parent_key, theme.name.lower())] = code
    audit.record(
        "codebook.imported", by=by, project=project, obj=project, after={"source": source, "created": created, "updated": updated}
    )
    return created, updated
