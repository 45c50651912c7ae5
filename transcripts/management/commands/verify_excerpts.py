from django.core.management.base import BaseCommand, CommandError

from transcripts.integrity import check_against_trail, check_excerpts
from transcripts.models import Project


class Command(BaseCommand):
    help = (
        "Check that every excerpt's stored quote still equals the transcript text at its offsets, and that "
        "its bounds, quote, memo and codes are what the audit trail last recorded for it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", help="Only this project (its slug).")

    def handle(self, project: str | None = None, **options) -> None:
        transcripts = scope = None
        if project:
            try:
                scope = Project.objects.get(slug=project)
            except Project.DoesNotExist:
                raise CommandError(f"There is no project with the slug {project!r}.") from None
            transcripts = scope.transcripts.all()
        checked, problems = check_excerpts(transcripts)
        problems += check_against_trail(scope)
        for problem in problems:
            self.stdout.write(f"excerpt {problem.excerpt_id} (transcript {problem.transcript_id}): {problem.reason}")
        self.stdout.write(f"{checked} excerpts checked, {len(problems)} problems")
        if problems:
            raise CommandError(f"{len(problems)} problems: excerpts differ from their text or their audit trail", returncode=1)
