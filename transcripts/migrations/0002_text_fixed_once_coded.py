"""Kept for the migration history: the trigger that fixes a coded transcript's text.

The trigger is now installed after every `migrate` by transcripts.db_triggers (post_migrate)
and dropped before it (pre_migrate), because SQLite's table rebuilds in later migrations would
otherwise drop it or fail on it. Databases that ran the earlier version of this migration had
the trigger created here; the signal handlers take it over from there.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0001_initial")]

    operations = []
