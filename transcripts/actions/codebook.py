"""The codebook's writes: the only place codes are created, changed, moved, merged and imported.

Every write is atomic and audited. Each code.* event stores the code's whole state (base.code_state)
in `after` (in `before` for code.deleted), so codebook.replay() can rebuild the tree as it stood
on any date from the audit trail alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from .. import audit
from ..spans import without_control_characters
from ..codebook import EDITABLE, LABELS, Change
from ..interop.codebook import TEXT_FIELDS, Theme
from ..models import Code, CodeApplication, Excerpt, Project
from ..suggestions.tasks import after_coding_changed
from . import counts
from .base import ConfirmationRequired, code_state


def next_order(project: Project | int, parent: Code | None) -> int:
    """The order that puts a code after its last sibling."""
    top = Code.objects.filter(project=project, parent=parent).aggregate(top=Max("order"))["top"]
    return 0 if top is None else top + 1


@transaction.atomic
def create_code(project: Project, *, by, parent: Code | None = None, **fields) -> Code:
    """A new code at the end of its level, unless `order` says otherwise; ValidationError for a
    bad name, colour or parent."""
    if parent is not None and parent.project_id != project.pk:
        raise ValidationError({"parent": "The parent code belongs to another project."})
    fields.setdefault("order", next_order(project, parent))
    code = Code(project=project, parent=parent, **fields)
    code.full_clean(exclude=["guid"], validate_constraints=False)
    try:
        with transaction.atomic():
            code.save()
    except IntegrityError:
        raise ValidationError({"name": "A code with this name already exists at this level."}) from None
    audit.record("code.created", by=by, project=project, obj=code, after=code_state(code))
    return code


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
    with counts.changing(code.project_id, lambda: counts.excerpts_under(code), pairs=False):
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
    # Every excerpt of the source or its subthemes changes codes or ancestors (actions/counts.py).
    after_coding_changed(source.project_id)
    with counts.changing(source.project_id, lambda: counts.excerpts_under(source)):
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


@transaction.atomic
def delete_code(code: Code, *, by, confirmed: bool = False) -> None:
    """Delete a code; if excerpts carry it, only when a lead has confirmed it.

    Excerpts that carry other codes keep them; an excerpt left with no code is deleted with
    it, since an excerpt without a code means nothing. Codes with subthemes must be emptied first.
    """
    if code.children.exists():
        raise ValidationError("Move or delete the subthemes of this code first.")
    n_excerpts = code.applications.count()
    if n_excerpts and not confirmed:
        raise ConfirmationRequired(
            f"“{code.name}” is applied to {n_excerpts} excerpts; deleting it removes it from them.",
            n_excerpts=n_excerpts,
        )
    after_coding_changed(code.project_id)
    with counts.changing(code.project_id, lambda: counts.excerpts_under(code)):
        audit.record(
            "code.deleted", by=by, project=code.project_id, obj=code, before={**code_state(code), "excerpts": n_excerpts}
        )
        excerpt_ids = list(code.applications.values_list("excerpt_id", flat=True))
        code.applications.all().delete()
        Excerpt.objects.filter(pk__in=excerpt_ids, applications__isnull=True).delete()
        code.delete()


@transaction.atomic
def set_exemplar(application: CodeApplication, is_exemplar: bool, *, by) -> CodeApplication:
    """Mark or unmark an excerpt as an exemplar of one of its codes; recorded even when unchanged."""
    application = CodeApplication.objects.select_for_update(of=("self",)).select_related("code").get(pk=application.pk)
    before = {"is_exemplar": application.is_exemplar}
    if application.is_exemplar != is_exemplar:
        application.is_exemplar = is_exemplar
        application.save(update_fields=["is_exemplar"])
    audit.record(
        "exemplar.marked" if is_exemplar else "exemplar.unmarked",
        by=by,
        project=application.code.project_id,
        obj=application,
        before=before,
        after={"is_exemplar": is_exemplar, "code": application.code_id, "excerpt": application.excerpt_id},
    )
    return application


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
            _clean(theme)
            if theme.name.lower() in seen:
                theme.name = sibling_name(theme.name, seen)  # two siblings of one name in the file
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


def _clean(theme: Theme) -> None:
    """The control characters no code may hold (a file can carry them) out of the theme's name and texts."""
    theme.name = " ".join(without_control_characters(theme.name).split()) or "Unnamed code"
    for name in TEXT_FIELDS:
        setattr(theme, name, without_control_characters(getattr(theme, name) or ""))


def sibling_name(name: str, taken: set[str]) -> str:
    """`name` with the first free " (n)" after it, shortened first so it stays within Code.name's limit."""
    limit = Code._meta.get_field("name").max_length
    n = len(taken) + 1
    while True:
        suffix = f" ({n})"
        candidate = name[: limit - len(suffix)].rstrip() + suffix
        if candidate.lower() not in taken:
            return candidate
        n += 1


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
    # A GUID need only be unique within the project; a file that repeats one gets a new GUID for the repeat.
    taken = set(str(g) for g in project.codes.filter(guid__in=[p.theme.guid for p in plan if p.theme.guid]).values_list("guid", flat=True))
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
                taken.add(theme.guid)
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
