"""Store where each transcript's newlines are, so the review pages cite "P07, line 112" without
reading the text; existing transcripts are filled here, new ones by Transcript.save().

Only the new column is written: the trigger that fixes a coded transcript's text watches `text`.
"""

from django.db import migrations, models


def newline_offsets(text: str) -> list[int]:
    # A copy of transcripts.spans.newline_offsets, frozen with this migration.
    found, at = [], text.find("\n")
    while at != -1:
        found.append(at)
        at = text.find("\n", at + 1)
    return found


def fill_line_breaks(apps, schema_editor) -> None:
    Transcript = apps.get_model("transcripts", "Transcript")
    batch = []
    for transcript in Transcript.objects.only("pk", "text").order_by("pk").iterator(chunk_size=100):
        transcript.line_breaks = newline_offsets(transcript.text)
        batch.append(transcript)
        if len(batch) >= 100:
            Transcript.objects.bulk_update(batch, ["line_breaks"])
            batch = []
    if batch:
        Transcript.objects.bulk_update(batch, ["line_breaks"])


class Migration(migrations.Migration):

    dependencies = [
        ('transcripts', '0007_project_leads_need_two_factor'),
    ]

    operations = [
        migrations.AddField(
            model_name='transcript',
            name='line_breaks',
            field=models.JSONField(default=list, editable=False, help_text='Where each newline of text is, so a line number needs no text.'),
        ),
        migrations.RunPython(fill_line_breaks, migrations.RunPython.noop, elidable=True),
    ]
