"""Forms of the codebook pages. Choices are scoped to the project, so ids from elsewhere fail."""

from __future__ import annotations

import datetime

from django import forms

from .interop.codebook import TEXT_FIELDS
from .models import Code
from .models.coding import colour_validator
from .spans import without_control_characters

class CodeFieldsForm(forms.Form):
    name = forms.CharField(max_length=120)
    color = forms.CharField(
        label="Colour", max_length=7, initial="#f4c542", validators=[colour_validator], widget=forms.TextInput(attrs={"type": "color"})
    )
    definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    inclusion = forms.CharField(label="Inclusion criteria", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    exclusion = forms.CharField(label="Exclusion criteria", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    typical_example = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    atypical_example = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_name(self) -> str:
        name = " ".join(without_control_characters(self.cleaned_data["name"]).split())
        if not name:
            raise forms.ValidationError("Give the code a name.")
        return name

    def clean_color(self) -> str:
        return self.cleaned_data["color"].lower()

    def clean(self) -> dict:
        data = super().clean()
        for name in TEXT_FIELDS:
            if data.get(name):
                data[name] = without_control_characters(data[name])
        return data


class NewCodeForm(CodeFieldsForm):
    parent = forms.ModelChoiceField(queryset=Code.objects.none(), required=False, empty_label="(top level)", label="Under")

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = project.codes.all()


class MoveForm(forms.Form):
    code = forms.ModelChoiceField(queryset=Code.objects.none(), label="Move")
    parent = forms.ModelChoiceField(queryset=Code.objects.none(), required=False, empty_label="(top level)", label="under")

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].queryset = project.codes.all()
        self.fields["parent"].queryset = project.codes.all()


class MergeForm(forms.Form):
    source = forms.ModelChoiceField(queryset=Code.objects.none(), label="Merge")
    target = forms.ModelChoiceField(queryset=Code.objects.none(), label="into")

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = project.codes.all()
        self.fields["target"].queryset = project.codes.all()

    def clean(self) -> dict:
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            raise forms.ValidationError("Choose two different codes.")
        return data


class CodebookUploadForm(forms.Form):
    file = forms.FileField(
        label="Codebook file",
        help_text="A REFI-QDA codebook (.qdc) or project (.qdpx, .qde), or a sheet (.csv, .xlsx) with columns "
        "path, definition, inclusion, exclusion (and optionally color, typical_example, atypical_example).",
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("docx", "Word (.docx)"), ("qdc", "REFI-QDA codebook (.qdc)")], initial="docx")
    quotes = forms.BooleanField(required=False, initial=True, label="with exemplar quotes")
    counts = forms.BooleanField(required=False, initial=True, label="with counts")
    as_of = forms.DateField(
        required=False, label="as it stood on", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for today's codebook.",
    )

    def clean_as_of(self) -> datetime.date | None:
        day = self.cleaned_data.get("as_of")
        if day and day > datetime.date.today() + datetime.timedelta(days=1):
            raise forms.ValidationError("Choose a date that has passed.")
        return day
