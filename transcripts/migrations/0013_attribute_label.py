from django.db import migrations, models


def label_for(key: str) -> str:
    """Attribute.label_for as it was when this migration was written."""
    words = " ".join(key.replace("_", " ").split())
    return words[:1].upper() + words[1:]


def fill_labels(apps, schema_editor):
    Attribute = apps.get_model("transcripts", "Attribute")
    for attribute in Attribute.objects.filter(label="").only("pk", "name"):
        attribute.label = label_for(attribute.name)
        attribute.save(update_fields=["label"])


class Migration(migrations.Migration):
    dependencies = [
        ("transcripts", "0012_code_guid_per_project"),
    ]

    operations = [
        migrations.AddField(
            model_name="attribute",
            name="label",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(fill_labels, migrations.RunPython.noop),
    ]
