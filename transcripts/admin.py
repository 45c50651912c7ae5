from django.contrib import admin

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


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
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
class TranscriptAdmin(admin.ModelAdmin):
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
class CodeAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "project", "order", "archived"]
    list_filter = ["project", "archived"]
    search_fields = ["name"]


class CodeApplicationInline(admin.TabularInline):
    model = CodeApplication
    extra = 0


@admin.register(Excerpt)
class ExcerptAdmin(admin.ModelAdmin):
    list_display = ["transcript", "start", "end", "coder", "created_at"]
    readonly_fields = ["quote"]
    inlines = [CodeApplicationInline]


@admin.register(CodeApplication)
class CodeApplicationAdmin(admin.ModelAdmin):
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
