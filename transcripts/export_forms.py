"""The form of the whole-project export. Transcripts are scoped to the project, so ids from elsewhere fail."""

from __future__ import annotations

from django import forms

from .forms import IdMultipleChoiceField
from .models import Project, Transcript
from .project_export import ExportOptions


class ProjectExportForm(forms.Form):
    coding = forms.ChoiceField(
        choices=[("all", "Every coder's coding and the consensus"), ("consensus", "The consensus only")],
        initial="all",
        required=False,
        widget=forms.RadioSelect,
    )
    transcripts = IdMultipleChoiceField(
        queryset=Transcript.objects.none(), required=False, help_text="Every transcript when none is chosen."
    )

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["transcripts"].queryset = project.transcripts.defer("text")

    def options(self) -> ExportOptions:
        """What to export, from a valid form."""
        chosen = self.cleaned_data["transcripts"]
        return ExportOptions(
            consensus_only=self.cleaned_data["coding"] == "consensus",
            transcript_ids=tuple(sorted(transcript.pk for transcript in chosen)),
        )
