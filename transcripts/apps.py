from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "transcripts"
    verbose_name = "Transcripts and coding"
    default_auto_field = "django.db.models.BigAutoField"
