from __future__ import annotations

import unicodedata

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from . import spans
from .access import parse_id
from .models import Attribute, Participant, Pseudonym, SpeakerTurn
from .models import Membership


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


class AttributeLabelForm(forms.Form):
    label = forms.CharField(
        max_length=100, required=False, help_text="What people read; left empty, it is made from the key again."
    )


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
                    label=attribute.label, required=False, choices=[("", "—"), *[(c, c) for c in attribute.choices]]
                )
            elif attribute.kind == Attribute.Kind.DATE:
                self.fields[name] = forms.DateField(
                    label=attribute.label, required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            elif attribute.kind == Attribute.Kind.NUMBER:
                self.fields[name] = forms.DecimalField(label=attribute.label, required=False)
            else:
                self.fields[name] = forms.CharField(label=attribute.label, required=False, max_length=500)

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
        original = _one_line(self.cleaned_data["original"])
        if not original:
            raise ValidationError("Write the name to replace.")
        if Pseudonym.objects.filter(project=self.project, original__iexact=original).exists():
            raise ValidationError("This name is already on the list.")
        return original

    def clean_replacement(self) -> str:
        return _one_line(self.cleaned_data["replacement"])


def _one_line(value: str) -> str:
    """A name as transcripts store text (spans.normalize_text: NFC, no control characters);
    refused when it holds a line break or starts with a combining mark, which would change the
    text around it once it replaces a name."""
    text = spans.normalize_text(value).strip()
    if "\n" in text:
        raise ValidationError("Write it on one line.")
    if text and unicodedata.combining(text[0]):
        raise ValidationError("It cannot start with an accent or other combining mark.")
    return text


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
        fields = ["name", "description", "only_leads_create_codes", "leads_need_two_factor", "suggestions_on"]
        labels = {
            "only_leads_create_codes": "Only leads may add new codes",
            "leads_need_two_factor": "Leads must log in with a second factor",
            "suggestions_on": "Coders may show code suggestions learned from this project's coding",
        }

    def __init__(self, *args, lead_verified: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lead_verified = lead_verified

    def clean_leads_need_two_factor(self) -> bool:
        value = self.cleaned_data["leads_need_two_factor"]
        if value and not self.initial.get("leads_need_two_factor") and not self.lead_verified:
            # Otherwise the lead who turns it on is locked out of the project the moment it is saved.
            raise ValidationError(
                "Set up an authenticator app for your own account and log in with it first "
                "(Second factor, at the top of the page); then turn this on."
            )
        return value


# Teamwork -------------------------------------------------------------------------------------


class MemberAddForm(forms.Form):
    username = forms.CharField(label="User name", max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_username(self):  # noqa: ANN201
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise ValidationError("There is no account with that user name; create one below.")
        if self.project.memberships.filter(user=user).exists():
            raise ValidationError(f"{user.get_username()} is already a member; change their role in the list.")
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class AccountForm(forms.Form):
    username = forms.RegexField(
        label="User name", max_length=150, regex=r"^[\w.@+-]+$",
        error_messages={"invalid": "Use letters, digits and @ . + - _ only."},
    )
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Several rows of the queryset, chosen by id; an id no id column can hold is refused like an unknown one.

    Django passes the ids to an `__in` lookup as they come, and SQLite raises OverflowError on
    one beyond 64 bits (a server error), where PostgreSQL would only find nothing."""

    def _check_values(self, value):  # noqa: ANN001, ANN202
        for pk in value:
            if parse_id(str(pk)) is None:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


class AssignForm(forms.Form):
    transcripts = IdMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple)
    coders = IdMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple)
    overlap = forms.IntegerField(
        label="Double-code (%)", min_value=0, max_value=100, initial=30,
        help_text="This share of the transcripts, drawn at random, goes to a second coder too.",
    )
    seed = forms.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1,
        help_text="Leave empty for a new random draw; the seed used is kept in the audit trail.",
    )

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["transcripts"].queryset = project.transcripts.defer("text").order_by("title", "pk")
        self.fields["coders"].queryset = (
            get_user_model()
            .objects.filter(memberships__project=project, memberships__role__in=["lead", "coder"])
            .order_by("username")
        )
        self.fields["coders"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def clean(self):  # noqa: ANN201
        data = super().clean()
        if data.get("overlap") and len(data.get("coders") or []) < 2:
            raise ValidationError("Double-coding needs at least two coders.")
        return data


class ConsensusForm(forms.Form):
    """One disagreement settled: which excerpts it was about, what the consensus is, and why."""

    excerpts = forms.CharField(widget=forms.HiddenInput)
    choice = forms.CharField(max_length=30)
    start = forms.IntegerField(required=False, min_value=0)
    end = forms.IntegerField(required=False, min_value=1)
    codes = IdMultipleChoiceField(queryset=None, required=False)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)

    def __init__(self, *args, transcript, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.transcript = transcript
        self.fields["codes"].queryset = transcript.project.codes.all()

    def clean_excerpts(self):  # noqa: ANN201
        ids = [pk for part in self.cleaned_data["excerpts"].split(",") if (pk := parse_id(part)) is not None]
        originals = list(self.transcript.excerpts.filter(pk__in=ids, is_consensus=False).prefetch_related("codes"))
        if not originals or len(originals) != len(set(ids)):
            raise ValidationError("Those excerpts changed meanwhile; reload the page.")
        return originals

    def clean_choice(self):  # noqa: ANN201
        choice = self.cleaned_data["choice"]
        if choice in ("merge", "new") or (choice.startswith("accept:") and parse_id(choice[7:]) is not None):
            return choice
        raise ValidationError("Choose how to settle it.")

    def versions(self) -> list[tuple[int, int, list]]:
        """The (start, end, codes) the chosen way of settling writes into the consensus."""
        originals, choice = self.cleaned_data["excerpts"], self.cleaned_data["choice"]
        if choice.startswith("accept:"):
            coder_id = int(choice[7:])
            chosen = [e for e in originals if e.coder_id == coder_id]
            if not chosen:
                raise ValidationError("That coder has no excerpt here; choose another version.")
            return [(e.start, e.end, list(e.codes.all())) for e in sorted(chosen, key=lambda e: (e.start, e.pk))]
        if choice == "merge":
            codes = {code.pk: code for e in originals for code in e.codes.all()}
            return [(min(e.start for e in originals), max(e.end for e in originals), list(codes.values()))]
        start, end, codes = self.cleaned_data.get("start"), self.cleaned_data.get("end"), self.cleaned_data.get("codes")
        if start is None or end is None or not codes:
            raise ValidationError("For a new version, give its start, end and at least one code.")
        return [(start, end, list(codes))]


# Second factor ----------------------------------------------------------------------------------


class OneTimeCodeForm(forms.Form):
    code = forms.CharField(label="Code from your authenticator app", max_length=12)

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise ValidationError("Enter the 6 digits your app shows.")
        return code
