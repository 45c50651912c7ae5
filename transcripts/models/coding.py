"""The codebook (codes as themes and subthemes), excerpts, and memos."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from transcripts import spans

from .projects import Project
from .transcripts import Transcript
from .visibility import visible_excerpts_q

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour written as #rrggbb.")


class CodeQuerySet(models.QuerySet):
    def active(self) -> "CodeQuerySet":
        return self.filter(archived=False)

    def with_counts(self, visible: models.Q | None = None) -> "CodeQuerySet":
        """Codes with n_excerpts, n_transcripts and n_participants, counted by the database in one query.

        `visible` limits what is counted, e.g. visible_excerpts_q(membership, "applications__excerpt__").
        """
        return self.annotate(
            n_excerpts=models.Count("applications__excerpt", distinct=True, filter=visible),
            n_transcripts=models.Count("applications__excerpt__transcript", distinct=True, filter=visible),
            n_participants=models.Count("applications__excerpt__transcript__participant", distinct=True, filter=visible),
        )

    def in_tree_order(self) -> list["Code"]:
        """All codes, parents before children, siblings by their order; sets `.depth`."""
        codes = list(self.order_by("order", "name", "pk"))
        by_parent: dict[int | None, list[Code]] = {}
        for code in codes:
            by_parent.setdefault(code.parent_id, []).append(code)
        ordered: list[Code] = []
        known = {code.pk for code in codes}

        def walk(parent_id: int | None, depth: int) -> None:
            for child in by_parent.get(parent_id, []):
                child.depth = depth
                ordered.append(child)
                walk(child.pk, depth + 1)

        walk(None, 0)
        # Codes whose parent is outside the queryset (e.g. filtered) come last, at top level.
        for code in codes:
            if code.parent_id is not None and code.parent_id not in known:
                code.depth = 0
                ordered.append(code)
                walk(code.pk, 1)
        return ordered


class Code(models.Model):
    """A theme or subtheme of the codebook."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="codes")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(max_length=120)
    color = models.CharField(max_length=7, default="#f4c542", validators=[colour_validator])
    definition = models.TextField(blank=True)
    inclusion = models.TextField("inclusion criteria", blank=True)
    exclusion = models.TextField("exclusion criteria", blank=True)
    typical_example = models.TextField(blank=True)
    atypical_example = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    # Unique within its project only (code_unique_guid): a codebook or a project imported into a
    # second project keeps the GUIDs the other tool gave its codes.
    guid = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Stable id for REFI-QDA.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CodeQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "parent", condition=models.Q(parent__isnull=False), name="code_unique_sibling_name"
            ),
            models.UniqueConstraint(
                Lower("name"), "project", condition=models.Q(parent__isnull=True), name="code_unique_top_name"
            ),
            models.UniqueConstraint(fields=["project", "guid"], name="code_unique_guid"),
            models.CheckConstraint(condition=~models.Q(name=""), name="code_name_not_empty"),
            models.CheckConstraint(condition=models.Q(color__startswith="#"), name="code_color_hex"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.parent.project_id != self.project_id:
            raise ValidationError({"parent": "The parent code belongs to another project."})
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": "A code cannot be moved under itself or its own subthemes."})
            ancestor = ancestor.parent


class ExcerptQuerySet(models.QuerySet):
    def for_transcript_page(self) -> "ExcerptQuerySet":
        """Excerpts in reading order, coder and codes loaded."""
        return (
            self.select_related("coder")
            .prefetch_related(
                models.Prefetch("applications", queryset=CodeApplication.objects.select_related("code"))
            )
            .order_by("start", "end", "pk")
        )

    def visible_to(self, membership) -> "ExcerptQuerySet":
        """The excerpts this member may see under blind coding (see visible_excerpts_q)."""
        rule = visible_excerpts_q(membership)
        return self.all() if rule is None else self.filter(rule)


class Excerpt(models.Model):
    """A span of a transcript's text, coded by one person with one or more codes."""

    transcript = models.ForeignKey(Transcript, on_delete=models.PROTECT, related_name="excerpts")
    start = models.PositiveIntegerField(help_text="Code point offset, inclusive.")
    end = models.PositiveIntegerField(help_text="Code point offset, exclusive.")
    quote = models.TextField(editable=False, help_text="The text at [start, end) when last saved.")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="excerpts")
    memo = models.TextField(blank=True)
    codes = models.ManyToManyField(Code, through="CodeApplication", related_name="excerpts")
    version = models.PositiveIntegerField(default=1, help_text="Raised on each change; stale edits are refused.")
    client_token = models.CharField(
        max_length=64, null=True, blank=True, unique=True, help_text="Makes a retried request take effect once."
    )
    is_consensus = models.BooleanField(
        default=False, help_text="Part of the consensus coding a lead settled; `coder` is that lead, `memo` the note why."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExcerptQuerySet.as_manager()

    class Meta:
        ordering = ["transcript", "start", "end"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="excerpt_end_after_start"),
        ]
        indexes = [models.Index(fields=["transcript", "start"]), models.Index(fields=["coder", "transcript"])]

    def __str__(self) -> str:
        return f"{self.transcript} [{self.start}:{self.end}]"

    def clean(self) -> None:
        try:
            spans.check_span(self.transcript.text, self.start, self.end)
        except ValueError as error:
            raise ValidationError(f"The excerpt does not fit the transcript: {error}.") from None

    def save(self, *args, **kwargs) -> None:
        text = self.transcript.text
        spans.check_span(text, self.start, self.end)
        self.quote = text[self.start : self.end]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"start", "end"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "quote"}
        super().save(*args, **kwargs)


class CodeApplication(models.Model):
    """One code on one excerpt: who applied it and when."""

    excerpt = models.ForeignKey(Excerpt, on_delete=models.CASCADE, related_name="applications")
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="applications")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)
    is_exemplar = models.BooleanField(default=False, help_text="Marked by a lead as a quote that best shows the code.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["excerpt", "code"], name="application_unique")]
        indexes = [models.Index(fields=["code", "excerpt"])]

    def __str__(self) -> str:
        return f"{self.code} on {self.excerpt}"

    def clean(self) -> None:
        if self.code.project_id != self.excerpt.transcript.project_id:
            raise ValidationError("The code belongs to another project.")


class Memo(models.Model):
    """Free notes: on the project (a research journal), on a transcript, or on a code."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memos")
    transcript = models.ForeignKey(Transcript, null=True, blank=True, on_delete=models.CASCADE, related_name="memos")
    code = models.ForeignKey(Code, null=True, blank=True, on_delete=models.CASCADE, related_name="memos")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memos")
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(transcript__isnull=True) | models.Q(code__isnull=True),
                name="memo_on_one_thing",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.body[:40]

    def clean(self) -> None:
        for target in (self.transcript, self.code):
            if target is not None and target.project_id != self.project_id:
                raise ValidationError("The memo's subject belongs to another project.")
