"""Projects (studies), who belongs to them, and the participants interviewed."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user) -> "ProjectQuerySet":
        """Projects the user is a member of; nobody sees any other."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)

    def first_steps(self, project_id: int) -> dict:
        """What the project has so far, in one query: n_transcripts, n_participants, n_codes,
        and n_can_code (members who may code, the lead included)."""

        def count(model, **where):
            rows = model.objects.filter(project=models.OuterRef("pk"), **where).order_by()
            return models.Subquery(
                rows.values("project").annotate(n=models.Count("pk")).values("n"), output_field=models.IntegerField()
            )

        # Here, not at the top: transcripts.py and coding.py import this module (for Project).
        from .coding import Code
        from .transcripts import Transcript

        row = (
            self.filter(pk=project_id)
            .annotate(
                n_transcripts=count(Transcript),
                n_participants=count(Participant),
                n_codes=count(Code),
                n_can_code=count(Membership, role__in=["lead", "coder"]),
            )
            .values("n_transcripts", "n_participants", "n_codes", "n_can_code")
            .get()
        )
        return {name: value or 0 for name, value in row.items()}


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True, help_text="Short name used in URLs and commands.")
    description = models.TextField(blank=True)
    only_leads_create_codes = models.BooleanField(
        default=False, help_text="When on, coders apply existing codes but only leads add new ones."
    )
    blind_coding = models.BooleanField(
        default=False, help_text="When on, coders see only their own coding until a lead opens comparison."
    )
    comparison_open = models.BooleanField(
        default=False, help_text="Set by a lead: everyone's coding and the agreement figures become visible."
    )
    leads_need_two_factor = models.BooleanField(
        default=False,
        help_text="When on, a lead opens this project only after logging in with a code from an authenticator app.",
    )
    suggestions_on = models.BooleanField(
        default=True,
        help_text="When on, coders may show code suggestions learned from this project's own coding, on this server.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Given in the Django admin to the people who may start projects when the site's
        # setting says that only those marked may (SiteSettings.project_creation).
        permissions = [("start_project", "Can start a project from the web")]

    def __str__(self) -> str:
        return self.name


class SiteSettings(models.Model):
    """The site's own choices, one row, edited by the administrator in the Django admin."""

    class ProjectCreation(models.TextChoices):
        EVERYONE = "everyone", "Every user may start a project"
        MARKED = "marked", "Only users the administrator marks as able to start projects"

    project_creation = models.CharField(
        max_length=10,
        choices=ProjectCreation.choices,
        default=ProjectCreation.MARKED,
        help_text='Who sees "New project". Mark a user by giving them the permission '
        '"Can start a project from the web" on their page (or through a group).',
    )

    class Meta:
        verbose_name = "site settings"
        verbose_name_plural = "site settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="site_settings_single_row"),
            models.CheckConstraint(
                condition=models.Q(project_creation__in=["everyone", "marked"]), name="site_settings_creation_valid"
            ),
        ]

    def __str__(self) -> str:
        return "Site settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "SiteSettings":
        """The one row; its defaults when the administrator has not saved any."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def may_start_projects(self, user) -> bool:
        if not user.is_authenticated or not user.is_active:
            return False
        if self.project_creation == self.ProjectCreation.EVERYONE:
            return True
        return user.has_perm("transcripts.start_project")


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        CODER = "coder", "Coder"
        READER = "reader", "Reader"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CODER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
            models.CheckConstraint(condition=models.Q(role__in=["lead", "coder", "reader"]), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.project}"

    def is_lead(self) -> bool:
        return self.role == self.Role.LEAD

    def can_code(self) -> bool:
        return self.role in (self.Role.LEAD, self.Role.CODER)

    def can_edit_codebook(self) -> bool:
        return self.role in (self.Role.LEAD, self.Role.CODER)

    def can_create_codes(self) -> bool:
        if self.role == self.Role.LEAD:
            return True
        return self.role == self.Role.CODER and not self.project.only_leads_create_codes

    def can_change_excerpt(self, excerpt) -> bool:
        """Coders change their own coding; leads may change anyone's."""
        return self.role == self.Role.LEAD or (self.role == self.Role.CODER and excerpt.coder_id == self.user_id)

    def can_import(self) -> bool:
        return self.role == self.Role.LEAD

    def can_manage(self) -> bool:
        return self.role == self.Role.LEAD

    def can_view_agreement(self) -> bool:
        """Leads always; coders once a lead has opened comparison; readers never."""
        return self.role == self.Role.LEAD or (self.role == self.Role.CODER and self.project.comparison_open)


class Participant(models.Model):
    """A pseudonymous interviewee, known only by a label such as P07."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="participants")
    label = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(Lower("label"), "project", name="participant_unique_label"),
            models.CheckConstraint(condition=~models.Q(label=""), name="participant_label_not_empty"),
        ]

    def __str__(self) -> str:
        return self.label


class Attribute(models.Model):
    """A typed participant variable: role, years as a peer, organization type..."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="attributes")
    # The key: a sheet's column header, kept for exports, commands and sheets imported again.
    name = models.CharField(max_length=100)
    # What people read on the pages; from the key by default ("years_as_peer": "Years as peer").
    label = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values of a choice attribute.")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "project", name="attribute_unique_name"),
            models.CheckConstraint(condition=models.Q(kind__in=["text", "number", "date", "choice"]), name="attribute_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.label or self.name

    def save(self, *args, **kwargs) -> None:
        if not self.label:
            self.label = self.label_for(self.name)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "label"}
        super().save(*args, **kwargs)

    @staticmethod
    def label_for(key: str) -> str:
        """The label a key reads as: "years_as_peer" -> "Years as peer"; a header already written
        for people ("Years as a peer", "ID") keeps its own capitals."""
        words = " ".join(key.replace("_", " ").split())
        return words[:1].upper() + words[1:]

    def parse(self, raw: str) -> tuple[str, Decimal | None, datetime.date | None]:
        """Validate a value as written; return (canonical text, number, date).

        Raises ValidationError with a message a researcher understands.
        """
        raw = (raw or "").strip()
        if raw == "":
            return "", None, None
        if self.kind == self.Kind.NUMBER:
            try:
                number = Decimal(raw.replace(",", ""))
            except InvalidOperation:
                raise ValidationError(f"{self.name}: {raw!r} is not a number.") from None
            if not number.is_finite():
                raise ValidationError(f"{self.name}: {raw!r} is not a number.")
            # AttributeValue.number holds 20 digits, 6 after the point: PostgreSQL refuses more before it.
            if abs(number) >= 10**14:
                raise ValidationError(f"{self.name}: {raw!r} is too large; numbers up to 14 digits are kept.")
            text = format(number.normalize(), "f")
            return text, number, None
        if self.kind == self.Kind.DATE:
            try:
                day = datetime.date.fromisoformat(raw)
            except ValueError:
                raise ValidationError(f"{self.name}: {raw!r} is not a date written as YYYY-MM-DD.") from None
            return day.isoformat(), None, day
        if self.kind == self.Kind.CHOICE and self.choices and raw not in self.choices:
            raise ValidationError(f"{self.name}: {raw!r} is not one of {', '.join(self.choices)}.")
        return raw, None, None


class AttributeValue(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="values")
    attribute = models.ForeignKey(Attribute, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=500, blank=True)
    number = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "attribute"], name="attribute_value_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.value}"

    def clean(self) -> None:
        if self.participant.project_id != self.attribute.project_id:
            raise ValidationError("The attribute belongs to another project.")
        self.value, self.number, self.date = self.attribute.parse(self.value)


class Pseudonym(models.Model):
    """A real name, place or organization and the replacement used when de-identifying.

    Sensitive: only leads see the list, and it is never exported.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pseudonyms")
    original = models.CharField(max_length=200)
    replacement = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["original"]
        constraints = [
            models.UniqueConstraint(Lower("original"), "project", name="pseudonym_unique_original"),
            models.CheckConstraint(condition=~models.Q(original=""), name="pseudonym_original_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.original} → {self.replacement}"
