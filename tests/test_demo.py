"""The demo study that `make run` loads looks like a study well under way: most transcripts coded
once, a handful double-coded, a few waiting, and theme figures that differ as a real study's do."""

import io
import json
from collections import defaultdict

from django.core.management import call_command
from django.test import TestCase

from transcripts.management.commands.load_demo import DEMO_DIR, SLUG
from transcripts.models import CodeApplication, Excerpt, Project, SpeakerTurn

SEED_THEMES = [
    "Sense of community",
    "Setting boundaries",
    "Self-care routines",
    "Mental and emotional support",
    "Professional relationships",
    "Organizational policies",
    "Advocacy through lived experience",
]


class DemoStudyTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        call_command("load_demo", quiet_logins=True, stdout=io.StringIO())
        cls.project = Project.objects.get(slug=SLUG)
        cls.items = json.loads((DEMO_DIR / "coding.json").read_text(encoding="utf-8"))

    def test_most_transcripts_are_coded_a_handful_twice_and_a_few_wait(self):
        coders = defaultdict(set)
        for label, coder in Excerpt.objects.filter(transcript__project=self.project).values_list(
            "transcript__participant__label", "coder__username"
        ):
            coders[label].add(coder)
        labels = set(self.project.transcripts.values_list("participant__label", flat=True))
        self.assertEqual(len(labels), 20)
        self.assertGreaterEqual(len(coders), 15)
        self.assertIn(sum(1 for names in coders.values() if len(names) == 2), (4, 5))
        self.assertGreaterEqual(len(labels - set(coders)), 2)
        self.assertEqual({name for names in coders.values() for name in names}, {"dana", "sam"})

    def test_each_seed_theme_is_coded_for_five_participants_and_the_themes_differ(self):
        applications = CodeApplication.objects.filter(excerpt__transcript__project=self.project)
        participants = {
            theme: applications.filter(code__name=theme).values("excerpt__transcript__participant").distinct().count()
            for theme in SEED_THEMES
        }
        for theme, n in participants.items():
            self.assertGreaterEqual(n, 5, theme)
        self.assertGreater(len(set(participants.values())), 1, participants)

    def test_every_quote_is_found_in_participant_speech(self):
        excerpts = Excerpt.objects.filter(transcript__project=self.project).select_related("transcript__participant", "coder")
        self.assertEqual(excerpts.count(), len(self.items))
        loaded = sorted((e.transcript.participant.label, e.coder.username, e.quote) for e in excerpts)
        self.assertEqual(loaded, sorted((i["transcript"], i["coder"], i["quote"]) for i in self.items))
        for excerpt in excerpts:
            turn = SpeakerTurn.objects.filter(
                transcript=excerpt.transcript, body_start__lte=excerpt.start, end__gte=excerpt.end
            ).first()
            self.assertIsNotNone(turn, excerpt.quote[:60])
            self.assertEqual(turn.role, SpeakerTurn.Role.PARTICIPANT, excerpt.quote[:60])
