from django.core.management.base import BaseCommand, CommandError

from transcripts.integrity import check_excerpts
from transcripts.models import Project


class Command(BaseCommand):
    help = "Check that every excerpt's stored quote still equals the transcript text at its offsets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", help="Only this project (its slug).")

    def handle(self, project: str | None = None, **options) -> None:
        transcripts = None
        if project:
            try:
                transcripts = Project.objects.get(slug=project).transcripts.all()
            except Project.DoesNotExist:
                raise CommandError(f"There is no project with the slug {project!r}.") from None
        checked, problems = check_excerpts(transcripts)
        for problem in problems:
            self.stdout.write(f"excerpt {problem.excerpt_id} (transcript {problem.transcript_id}): {problem.reason}")
        self.stdout.write(f"{checked} excerpts checked, {len(problems)} problems")
        if problems:
            raise CommandError(f"{len(problems)} excerpts no longer match their text", returncode=1)
