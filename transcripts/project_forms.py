"""The form that starts a project from the web."""

from __future__ import annotations

import re

from django import forms
from django.utils.text import slugify

from .models import Project

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Path segments that a project's short name would shadow: /projects/new/ is the form itself.
RESERVED_SLUGS = {"new"}
SLUG_MAX = Project._meta.get_field("slug").max_length


class ProjectCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="As the team calls the study, e.g. Peer workers study 2026.")
    slug = forms.CharField(
        label="Short name for URLs",
        max_length=SLUG_MAX,
        required=False,
        help_text="Lower-case letters, digits and hyphens, e.g. peer-workers. Left empty, it is made from the name. "
        "It cannot be changed later.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        if slug and not SLUG_RE.match(slug):
            raise forms.ValidationError(
                "Use only lower-case letters, digits and single hyphens between them (e.g. peer-workers)."
            )
        return slug

    def clean(self) -> dict:
        cleaned = super().clean()
        if "slug" not in cleaned or "name" not in cleaned:
            return cleaned
        slug = cleaned["slug"]
        if not slug:
            slug = slugify(cleaned["name"])[:SLUG_MAX].strip("-")
            if not slug:
                self.add_error("slug", "The name has no letters or digits to make a short name from; write one here.")
                return cleaned
            cleaned["slug"] = slug
        if slug in RESERVED_SLUGS:
            self.add_error("slug", f"“{slug}” is reserved by the site; choose another short name.")
        elif Project.objects.filter(slug=slug).exists():
            self.add_error("slug", slug_taken_message(slug))
        return cleaned


def slug_taken_message(slug: str) -> str:
    return f"Another project already uses the short name “{slug}”; choose another."
