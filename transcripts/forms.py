from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .models import Attribute, Participant, Pseudonym, SpeakerTurn


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):  # noqa: ANN001, ANN201
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class TranscriptUploadForm(forms.Form):
    files = MultipleFileField(
        label="Transcript files",
        help_text="Word (.docx), plain text (.txt), or captions (.vtt, .srt). Several at once is fine.",
    )


class SheetUploadForm(forms.Form):
    sheet = forms.FileField(label="Participant sheet", help_text="A .csv or .xlsx file: one row a participant.")


class ParticipantForm(forms.Form):
    label = forms.CharField(max_length=50, help_text="A pseudonymous label such as P07; never a real name.")

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.attributes = list(project.attributes.all())
        for attribute in self.attributes:
            name = f"attr_{attribute.pk}"
            if attribute.kind == Attribute.Kind.CHOICE and attribute.choices:
                self.fields[name] = forms.ChoiceField(
                    label=attribute.name, required=False, choices=[("", "—"), *[(c, c) for c in attribute.choices]]
                )
            elif attribute.kind == Attribute.Kind.DATE:
                self.fields[name] = forms.DateField(
                    label=attribute.name, required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            elif attribute.kind == Attribute.Kind.NUMBER:
                self.fields[name] = forms.DecimalField(label=attribute.name, required=False)
            else:
                self.fields[name] = forms.CharField(label=attribute.name, required=False, max_length=500)

    def clean_label(self) -> str:
        label = self.cleaned_data["label"].strip()
        if not label:
            raise ValidationError("Give the participant a label.")
        if Participant.objects.filter(project=self.project, label__iexact=label).exists():
            raise ValidationError(f"There is already a participant labelled {label}.")
        return label

    def attribute_values(self) -> dict[Attribute, str]:
        values = {}
        for attribute in self.attributes:
            value = self.cleaned_data.get(f"attr_{attribute.pk}")
            if value not in (None, ""):
                values[attribute] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return values


class PseudonymForm(forms.ModelForm):
    class Meta:
        model = Pseudonym
        fields = ["original", "replacement"]
        labels = {"original": "Real name, place or organization", "replacement": "Replace with"}

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_original(self) -> str:
        original = self.cleaned_data["original"].strip()
        if not original:
            raise ValidationError("Write the name to replace.")
        if Pseudonym.objects.filter(project=self.project, original__iexact=original).exists():
            raise ValidationError("This name is already on the list.")
        return original


class SpeakerRolesForm(forms.Form):
    def __init__(self, *args, labels: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.labels = [label for label, _ in labels]
        for index, (label, role) in enumerate(labels):
            self.fields[f"role_{index}"] = forms.ChoiceField(label=label, choices=SpeakerTurn.Role.choices, initial=role)

    def roles(self) -> dict[str, str]:
        return {label: self.cleaned_data[f"role_{index}"] for index, label in enumerate(self.labels)}


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        from .models import Project

        model = Project
        fields = ["name", "description", "only_leads_create_codes"]
        labels = {"only_leads_create_codes": "Only leads may add new codes"}
