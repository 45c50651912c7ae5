"""Control characters XML 1.0 cannot hold (Word's U+000B line break, U+0001, ...) are cleaned where
a code's name and texts are typed, so no codebook or project export can carry them."""

from __future__ import annotations

from django.urls import reverse
from lxml import etree

from tests.base import BaseTestCase
from transcripts import actions
from transcripts.codebook_forms import CodeFieldsForm
from transcripts.interop.codebook import Theme
from transcripts.spans import without_control_characters
from transcripts.models import Code

FIELDS = {"color": "#123456", "inclusion": "", "exclusion": "", "typical_example": "", "atypical_example": ""}


def test_word_breaks_become_line_feeds_and_other_controls_go():
    assert without_control_characters("one\x0btwo\x0cthree") == "one\ntwo\nthree"
    assert without_control_characters("a\x01b\x1fc\x7fd\x85e\x9f") == "abcde"
    assert without_control_characters("tab\tand\nline\r\nend") == "tab\tand\nline\r\nend"
    assert without_control_characters("Año ☕ 🎉") == "Año ☕ 🎉"


def test_the_code_form_cleans_names_and_texts():
    form = CodeFieldsForm({**FIELDS, "name": "Peer\x0bsupport\x01", "definition": "Help\x0bgiven\x01.", "exclusion": "\x02Staff"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "Peer support"
    assert form.cleaned_data["definition"] == "Help\ngiven."
    assert form.cleaned_data["exclusion"] == "Staff"


def test_a_name_of_control_characters_only_is_refused():
    form = CodeFieldsForm({**FIELDS, "name": "\x01\x02\x0b"})
    assert not form.is_valid()
    assert "name" in form.errors


class ControlCharacterTests(BaseTestCase):
    def test_codes_created_and_changed_on_the_page_are_stored_clean_and_export_as_xml(self):
        self.client.force_login(self.alice)
        self.client.post(
            reverse("code_create", args=[self.project.slug]),
            {**FIELDS, "name": "Bell\x07 code", "definition": "First\x0bsecond\x01"},
        )
        code = Code.objects.get(name="Bell code")
        self.assertEqual(code.definition, "First\nsecond")
        self.client.post(reverse("code_update", args=[code.pk]), {**FIELDS, "name": "Bell code", "definition": "x\x01y\x0bz"})
        code.refresh_from_db()
        self.assertEqual(code.definition, "xy\nz")
        response = self.client.post(reverse("codebook_export", args=[self.project.slug]), {"format": "qdc"})
        etree.fromstring(response.content)  # parses

    def test_an_imported_codebook_is_stored_clean_and_exports_as_xml(self):
        themes = [
            Theme(name="Word\x0bbreak\x01", definition="One\x0btwo\x02", children=[Theme(name="\x03Child", exclusion="\x1fStaff")]),
            Theme(name="\x01\x02"),
        ]
        actions.apply_import(self.project, themes, by=self.alice, source="codebook.docx")
        parent = Code.objects.get(project=self.project, name="Word break")
        self.assertEqual(parent.definition, "One\ntwo")
        child = Code.objects.get(parent=parent)
        self.assertEqual((child.name, child.exclusion), ("Child", "Staff"))
        self.assertTrue(Code.objects.filter(project=self.project, name="Unnamed code").exists())
        self.client.force_login(self.alice)
        response = self.client.post(reverse("codebook_export", args=[self.project.slug]), {"format": "qdc"})
        etree.fromstring(response.content)  # parses
