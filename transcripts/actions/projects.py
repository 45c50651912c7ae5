"""Starting a project: the creator becomes its lead."""

from __future__ import annotations

from django.db import transaction

from .. import audit
from ..models import CountsReady, Membership, Project


@transaction.atomic
def create_project(name: str, slug: str, *, by, description: str = "") -> Project:
    """Create the project with `by` as its lead, and record it; IntegrityError if the slug is taken."""
    project = Project.objects.create(name=name, slug=slug, description=description, created_by=by)
    Membership.objects.create(project=project, user=by, role=Membership.Role.LEAD)
    CountsReady.objects.create(project=project)  # nothing coded yet: its review counts are exact
    audit.record(
        "project.created",
        by=by,
        project=project,
        obj=project,
        after={"name": name, "slug": slug, "description": description, "lead": by.get_username()},
    )
    return project
