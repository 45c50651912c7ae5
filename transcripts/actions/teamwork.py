"""Teamwork: assignments, blind coding and the consensus a lead settles."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import audit, spans
from ..assigning import plan_overlap
from ..models import Code, CodeApplication, Excerpt, Membership, Project, Transcript, TranscriptAssignment
from ..suggestions.tasks import after_coding_changed
from . import counts


@transaction.atomic
def assign_with_overlap(
    project: Project, transcripts: Sequence[Transcript], coders: Sequence, *, share: float, seed: int, by
) -> list:
    """Assign transcripts round-robin, a random `share` to a second coder too (assigning.plan_overlap).

    Pairs that already exist are kept as they are. The seed goes into the audit trail, so the
    sample can be drawn again exactly.
    """
    for transcript in transcripts:
        if transcript.project_id != project.pk:
            raise ValidationError("A transcript of another project cannot be assigned here.")
    members = set(
        Membership.objects.filter(
            project=project, role__in=[Membership.Role.LEAD, Membership.Role.CODER]
        ).values_list("user_id", flat=True)
    )
    if any(coder.pk not in members for coder in coders):
        raise ValidationError("Only the project's leads and coders can be assigned transcripts.")
    try:
        plan = plan_overlap([t.pk for t in transcripts], [c.pk for c in coders], share, seed)
    except ValueError as error:
        raise ValidationError(str(error).capitalize() + ".") from None
    existing = set(
        TranscriptAssignment.objects.filter(transcript__in=transcripts).values_list("transcript_id", "coder_id")
    )
    new = [pair for pair in plan if pair not in existing]
    created = TranscriptAssignment.objects.bulk_create(
        TranscriptAssignment(transcript_id=transcript_id, coder_id=coder_id, assigned_by=by)
        for transcript_id, coder_id in new
    )
    audit.record(
        "assignment.created",
        by=by,
        project=project,
        after={
            "seed": seed,
            "share": share,
            "transcripts": [t.pk for t in transcripts],
            "coders": [c.pk for c in coders],
            "assigned": [list(pair) for pair in new],
            "already_assigned": [list(pair) for pair in plan if pair in existing],
        },
    )
    return created


@transaction.atomic
def set_assignment_done(assignment, done: bool, *, by) -> None:
    """Mark a coder's assignment done, or open it again."""
    before = {"done_at": assignment.done_at}
    assignment.done_at = timezone.now() if done else None
    assignment.save(update_fields=["done_at"])
    audit.record(
        "assignment.done" if done else "assignment.reopened",
        by=by,
        project=assignment.transcript.project_id,
        obj=assignment,
        before=before,
        after={"done_at": assignment.done_at, "transcript": assignment.transcript_id, "coder": assignment.coder_id},
    )


@transaction.atomic
def remove_assignment(assignment, *, by) -> None:
    audit.record(
        "assignment.removed",
        by=by,
        project=assignment.transcript.project_id,
        obj=assignment,
        before={"transcript": assignment.transcript_id, "coder": assignment.coder_id, "done_at": assignment.done_at},
    )
    assignment.delete()


@transaction.atomic
def set_blinding(project: Project, *, blind_coding: bool, comparison_open: bool, by) -> None:
    """Turn the project's blind coding on or off, and open or close comparison."""
    before = {"blind_coding": project.blind_coding, "comparison_open": project.comparison_open}
    after = {"blind_coding": blind_coding, "comparison_open": comparison_open}
    if before == after:
        return
    project.blind_coding, project.comparison_open = blind_coding, comparison_open
    project.save(update_fields=["blind_coding", "comparison_open"])
    audit.record("project.blinding_changed", by=by, project=project, obj=project, before=before, after=after)


@transaction.atomic
def set_transcript_blinding(transcript: Transcript, blind: bool, *, by) -> None:
    if transcript.blind_coding == blind:
        return
    before = {"blind_coding": transcript.blind_coding}
    transcript.blind_coding = blind
    # An update, not save(): save() re-hashes the text, which this change does not touch.
    Transcript.objects.filter(pk=transcript.pk).update(blind_coding=blind)
    audit.record(
        "transcript.blinding_changed", by=by, project=transcript.project_id, obj=transcript,
        before=before, after={"blind_coding": blind},
    )


@transaction.atomic
def settle_consensus(
    transcript: Transcript,
    *,
    originals: Sequence[Excerpt],
    versions: Sequence[tuple[int, int, Sequence[Code]]],
    choice: str,
    note: str,
    by,
) -> list[Excerpt]:
    """Write the consensus for one disagreement: new excerpts marked `is_consensus`, by the lead,
    with the note as their memo. The coders' own excerpts (`originals`) are never changed.

    `versions` are the (start, end, codes) to write; `choice` says how they were reached
    ("accept:<coder id>", "merge" or "new") and goes into the audit trail with the originals' ids.
    """
    note = note.strip()
    if not note:
        raise ValidationError("Write a note on why: it stays with the consensus.")
    if not versions:
        raise ValidationError("There is nothing to write into the consensus.")
    for original in originals:
        if original.transcript_id != transcript.pk or original.is_consensus:
            raise ValidationError("Those excerpts are not coders' coding of this transcript.")
    after_coding_changed(transcript.project_id)
    with counts.changing(transcript.project_id) as changed:
        settled = []
        for start, end, codes in versions:
            if not codes:
                raise ValidationError("A consensus excerpt needs at least one code.")
            if any(code.project_id != transcript.project_id for code in codes):
                raise ValidationError("A code of another project cannot be applied here.")
            try:
                spans.check_span(transcript.text, start, end)
            except ValueError as error:
                raise ValidationError(f"The passage does not fit the transcript: {error}.") from None
            excerpt = Excerpt(transcript=transcript, start=start, end=end, coder=by, memo=note, is_consensus=True)
            excerpt.save()
            CodeApplication.objects.bulk_create(
                CodeApplication(excerpt=excerpt, code=code, applied_by=by) for code in dict.fromkeys(codes)
            )
            settled.append(excerpt)
            changed.append(excerpt.pk)
    audit.record(
        "consensus.settled",
        by=by,
        project=transcript.project_id,
        obj=transcript,
        after={
            "choice": choice,
            "note": note,
            "from_excerpts": sorted(original.pk for original in originals),
            "consensus": [
                {"excerpt": e.pk, "start": e.start, "end": e.end, "quote": e.quote, "codes": sorted({c.pk for c in codes})}
                for e, (_, _, codes) in zip(settled, versions)
            ],
        },
    )
    return settled
