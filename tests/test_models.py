"""Constraints, the immutability rule, deletion safety and the audit trail."""

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError

from tests.base import BaseTestCase, make_code, make_excerpt, make_transcript
from transcripts import actions, audit
from transcripts.models import (
    AuditEvent,
    Code,
    CodeApplication,
    Excerpt,
    Membership,
    Memo,
    Participant,
    SpeakerTurn,
    Transcript,
    TranscriptTextLocked,
)


class ExcerptConstraintTests(BaseTestCase):
    def test_the_database_refuses_empty_or_reversed_spans(self):
        for start, end in [(5, 5), (6, 2)]:
            with self.assertRaises(IntegrityError), transaction.atomic():
                Excerpt.objects.bulk_create(
                    [Excerpt(transcript=self.transcript, start=start, end=end, coder=self.bob, quote="x")]
                )
        self.assertFalse(Excerpt.objects.exists())

    def test_the_model_refuses_spans_past_the_end_of_the_text(self):
        length = len(self.transcript.text)
        with self.assertRaises(ValidationError):
            actions.create_excerpt(self.transcript, start=length - 2, end=length + 1, codes=[self.code], by=self.bob)
        with self.assertRaises(ValidationError):
            actions.create_excerpt(self.transcript, start=-1, end=3, codes=[self.code], by=self.bob)
        self.assertFalse(Excerpt.objects.exists())

    def test_an_excerpt_stores_its_quote_and_who_applied_each_code(self):
        second = make_code(self.project, name="Setting boundaries")
        start = self.transcript.text.index("The group chat")
        excerpt = make_excerpt(self.transcript, [self.code, second], start=start, end=start + 14, by=self.bob)
        self.assertEqual(excerpt.quote, "The group chat")
        applications = CodeApplication.objects.filter(excerpt=excerpt)
        self.assertEqual({a.code for a in applications}, {self.code, second})
        self.assertEqual({a.applied_by for a in applications}, {self.bob})

    def test_excerpts_may_overlap(self):
        make_excerpt(self.transcript, [self.code], start=0, end=20)
        make_excerpt(self.transcript, [self.code], start=10, end=30, by=self.bob)
        self.assertEqual(self.transcript.excerpts.count(), 2)

    def test_a_code_is_applied_once_per_excerpt(self):
        excerpt = make_excerpt(self.transcript, [self.code, self.code])
        self.assertEqual(excerpt.applications.count(), 1)
        with self.assertRaises(IntegrityError), transaction.atomic():
            CodeApplication.objects.create(excerpt=excerpt, code=self.code, applied_by=self.bob)

    def test_codes_of_another_project_are_refused(self):
        foreign = make_code(self.other_project, name="Foreign")
        with self.assertRaises(ValidationError):
            make_excerpt(self.transcript, [foreign])
        self.assertFalse(Excerpt.objects.exists())

    def test_a_repeated_client_token_takes_effect_once(self):
        first = make_excerpt(self.transcript, [self.code], client_token="tok-1", by=self.bob)
        again = make_excerpt(self.transcript, [self.code], client_token="tok-1", by=self.bob)
        self.assertEqual(first.pk, again.pk)
        self.assertEqual(Excerpt.objects.count(), 1)


class TranscriptTextTests(BaseTestCase):
    def test_text_can_change_before_coding(self):
        self.transcript.text = "Interviewer: Changed.\nP07: Fine."
        self.transcript.save()
        self.transcript.refresh_from_db()
        self.assertEqual(self.transcript.text, "Interviewer: Changed.\nP07: Fine.")

    def test_text_is_fixed_once_an_excerpt_exists(self):
        make_excerpt(self.transcript, [self.code])
        original = Transcript.objects.get(pk=self.transcript.pk).text
        self.transcript.text = "Something else entirely."
        with self.assertRaises(TranscriptTextLocked):
            self.transcript.save()
        self.assertEqual(Transcript.objects.get(pk=self.transcript.pk).text, original)

    def test_the_database_refuses_text_changes_that_bypass_the_model(self):
        make_excerpt(self.transcript, [self.code])
        with self.assertRaises(DatabaseError), transaction.atomic():
            Transcript.objects.filter(pk=self.transcript.pk).update(text="Rewritten behind the model's back.")
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_transcript SET text = %s WHERE id = %s", ["raw", self.transcript.pk])
        self.assertIn("group chat", Transcript.objects.get(pk=self.transcript.pk).text)

    def test_other_fields_stay_editable_once_coded(self):
        make_excerpt(self.transcript, [self.code])
        self.transcript.title = "Interview 7 (renamed)"
        self.transcript.save(update_fields=["title"])
        Transcript.objects.filter(pk=self.transcript.pk).update(title="Renamed again")
        self.assertEqual(Transcript.objects.get(pk=self.transcript.pk).title, "Renamed again")

    def test_text_is_normalized_and_hashed_at_import(self):
        transcript = make_transcript(self.project, title="CRLF", text="\ufeffI: Hi\r\nP07: Cafe\u0301\x00")
        self.assertEqual(transcript.text, "I: Hi\nP07: Café")
        self.assertEqual(len(transcript.content_hash), 64)

    def test_unnormalized_text_is_refused_by_the_model(self):
        with self.assertRaises(ValidationError):
            Transcript.objects.create(project=self.project, title="Raw", text="a\r\nb")

    def test_speaker_turns_must_be_inside_and_ordered(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            SpeakerTurn.objects.create(transcript=self.transcript, start=5, end=5, body_start=5, speaker="I")
        with self.assertRaises(IntegrityError), transaction.atomic():
            SpeakerTurn.objects.create(transcript=self.transcript, start=5, end=9, body_start=12, speaker="I")


class CodeConstraintTests(BaseTestCase):
    def test_sibling_names_are_unique_ignoring_case(self):
        with self.assertRaises(ValidationError):
            make_code(self.project, name="SENSE OF COMMUNITY")
        parent = make_code(self.project, name="Coping strategies")
        make_code(self.project, name="Self-care", parent=parent)
        with self.assertRaises(ValidationError):
            make_code(self.project, name="self-care", parent=parent)
        # The same name under another parent, or in another project, is fine.
        make_code(self.project, name="Self-care")
        make_code(self.other_project, name="Sense of community")

    def test_the_database_holds_sibling_uniqueness_too(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            Code.objects.create(project=self.project, name="sense of community")

    def test_a_code_cannot_move_under_its_own_subtheme(self):
        child = make_code(self.project, name="Peer group", parent=self.code)
        self.code.parent = child
        with self.assertRaises(ValidationError):
            self.code.full_clean()

    def test_a_parent_from_another_project_is_refused(self):
        foreign = make_code(self.other_project, name="Foreign parent")
        with self.assertRaises(ValidationError):
            make_code(self.project, name="Stray", parent=foreign)

    def test_tree_order_puts_children_after_their_parent(self):
        coping = make_code(self.project, name="Coping", order=0)
        supports = make_code(self.project, name="Supports", order=1)
        make_code(self.project, name="Boundaries", parent=coping, order=1)
        make_code(self.project, name="Community", parent=coping, order=0)
        make_code(self.project, name="Policies", parent=supports)
        names = [(c.name, c.depth) for c in self.project.codes.exclude(pk=self.code.pk).in_tree_order()]
        self.assertEqual(
            names, [("Coping", 0), ("Community", 1), ("Boundaries", 1), ("Supports", 0), ("Policies", 1)]
        )


class DeletionTests(BaseTestCase):
    def test_deleting_a_code_in_use_needs_confirmation_and_is_audited(self):
        other = make_code(self.project, name="Boundaries")
        kept = make_excerpt(self.transcript, [self.code, other])
        dropped = make_excerpt(self.transcript, [self.code], start=3, end=9)
        with self.assertRaises(actions.ConfirmationRequired) as refused:
            actions.delete_code(self.code, by=self.alice)
        self.assertEqual(refused.exception.n_excerpts, 2)
        self.assertTrue(Code.objects.filter(pk=self.code.pk).exists())

        actions.delete_code(self.code, by=self.alice, confirmed=True)
        self.assertFalse(Code.objects.filter(pk=self.code.pk).exists())
        self.assertEqual(list(Excerpt.objects.get(pk=kept.pk).codes.all()), [other])
        self.assertFalse(Excerpt.objects.filter(pk=dropped.pk).exists())
        event = AuditEvent.objects.get(verb="code.deleted")
        self.assertEqual(event.before["excerpts"], 2)
        self.assertEqual(event.actor, self.alice)

    def test_orm_deletes_cannot_silently_drop_coding(self):
        make_excerpt(self.transcript, [self.code])
        with self.assertRaises(ProtectedError), transaction.atomic():
            self.code.delete()
        with self.assertRaises(ProtectedError), transaction.atomic():
            self.transcript.delete()
        self.assertEqual(Excerpt.objects.count(), 1)

    def test_deleting_a_coded_transcript_needs_confirmation(self):
        make_excerpt(self.transcript, [self.code])
        with self.assertRaises(actions.ConfirmationRequired):
            actions.delete_transcript(self.transcript, by=self.alice)
        self.assertTrue(Transcript.objects.filter(pk=self.transcript.pk).exists())
        actions.delete_transcript(self.transcript, by=self.alice, confirmed=True)
        self.assertFalse(Transcript.objects.filter(pk=self.transcript.pk).exists())
        self.assertEqual(AuditEvent.objects.get(verb="transcript.deleted").before["excerpts"], 1)

    def test_an_uncoded_transcript_deletes_without_confirmation(self):
        transcript = make_transcript(self.project, title="Spare")
        actions.delete_transcript(transcript, by=self.alice)
        self.assertFalse(Transcript.objects.filter(pk=transcript.pk).exists())


class MemoAndParticipantTests(BaseTestCase):
    def test_a_memo_is_about_one_thing_at_most(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            Memo.objects.create(
                project=self.project, transcript=self.transcript, code=self.code, author=self.alice, body="x"
            )
        Memo.objects.create(project=self.project, author=self.alice, body="Journal entry")

    def test_participant_labels_are_unique_per_project(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            Participant.objects.create(project=self.project, label="p07")
        Participant.objects.create(project=self.other_project, label="P07")

    def test_attribute_values_are_typed(self):
        from transcripts.models import Attribute

        years = Attribute.objects.create(project=self.project, name="Years as a peer", kind="number")
        started = Attribute.objects.create(project=self.project, name="Started", kind="date")
        org = Attribute.objects.create(project=self.project, name="Org", kind="choice", choices=["Harm reduction"])
        self.assertEqual(years.parse("7.0")[:2], ("7", 7))
        self.assertEqual(started.parse("2021-04-01")[0], "2021-04-01")
        for attribute, bad in [(years, "seven"), (years, "NaN"), (started, "April"), (org, "Hospital")]:
            with self.assertRaises(ValidationError):
                attribute.parse(bad)

    def test_membership_roles_answer_questions(self):
        roles = {m.user.username: m for m in Membership.objects.filter(project=self.project)}
        self.assertTrue(roles["alice"].can_manage() and roles["alice"].can_code())
        self.assertTrue(roles["bob"].can_code() and not roles["bob"].can_manage())
        self.assertFalse(roles["rita"].can_code() or roles["rita"].can_edit_codebook())


class AuditTrailTests(BaseTestCase):
    def test_every_write_in_the_setup_was_recorded_with_its_actor(self):
        verbs = list(AuditEvent.objects.filter(project=self.project).order_by("pk").values_list("verb", "actor"))
        self.assertEqual(
            verbs,
            [
                ("project.created", self.alice.pk),
                ("member.added", self.alice.pk),
                ("member.added", self.alice.pk),
                ("transcript.imported", self.alice.pk),
                ("code.created", self.alice.pk),
            ],
        )

    def test_audit_events_cannot_be_changed_or_deleted_through_the_app(self):
        event = AuditEvent.objects.first()
        event.verb = "nothing.happened"
        with self.assertRaises(PermissionError):
            event.save()
        with self.assertRaises(PermissionError):
            event.delete()
        with self.assertRaises(PermissionError):
            AuditEvent.objects.all().delete()
        with self.assertRaises(PermissionError):
            AuditEvent.objects.update(verb="x")

    def test_the_hash_chain_detects_tampering_outside_the_app(self):
        make_excerpt(self.transcript, [self.code])
        report = audit.verify_chain()
        self.assertTrue(report.ok)
        self.assertEqual(report.checked, AuditEvent.objects.count())
        victim = AuditEvent.objects.order_by("pk")[2]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE transcripts_auditevent SET actor_name = %s WHERE id = %s", ["mallory", victim.pk]
            )
        report = audit.verify_chain()
        self.assertFalse(report.ok)
        self.assertEqual(report.broken_at, victim.pk)
