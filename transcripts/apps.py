from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate


class TranscriptsConfig(AppConfig):
    name = "transcripts"
    verbose_name = "Transcripts and coding"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: this module is imported while the app registry fills, before the
        # models that the middleware (through access.py) imports can load.
        from . import db_triggers, planner
        from .actions.counts import recount_uncounted
        from .middleware import remember_login_time, remember_second_factor

        user_logged_in.connect(remember_login_time, dispatch_uid="transcripts-login-time")
        user_logged_in.connect(remember_second_factor, dispatch_uid="transcripts-second-factor")

        pre_migrate.connect(db_triggers.drop_before_migrate, sender=self, dispatch_uid="transcripts-drop-trigger")
        post_migrate.connect(db_triggers.create_after_migrate, sender=self, dispatch_uid="transcripts-create-trigger")
        post_migrate.connect(recount_uncounted, sender=self, dispatch_uid="transcripts-recount-review-counts")
        connection_created.connect(planner.on_connection, dispatch_uid="transcripts-planner-statistics")
