"""A whole REFI-QDA project (.qdpx, .qde) brought in as a new peercoding project.

`import_project` writes what project_preview.prepare_project_import worked out into a new
project in one transaction, so a file that fails half-way leaves nothing behind.

Source texts are normalised as every imported transcript is (spans.normalize_text), and each
selection's positions are carried through that normalisation by an offset map, so an excerpt
quotes exactly the characters the other tool highlighted.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from .. import audit
from ..interop import qdpx
from ..interop.qdpx.themes import theme_from_code
from ..interop.readers.base import quoted
from ..models import Attribute, AttributeValue, Code, CodeApplication, Excerpt, Membership, Memo, Participant, Project, Transcript
from . import counts
from .base import excerpt_state
from .codebook import create_code
from .project_preview import PreparedImport, imported_name, value_for
from .projects import create_project

LABEL_MAX = Participant._meta.get_field("label").max_length
ATTRIBUTE_MAX = Attribute._meta.get_field("name").max_length
ATTRIBUTE_LABEL_MAX = Attribute._meta.get_field("label").max_length


@dataclass
class ImportResult:
    project: Project
    transcripts: int = 0
    codes: int = 0
    excerpts: int = 0
    applications: int = 0
    memos: int = 0
    participants: int = 0
    attributes: int = 0
    accounts_created: int = 0
    accounts_mapped: int = 0
    notes: list[str] = field(default_factory=list)  # said after the import (values that did not fit)


@transaction.atomic
def import_project(
    prepared: PreparedImport,
    *,
    name: str,
    slug: str,
    by,
    mapping: dict[str, object] | None = None,
    description: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write the prepared file into a new project led by `by`; all of it or, on any error, nothing.
    `progress` is told how many sources are written, as they are (inside the transaction).

    `mapping` says, per file user GUID, which existing account they are; the others get an
    inactive account that cannot log in. IntegrityError when the slug is taken.
    """
    file = prepared.project
    project = create_project(name, slug, by=by, description=file.description if description is None else description)
    result = ImportResult(project=project)
    users = _import_users(project, prepared, mapping or {}, by, result)

    def user_of(guid: str):
        return users.get(guid, by)

    codes = _import_codes(project, prepared, by, result)
    participants = _import_cases(project, file, by, result)
    transcripts = _import_sources(project, prepared, participants, by, user_of, codes, result, progress)
    _import_notes(project, file, transcripts, codes, user_of, result)
    _record_excerpts(project, by)
    counts.recount(project)  # the coding came in bulk, past actions/counts.py
    audit.record(
        "project.imported",
        by=by,
        project=project,
        obj=project,
        after={
            "file": prepared.filename[:200],
            "origin": file.origin[:200],
            "offset_reading": file.offset_reading,
            "transcripts": result.transcripts,
            "codes": result.codes,
            "excerpts": result.excerpts,
            "applications": result.applications,
            "memos": result.memos,
            "participants": result.participants,
            "attributes": result.attributes,
            "accounts_created": result.accounts_created,
            "accounts_mapped": result.accounts_mapped,
            "left_out": prepared.left_out,
        },
    )
    return result


def _record_excerpts(project: Project, by) -> None:
    """One excerpt.imported event per excerpt, in its final state, so verify_excerpts finds each on the trail.

    Not excerpt.created: an import is not undone excerpt by excerpt from the coding page.
    """
    code_ids: defaultdict[int, list[int]] = defaultdict(list)
    for excerpt_id, code_id in CodeApplication.objects.filter(excerpt__transcript__project=project).values_list("excerpt_id", "code_id"):
        code_ids[excerpt_id].append(code_id)
    for excerpt in Excerpt.objects.filter(transcript__project=project).order_by("pk"):
        audit.record("excerpt.imported", by=by, project=project, obj=excerpt, after=excerpt_state(excerpt, code_ids[excerpt.pk]))


def _unique_username(base: str) -> str:
    User = get_user_model()
    stem = (slugify(base)[:100] or "user") + "-imported"
    taken = set(User.objects.filter(username__startswith=stem).values_list("username", flat=True))
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def _import_users(project: Project, prepared: PreparedImport, mapping: dict, by, result: ImportResult) -> dict:
    User = get_user_model()
    users: dict[str, object] = {}
    for file_user in prepared.users:
        account = mapping.get(file_user.guid)
        if account is None:
            first, last = imported_name(file_user.name, prepared.tool)
            account = User(username=_unique_username(file_user.name), first_name=first, last_name=last, is_active=False)
            account.set_unusable_password()
            account.save()
            result.accounts_created += 1
            audit.record(
                "member.account_imported", by=by, project=project, obj=account,
                after={"username": account.username, "name": f"{first} {last}"},
            )
        else:
            result.accounts_mapped += 1
        users[file_user.guid] = account
        if account.pk != by.pk:
            _, made = Membership.objects.get_or_create(project=project, user=account, defaults={"role": Membership.Role.CODER})
            if made:
                audit.record(
                    "member.added", by=by, project=project, obj=account,
                    after={"user": account.get_username(), "role": Membership.Role.CODER},
                )
    return users


def _import_codes(project: Project, prepared: PreparedImport, by, result: ImportResult) -> dict[str, Code]:
    codes: dict[str, Code] = {}

    def visit(level: list[qdpx.Code], parent: Code | None) -> None:
        for order, code in enumerate(level):
            theme = theme_from_code(code)
            fields = {name: getattr(theme, name) for name in ("definition", "inclusion", "exclusion", "typical_example", "atypical_example")}
            if theme.color:
                fields["color"] = theme.color
            try:
                fields["guid"] = uuid.UUID(code.guid)
            except ValueError:
                fields["guid"] = uuid.uuid4()
                prepared.notes.append(f"The code {quoted(code.name)} had a GUID that is not one ({code.guid[:40]!r}); it was given a new one.")
            made = create_code(
                project, by=by, parent=parent, name=prepared.code_names.get(code.guid, code.name), archived=theme.archived, order=order, **fields
            )
            codes[code.guid] = made
            result.codes += 1
            visit(code.children, made)

    visit(prepared.project.codes, None)
    return codes


def _unique(wanted: str, limit: int, taken: set[str], fallback: str) -> str:
    base = " ".join(wanted.split())[:limit] or fallback
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: limit - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _import_cases(project: Project, file: qdpx.Project, by, result: ImportResult) -> dict[str, Participant]:
    """Variables as attributes, cases as participants with their values; source GUID -> participant."""
    attributes: dict[str, Attribute] = {}
    names: set[str] = set()
    for order, variable in enumerate(file.variables):
        attributes[variable.guid] = Attribute.objects.create(
            project=project,
            name=_unique(variable.name, ATTRIBUTE_MAX, names, f"Variable {order + 1}"),
            label=" ".join(variable.label.split())[:ATTRIBUTE_LABEL_MAX],  # "" is made from the name on save
            kind=variable.kind,
            choices=variable.choices if variable.kind == "choice" else [],
            order=order,
        )
        result.attributes += 1
    by_source: dict[str, Participant] = {}
    labels: set[str] = set()
    problems = 0
    for number, case in enumerate(file.cases, start=1):
        participant = Participant.objects.create(project=project, label=_unique(case.name, LABEL_MAX, labels, f"Case {number}"))
        result.participants += 1
        for value in case.values:
            attribute = attributes[value.variable_guid]
            try:
                text, number_value, date = attribute.parse(value_for(attribute, value.value))
            except ValidationError:
                problems += 1
                continue
            if text:
                AttributeValue.objects.create(participant=participant, attribute=attribute, value=text[:500], number=number_value, date=date)
        for source_guid in case.source_guids:
            by_source.setdefault(source_guid, participant)
    if problems:
        result.notes.append(f"{problems:,} variable value{'s' if problems != 1 else ''} did not fit the variable's type and were left empty.")
    if file.cases or file.variables:
        audit.record(
            "participants.imported", by=by, project=project,
            after={"created": result.participants, "updated": 0, "columns": [a.name for a in attributes.values()]},
        )
    return by_source


def _import_sources(project, prepared, participants, by, user_of, codes, result, progress=None) -> dict[str, tuple[Transcript, dict[str, list[Excerpt]]]]:  # noqa: ANN001
    """Transcripts with their excerpts; source GUID -> (transcript, selection or coding GUID -> excerpts)."""
    found = {}
    for item in prepared.sources:
        source = item.source
        transcript = Transcript(
            project=project,
            participant=participants.get(source.guid),
            title=item.title,
            text=item.text,
            source_name=f"{prepared.filename}: {source.text_from}"[:255],
            source_format=Transcript.Format.TXT,
            imported_by=by,
        )
        transcript.save()
        audit.record(
            "transcript.imported", by=by, project=project, obj=transcript,
            after={"title": transcript.title, "participant": transcript.participant.label if transcript.participant else None,
                   "source_name": transcript.source_name, "content_hash": transcript.content_hash,
                   "length": len(transcript.text), "turns": 0},
        )
        result.transcripts += 1
        if source.description.strip():
            Memo.objects.create(project=project, transcript=transcript, author=by, title="Description", body=source.description.strip())
            result.memos += 1
        excerpts, applications, owners = [], [], []
        for selection, start, end in item.spans:
            consensus = prepared.is_consensus(selection)
            for coder, codings in _codings_by_coder(selection, user_of, consensus=consensus).items():
                excerpt = Excerpt(
                    transcript=transcript, start=start, end=end, quote=item.text[start:end], coder=coder,
                    memo=selection.description, is_consensus=consensus,
                )
                excerpts.append(excerpt)
                owners.append((selection, codings))
        Excerpt.objects.bulk_create(excerpts)
        keyed: dict[str, list[Excerpt]] = defaultdict(list)
        for excerpt, (selection, codings) in zip(excerpts, owners, strict=True):
            keyed[selection.guid].append(excerpt)
            seen = set()
            for coding in codings:
                keyed[coding.guid].append(excerpt)
                code = codes[coding.code_guid]
                if code.pk in seen:
                    continue
                seen.add(code.pk)
                applications.append(CodeApplication(excerpt=excerpt, code=code, applied_by=excerpt.coder))
        CodeApplication.objects.bulk_create(applications)
        result.excerpts += len(excerpts)
        result.applications += len(applications)
        found[source.guid] = (transcript, keyed)
        if progress:
            progress(len(found))
    return found


def _codings_by_coder(selection: qdpx.Selection, user_of, *, consensus: bool) -> dict[object, list[qdpx.Coding]]:  # noqa: ANN001
    """The selection's codings by the account that becomes their excerpt's coder.

    Excerpts here have one coder: codings by several people make one excerpt each. A consensus
    selection makes one excerpt, coded by the lead who settled it (its modifying user).
    """
    if consensus:
        return {user_of(selection.modifying_user): list(selection.codings)}
    by_coder: dict[object, list[qdpx.Coding]] = {}
    for coding in selection.codings:
        by_coder.setdefault(user_of(coding.creating_user or selection.creating_user), []).append(coding)
    if not by_coder:
        by_coder[user_of(selection.creating_user)] = []
    return by_coder


def _import_notes(project, file, transcripts, codes, user_of, result) -> None:  # noqa: ANN001
    """Notes as memos on what they were attached to; on selections and codings, as the excerpt's memo."""
    excerpts_by_guid: dict[str, list[Excerpt]] = {}
    for _, keyed in transcripts.values():
        excerpts_by_guid.update(keyed)
    changed: dict[int, Excerpt] = {}
    memos = []
    for note in file.notes:
        body = note.text.strip() or note.description.strip() or note.name.strip()
        if not body:
            continue
        if file.from_peercoding:
            body = note.text or body  # as it was written, to the last space
        author = user_of(note.creating_user)
        title = " ".join(note.name.split())[:200]
        # An excerpt memo peercoding wrote comes back as it was; another tool's note keeps its title.
        own_memo = file.from_peercoding and note.name in (qdpx.EXCERPT_MEMO_NAME, qdpx.CONSENSUS_MEMO_NAME)
        targets = note.attached_to or [qdpx.NoteTarget("project", "")]
        for target in targets:
            if target.kind in ("selection", "coding") and target.guid in excerpts_by_guid:
                for excerpt in excerpts_by_guid[target.guid]:
                    part = body if own_memo or not title else f"{title}: {body}"
                    excerpt.memo = "\n\n".join(text for text in (excerpt.memo, part) if text)
                    changed[excerpt.pk] = excerpt
                continue
            memo = Memo(project=project, author=author, title=title, body=body)
            if target.kind == "source" and target.guid in transcripts:
                memo.transcript = transcripts[target.guid][0]
            elif target.kind == "code" and target.guid in codes:
                memo.code = codes[target.guid]
            memos.append(memo)
    Memo.objects.bulk_create(memos)
    if changed:
        Excerpt.objects.bulk_update(list(changed.values()), ["memo"])
    result.memos += len(memos)
