"""Attributes read as names people use ("Years as peer"), while their keys stay for machines."""

from __future__ import annotations

import csv
import importlib
import io
from pathlib import Path

from django.apps import apps
from django.urls import reverse

from tests.base import BaseTestCase, download_through_a_job, make_code, make_excerpt
from transcripts import actions, review
from transcripts.models import Attribute, AuditEvent

SHEET = "label,years_as_peer,organization_type,in_recovery,Years as a peer\nP07,7,Harm reduction,yes,8\nP08,3,Hospital,no,4\n"


def import_sheet(project, by) -> None:
    sheet = actions.read_participant_sheet("people.csv", SHEET.encode())
    actions.import_participant_sheet(project, sheet, by=by)


class LabelDerivationTests(BaseTestCase):
    def test_a_snake_case_key_reads_as_words(self):
        for key, label in [
            ("years_as_peer", "Years as peer"),
            ("organization_type", "Organization type"),
            ("in_recovery", "In recovery"),
            ("age", "Age"),
            ("  role__held_ ", "Role held"),
            ("Years as a peer", "Years as a peer"),
            ("ID", "ID"),
            ("NGO_name", "NGO name"),
            ("", ""),
        ]:
            with self.subTest(key=key):
                self.assertEqual(Attribute.label_for(key), label)

    def test_a_sheet_import_derives_labels_and_keeps_the_keys(self):
        import_sheet(self.project, self.alice)
        names = dict(self.project.attributes.values_list("name", "label"))
        self.assertEqual(
            names,
            {
                "years_as_peer": "Years as peer",
                "organization_type": "Organization type",
                "in_recovery": "In recovery",
                "Years as a peer": "Years as a peer",
            },
        )

    def test_an_attribute_made_without_a_label_gets_one(self):
        self.assertEqual(Attribute.objects.create(project=self.project, name="peer_role").label, "Peer role")

    def test_the_migration_fills_the_labels_of_existing_attributes(self):
        Attribute.objects.create(project=self.project, name="years_as_peer")
        Attribute.objects.create(project=self.project, name="role", label="Job title")
        Attribute.objects.filter(name="years_as_peer").update(label="")  # as the rows were before the migration
        [path] = Path(__file__).resolve().parent.parent.glob("transcripts/migrations/*_attribute_label.py")
        migration = importlib.import_module(f"transcripts.migrations.{path.stem}")
        migration.fill_labels(apps, None)
        self.assertEqual(dict(self.project.attributes.values_list("name", "label")), {"years_as_peer": "Years as peer", "role": "Job title"})


class LabelEditTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        import_sheet(cls.project, cls.alice)
        cls.years = cls.project.attributes.get(name="years_as_peer")
        cls.url = reverse("attribute_label", args=[cls.project.slug, cls.years.pk])

    def test_only_a_lead_renames_and_outsiders_learn_nothing(self):
        for user, status in [(self.oscar, 404), (self.rita, 403), (self.bob, 403)]:
            self.client.force_login(user)
            self.assertEqual(self.client.post(self.url, {"label": "Years of peer work"}).status_code, status)
        self.years.refresh_from_db()
        self.assertEqual(self.years.label, "Years as peer")
        self.client.force_login(self.alice)
        other = Attribute.objects.create(project=self.other_project, name="years_as_peer")
        response = self.client.post(reverse("attribute_label", args=[self.project.slug, other.pk]), {"label": "X"})
        self.assertEqual(response.status_code, 404)

    def test_a_lead_renames_it_and_the_change_is_audited(self):
        self.client.force_login(self.alice)
        response = self.client.post(self.url, {"label": "  Years of peer work "})
        self.assertRedirects(response, reverse("participant_list", args=[self.project.slug]) + "#attribute-labels")
        self.years.refresh_from_db()
        self.assertEqual((self.years.name, self.years.label), ("years_as_peer", "Years of peer work"))
        event = AuditEvent.objects.get(verb="attribute.relabelled")
        self.assertEqual(event.before, {"name": "years_as_peer", "label": "Years as peer"})
        self.assertEqual(event.after, {"name": "years_as_peer", "label": "Years of peer work"})
        self.assertEqual((event.actor, event.project_id), (self.alice, self.project.pk))
        # Emptied, it reads as the key again.
        self.client.post(self.url, {"label": ""})
        self.years.refresh_from_db()
        self.assertEqual(self.years.label, "Years as peer")

    def test_a_label_too_long_is_refused_with_a_message(self):
        self.client.force_login(self.alice)
        response = self.client.post(self.url, {"label": "x" * 101}, follow=True)
        self.assertContains(response, "at most 100 characters")
        self.years.refresh_from_db()
        self.assertEqual(self.years.label, "Years as peer")
        self.assertFalse(AuditEvent.objects.filter(verb="attribute.relabelled").exists())


class LabelsOnPagesTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        import_sheet(cls.project, cls.alice)
        cls.years = cls.project.attributes.get(name="years_as_peer")
        cls.organization = cls.project.attributes.get(name="organization_type")
        cls.transcript.participant = cls.project.participants.get(label="P07")
        cls.transcript.save(update_fields=["participant"])
        make_excerpt(cls.transcript, [make_code(cls.project, name="Boundaries")], by=cls.bob)

    def test_the_participant_list_shows_labels_and_leads_see_the_keys_to_rename(self):
        self.client.force_login(self.rita)
        response = self.client.get(reverse("participant_list", args=[self.project.slug]))
        self.assertContains(response, '<th scope="col">Years as peer <span class="muted">(number)</span></th>', html=True)
        self.assertNotContains(response, "years_as_peer")
        self.assertNotContains(response, 'id="attribute-labels"')
        self.client.force_login(self.alice)
        response = self.client.get(reverse("participant_list", args=[self.project.slug]))
        self.assertContains(response, "<code>years_as_peer</code>", html=True)
        self.assertContains(response, f'action="{reverse("attribute_label", args=[self.project.slug, self.years.pk])}"')
        self.assertContains(response, '<label for="id_attr_%d">Years as peer</label>' % self.years.pk, html=True)

    def test_the_review_filters_and_matrices_show_labels(self):
        self.client.force_login(self.rita)
        actions.change_attribute_label(self.organization, "Kind of organisation", by=self.alice)
        summary = self.client.get(reverse("review_summary", args=[self.project.slug]))
        self.assertContains(summary, "Years as peer")
        self.assertContains(summary, "Kind of organisation")
        self.assertNotContains(summary, "organization_type")
        self.assertNotContains(summary, "years_as_peer")
        matrix = self.client.get(reverse("review_matrix", args=[self.project.slug]), {"attribute": self.organization.pk})
        self.assertContains(matrix, "<h1>Codes × Kind of organisation</h1>", html=True)
        self.assertContains(matrix, ">In recovery</a>")
        self.assertNotContains(matrix, "organization_type")

    def test_reports_name_filters_by_label_and_the_csv_keeps_the_keys(self):
        options = review.FilterOptions.load(self.project)
        filters = review.ReviewFilters.from_query({f"a{self.organization.pk}": "Hospital"}, options)
        self.assertEqual(review.reports.describe(filters, options), ["Organization type: Hospital"])
        self.client.force_login(self.rita)
        response = download_through_a_job(self, reverse("review_report", args=[self.project.slug, "csv"]))
        header = next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        self.assertIn("years_as_peer", header)
        self.assertIn("organization_type", header)
