"""Write the review report of a project to .docx, .csv or .xlsx, with the review pages' filters."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from transcripts import review
from transcripts.models import Attribute, Project
from transcripts.review import reports


class Command(BaseCommand):
    help = "Export the review of PROJECT (its slug) to OUT.docx, OUT.csv or OUT.xlsx."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("out", help="The file to write; its extension picks the format.")
        parser.add_argument("--coder", action="append", default=[], metavar="USERNAME", help="Only this coder's excerpts (repeatable).")
        parser.add_argument(
            "--attribute", action="append", default=[], metavar="NAME=VALUE",
            help="Only participants with this value (repeatable); numbers and dates also take LOW..HIGH.",
        )
        parser.add_argument("--no-interviewer", action="store_true", help="Leave out excerpts inside interviewer turns.")
        parser.add_argument("--exemplars-only", action="store_true", help="Only exemplar quotes.")

    def handle(self, project: str, out: str, **options) -> None:
        try:
            project_obj = Project.objects.get(slug=project)
        except Project.DoesNotExist:
            raise CommandError(f"No project with the slug {project!r}.") from None
        path = Path(out)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in reports.CONTENT_TYPES:
            raise CommandError("OUT must end in .docx, .csv or .xlsx.")
        filter_options = review.FilterOptions.load(project_obj)
        query = self._query(filter_options, options)
        filters = review.ReviewFilters.from_query(query, filter_options)
        with path.open("wb") as report:
            reports.render(
                fmt, project_obj, filters, review.Tree.load(project_obj), report,
                exemplars_only=options["exemplars_only"], options=filter_options,
            )
        described = "; ".join(reports.describe(filters, filter_options)) or "no filters"
        self.stdout.write(f"Wrote {path} ({described}).")

    def _query(self, filter_options: review.FilterOptions, options: dict) -> QueryDict:
        """The command's options as the query string the review pages read; unknown names fail loudly."""
        query = QueryDict(mutable=True)
        coders = {user.get_username(): user for user in filter_options.coders}
        for username in options["coder"]:
            if username not in coders:
                raise CommandError(f"{username!r} is not a coder or lead of this project.")
            query.appendlist("coder", str(coders[username].pk))
        attributes = {a.name.lower(): a for a in filter_options.attributes}
        for item in options["attribute"]:
            name, sep, value = item.partition("=")
            attribute = attributes.get(name.strip().lower())
            if not sep or attribute is None:
                raise CommandError(f"--attribute {item!r}: write NAME=VALUE with one of: {', '.join(a.name for a in filter_options.attributes)}.")
            key = f"a{attribute.pk}"
            if attribute.kind in (Attribute.Kind.NUMBER, Attribute.Kind.DATE):
                low, dots, high = value.partition("..")
                query[f"{key}_min"] = low.strip()
                query[f"{key}_max"] = (high if dots else low).strip()
            else:
                query.appendlist(key, value.strip())
        if options["no_interviewer"]:
            query["no_interviewer"] = "1"
        return query
