from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import actions, audit
from ..access import get_project_for_member, require
from ..forms import ProjectSettingsForm
from ..http import HtmxHttpRequest
from ..models import Job, Membership, Project, SiteSettings
from ..project_forms import ProjectCreateForm, slug_taken_message

# The project page lists this many of the member's newest background jobs.
MAX_JOBS_LISTED = 10


@login_required
@require_GET
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("project")
        .annotate(n_transcripts=Count("project__transcripts", distinct=True))
        .order_by("project__name")
    )
    site = SiteSettings.load()
    context = {"memberships": memberships, "site": site, "may_start": site.may_start_projects(request.user)}
    return render(request, "transcripts/project_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HtmxHttpRequest) -> HttpResponse:
    site = SiteSettings.load()
    require(site.may_start_projects(request.user))
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = actions.create_project(
                data["name"], data["slug"], description=data["description"], by=request.user
            )
        except IntegrityError:
            # Somebody took the short name between the check and the insert.
            form.add_error("slug", slug_taken_message(data["slug"]))
        else:
            messages.success(request, f"Project “{project.name}” started. You are its lead.")
            return redirect("project_detail", project.slug)
    return render(request, "transcripts/project_create.html", {"form": form, "site": site, "may_start": True})


def first_steps(project: Project, counts: dict) -> list[dict]:
    """The set-up steps of a new project, in the order a lead takes them, each marked done or not."""
    slug = project.slug
    return [
        {
            "title": "Import transcripts",
            "done": counts["n_transcripts"] > 0,
            "status": f"{counts['n_transcripts']} imported",
            "help": "Word, plain text or caption files, several at once.",
            "links": [("Import transcripts", reverse("import_transcripts", args=[slug]))],
        },
        {
            "title": "Add participants",
            "done": counts["n_participants"] > 0,
            "status": f"{counts['n_participants']} added",
            "help": "One at a time, or from a sheet with their attributes; then link each transcript to its participant.",
            "links": [("Participants", reverse("participant_list", args=[slug]))],
        },
        {
            "title": "Build or import a codebook",
            "done": counts["n_codes"] > 0,
            "status": f"{counts['n_codes']} code{'s' if counts['n_codes'] != 1 else ''}",
            "help": "Add codes by hand, or import a codebook sheet.",
            "links": [
                ("Codebook", reverse("codebook", args=[slug])),
                ("Import a codebook", reverse("codebook_import", args=[slug])),
            ],
        },
        {
            "title": "Add coders",
            "done": counts["n_can_code"] > 1,
            "status": f"{counts['n_can_code']} member{'s' if counts['n_can_code'] != 1 else ''} can code",
            "help": "Give the people who will code with you an account and a role.",
            "links": [("Members", reverse("member_list", args=[slug]))],
        },
    ]


@login_required
@require_GET
def project_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    transcripts = project.transcripts.for_list(membership)
    counts = Project.objects.first_steps(project.pk)
    steps = first_steps(project, counts) if membership.can_manage() else []
    context = {
        "project": project,
        "membership": membership,
        "transcripts": transcripts,
        "n_participants": counts["n_participants"],
        "n_codes": counts["n_codes"],
        # Shown until every step is done; the next step to take is the first not done.
        "steps": steps if not all(step["done"] for step in steps) else [],
        "next_step": next((step for step in steps if not step["done"]), None),
        # The member's own reports and exports, running or waiting for their download.
        "jobs": list(Job.objects.for_user(request.user).filter(project=project)[:MAX_JOBS_LISTED]),
    }
    return render(request, "transcripts/project_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = get_project_for_member(request.user, slug)
    require(membership.can_manage())
    fields = ["name", "description", "only_leads_create_codes", "leads_need_two_factor", "suggestions_on"]
    before = {field: getattr(project, field) for field in fields}
    lead_verified = getattr(request.user, "is_verified", lambda: False)()
    form = ProjectSettingsForm(request.POST or None, instance=project, lead_verified=lead_verified)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            after = {field: getattr(project, field) for field in fields}
            if after != before:
                audit.record("project.changed", by=request.user, project=project, obj=project, before=before, after=after)
            if before["suggestions_on"] and not project.suggestions_on:
                actions.delete_suggestion_models(project)
        messages.success(request, "Project settings saved.")
        if project.leads_need_two_factor and not before["leads_need_two_factor"]:
            messages.info(request, "Leads without a second factor will be asked to set one up before they open this project.")
        return redirect("project_detail", project.slug)
    return render(request, "transcripts/project_settings.html", {"project": project, "membership": membership, "form": form})
