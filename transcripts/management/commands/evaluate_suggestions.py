"""Print how often the project's code suggestions are right, transcript by held-out transcript."""

from django.core.management.base import BaseCommand, CommandError

from transcripts.models import Project
from transcripts.suggestions.evaluation import Evaluation, Figures, evaluate_read
from transcripts.suggestions.learning import LOWEST_PRECISION
from transcripts.suggestions.training import labelled_units


def percent(value: float | None) -> str:
    return "   -" if value is None else f"{value * 100:3.0f}%"


class Command(BaseCommand):
    help = (
        "Leave one transcript out: fit the suggestions on every coded transcript but one, predict that one, "
        "repeat for each, and print precision, recall and F1 per code and overall, and how many suggestions "
        "a coder would see per transcript. Learns from the whole team's coding, as a lead's suggestions do."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The project's slug.")

    def handle(self, slug: str, **options) -> None:
        try:
            project = Project.objects.get(slug=slug)
        except Project.DoesNotExist:
            raise CommandError(f"There is no project with the slug {slug!r}.") from None
        evaluation = evaluate_read(*labelled_units(project, None, with_rejections=False))
        if evaluation.n_transcripts < 2:
            self.stdout.write(
                "Suggestions need coding on at least two transcripts to be measured; "
                f"this project has coding on {evaluation.n_transcripts}."
            )
            return
        names = dict(project.codes.values_list("pk", "name"))
        self.write_table(evaluation, names, evaluation.n_transcripts)

    def write_table(self, evaluation: Evaluation, names: dict[int, str], n_transcripts: int) -> None:
        width = max([len(name) for name in names.values()] + [7])
        self.stdout.write(
            f"Left out in turn: {n_transcripts} coded transcripts; threshold {evaluation.threshold:.2f}.\n"
        )
        self.stdout.write(f"{'Code':<{width}}  Units  Precision  Recall    F1")
        for code in evaluation.suggested:
            self.stdout.write(self.row(names.get(code, f"code {code}"), width, evaluation.examples[code], evaluation.per_code[code]))
        self.stdout.write(self.row("Overall", width, sum(evaluation.examples[c] for c in evaluation.suggested), evaluation.overall))
        shown = evaluation.shown
        self.stdout.write(self.row("Codes shown", width, sum(evaluation.examples[c] for c in shown), evaluation.together(shown)))
        self.stdout.write(f"\nSuggestions a coder would see per transcript: {evaluation.suggestions_per_transcript:.1f}")
        for code in sorted(set(evaluation.suggested) - set(shown)):
            self.stdout.write(f"Not suggested, right less than {LOWEST_PRECISION:.0%} of the time: {names.get(code, code)}")
        for code in evaluation.too_few:
            self.stdout.write(
                f"Not suggested, too few examples to learn or measure: {names.get(code, code)} "
                f"({evaluation.examples[code]} units)"
            )

    @staticmethod
    def row(name: str, width: int, n_units: int, figures: Figures) -> str:
        return (
            f"{name:<{width}}  {n_units:5d}  {percent(figures.precision):>9}  {percent(figures.recall):>6}  "
            f"{percent(figures.f1):>4}"
        )
