from django.contrib import admin

from . import actions
from .models import (
    Attribute,
    AttributeValue,
    AuditEvent,
    Code,
    CodeApplication,
    Excerpt,
    Membership,
    Memo,
    Participant,
    Project,
    SpeakerTurn,
    Transcript,
)
from .models.projects import SiteSettings


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """One row: who may start projects from the web. Users are marked on their own admin page
    with the permission "Can start a project from the web"."""

    list_display = ["__str__", "project_creation"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SiteSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["role", "project"]


class AttributeValueInline(admin.TabularInline):
    model = AttributeValue
    extra = 0


class PastTheCounts(admin.ModelAdmin):
    """Edits here go past transcripts/actions/, so the review counts they may change are no longer
    read for the project until `manage.py recount_review_counts` (the pages count from the coding)."""

    project_path = "project_id"

    def projects_of(self, objects) -> set[int]:
        ids = set()
        for obj in objects:
            for name in self.project_path.split("."):
                obj = getattr(obj, name)
            ids.add(obj)
        return ids

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        actions.forget_review_counts(self.projects_of([obj]))

    def delete_model(self, request, obj) -> None:
        projects = self.projects_of([obj])
        super().delete_model(request, obj)
        actions.forget_review_counts(projects)

    def delete_queryset(self, request, queryset) -> None:
        projects = self.projects_of(queryset)
        super().delete_queryset(request, queryset)
        actions.forget_review_counts(projects)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        actions.forget_review_counts(self.projects_of([form.instance]))


@admin.register(Participant)
class ParticipantAdmin(PastTheCounts):
    list_display = ["label", "project"]
    list_filter = ["project"]
    inlines = [AttributeValueInline]


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project"]
    list_filter = ["project"]


@admin.register(AttributeValue)
class AttributeValueAdmin(admin.ModelAdmin):
    list_display = ["participant", "attribute", "value"]


@admin.register(Transcript)
class TranscriptAdmin(PastTheCounts):
    list_display = ["title", "project", "participant", "source_format", "imported_at"]
    list_filter = ["project", "source_format"]
    readonly_fields = ["content_hash", "imported_at"]

    def get_readonly_fields(self, request, obj=None):
        # The text is fixed once coded; the model refuses the change in any case.
        if obj is not None and obj.is_locked():
            return [*self.readonly_fields, "text"]
        return self.readonly_fields


@admin.register(SpeakerTurn)
class SpeakerTurnAdmin(admin.ModelAdmin):
    list_display = ["transcript", "speaker", "role", "start", "end"]
    list_filter = ["role"]


@admin.register(Code)
class CodeAdmin(PastTheCounts):
    list_display = ["name", "parent", "project", "order", "archived"]
    list_filter = ["project", "archived"]
    search_fields = ["name"]


class CodeApplicationInline(admin.TabularInline):
    model = CodeApplication
    extra = 0


@admin.register(Excerpt)
class ExcerptAdmin(PastTheCounts):
    project_path = "transcript.project_id"
    list_display = ["transcript", "start", "end", "coder", "created_at"]
    readonly_fields = ["quote"]
    inlines = [CodeApplicationInline]


@admin.register(CodeApplication)
class CodeApplicationAdmin(PastTheCounts):
    project_path = "code.project_id"
    list_display = ["excerpt", "code", "applied_by", "applied_at", "is_exemplar"]


@admin.register(Memo)
class MemoAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "author", "created_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ["created_at", "actor_name", "verb", "object_type", "object_repr", "project"]
    list_filter = ["verb"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
