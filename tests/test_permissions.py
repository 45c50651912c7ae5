"""Every URL of the app, tried by every kind of visitor.

ROUTES has one entry per URL pattern (a test fails when a pattern has none). For each, the
lowest role that may GET or POST it: "reader" < "coder" < "lead", or None when the method is
not allowed at all. Anonymous visitors are sent to the login page (htmx requests get a 401),
members of another project get 404, members below the role get 403, and a refused request
changes nothing in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.base import BaseTestCase, make_code, make_excerpt, make_transcript, make_user
from transcripts import actions
from transcripts.models import TranscriptAssignment
from transcripts.models import (
    Attribute,
    AuditEvent,
    Code,
    CodeApplication,
    Excerpt,
    Job,
    Membership,
    Memo,
    Participant,
    Pseudonym,
    SpeakerTurn,
    Transcript,
)

RANK = {"reader": 0, "coder": 1, "lead": 2}
SECRET = "OTHER-PROJECT-SECRET"


@dataclass
class Route:
    args: Callable  # world -> path args naming objects of the project
    foreign: Callable | None  # world -> the same args naming the other project's objects
    get: str | None = "reader"
    post: str | None = None
    data: Callable = field(default=lambda w: {})
    public: bool = False  # served without a login (the one-time password link)


def _slug(w):
    return [w.project.slug]


def _other_slug(w):
    return [w.other_project.slug]


ROUTES: dict[str, Route] = {
    "project_list": Route(args=lambda w: [], foreign=None),
    # Not a project's page: the site's default lets only marked users start projects, and here
    # alice is marked while bob and rita are not ("lead" stands for her; see test_project_create).
    "project_create": Route(
        args=lambda w: [], foreign=None, get="lead", post="lead",
        data=lambda w: {"name": "A second study", "slug": "second-study"},
    ),
    # Whoever may start a project may import one (alice is marked, as for project_create).
    "project_import": Route(args=lambda w: [], foreign=None, get="lead", post="lead"),
    # A preview is its uploader's job: alice's here; anyone else's is 404 (tests/test_project_import.py).
    "project_import_preview": Route(args=lambda w: [w.preview_job.pk], foreign=None, get="lead"),
    "project_import_confirm": Route(args=lambda w: [w.preview_job.pk], foreign=None, get=None, post="lead"),
    "project_detail": Route(args=_slug, foreign=_other_slug),
    "project_settings": Route(
        args=_slug, foreign=_other_slug, get="lead", post="lead", data=lambda w: {"name": "Renamed study", "suggestions_on": "on"}
    ),
    # The whole project as .qdpx: a lead's, like the other exports of everything.
    "project_export": Route(args=_slug, foreign=_other_slug, get=None, post="lead"),
    "import_transcripts": Route(args=_slug, foreign=_other_slug, get="lead", post="lead"),
    "participant_list": Route(args=_slug, foreign=_other_slug),
    "participant_create": Route(args=_slug, foreign=_other_slug, get=None, post="lead", data=lambda w: {"label": "P99"}),
    "participant_sheet_preview": Route(args=_slug, foreign=_other_slug, get=None, post="lead"),
    "participant_sheet_import": Route(args=_slug, foreign=_other_slug, get=None, post="lead"),
    "attribute_label": Route(
        args=lambda w: [w.project.slug, w.attribute.pk], foreign=lambda w: [w.project.slug, w.other_attribute.pk],
        get=None, post="lead", data=lambda w: {"label": "Years as a peer worker"},
    ),
    "pseudonym_list": Route(
        args=_slug, foreign=_other_slug, get="lead", post="lead",
        data=lambda w: {"original": "Maria", "replacement": "[Peer A]"},
    ),
    "pseudonym_delete": Route(
        args=lambda w: [w.project.slug, w.pseudonym.pk],
        foreign=lambda w: [w.project.slug, w.other_pseudonym.pk],
        get=None, post="lead",
    ),
    "codes_css": Route(args=_slug, foreign=_other_slug),
    "transcript_detail": Route(args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk]),
    "transcript_state": Route(args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk]),
    "transcript_speakers": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get="lead", post="lead",
        data=lambda w: {"role_0": "other", "role_1": "other"},
    ),
    "transcript_deidentify": Route(
        args=lambda w: [w.uncoded.pk], foreign=lambda w: [w.other_transcript.pk], get="lead", post="lead",
        data=lambda w: {"hash": w.uncoded.content_hash},
    ),
    "transcript_delete": Route(
        args=lambda w: [w.uncoded.pk], foreign=lambda w: [w.other_transcript.pk], get="lead", post="lead"
    ),
    "excerpt_create": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="coder",
        data=lambda w: {"start": 0, "end": 5, "codes": str(w.code.pk)},
    ),
    "coding_undo": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="coder"
    ),
    # Suggestions are for those who code; the forms name a passage that is not a unit here (refused with a message).
    "transcript_suggestions": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get="coder"
    ),
    "suggestion_accept": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="coder",
        data=lambda w: {"start": 0, "end": 5, "code": w.code.pk, "version": 1},
    ),
    "suggestion_reject": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="coder",
        data=lambda w: {"start": 0, "end": 5, "code": w.code.pk, "version": 1},
    ),
    "suggestions_train": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="lead"
    ),
    # The accuracy of the suggestions is for leads; measuring starts a background job.
    "suggestion_accuracy": Route(args=_slug, foreign=_other_slug, get="lead"),
    "measure_suggestions": Route(args=_slug, foreign=_other_slug, get=None, post="lead"),
    "excerpt_detail": Route(args=lambda w: [w.excerpt.pk], foreign=lambda w: [w.other_excerpt.pk]),
    "excerpt_similar": Route(args=lambda w: [w.excerpt.pk], foreign=lambda w: [w.other_excerpt.pk]),
    # The excerpt is the lead's: a coder may change only their own coding.
    "excerpt_update": Route(
        args=lambda w: [w.excerpt.pk], foreign=lambda w: [w.other_excerpt.pk], get=None, post="lead",
        data=lambda w: {"version": 1, "memo": "changed"},
    ),
    "excerpt_delete": Route(
        args=lambda w: [w.excerpt.pk], foreign=lambda w: [w.other_excerpt.pk], get=None, post="lead",
        data=lambda w: {"version": 1},
    ),
    # The codebook: every member reads it; coders and leads edit; archive, merge, exemplars,
    # import and confirming the deletion of a code in use are a lead's.
    "codebook": Route(args=_slug, foreign=_other_slug),
    "codebook_history": Route(args=_slug, foreign=_other_slug),
    "codebook_export": Route(args=_slug, foreign=_other_slug, get=None, post="reader", data=lambda w: {"format": "qdc"}),
    "code_create": Route(args=_slug, foreign=_other_slug, get=None, post="coder", data=lambda w: {"name": "New theme"}),
    "code_move": Route(
        args=_slug, foreign=_other_slug, get=None, post="coder",
        data=lambda w: {"code": w.spare_code.pk, "parent": w.code.pk},
    ),
    "code_merge": Route(
        args=_slug, foreign=_other_slug, get=None, post="lead",
        data=lambda w: {"source": w.merge_code.pk, "target": w.spare_code.pk},
    ),
    "codebook_import": Route(args=_slug, foreign=_other_slug, get="lead", post="lead"),
    "codebook_import_confirm": Route(args=_slug, foreign=_other_slug, get=None, post="lead"),
    "code_detail": Route(args=lambda w: [w.code.pk], foreign=lambda w: [w.other_code.pk]),
    "code_update": Route(
        args=lambda w: [w.code.pk], foreign=lambda w: [w.other_code.pk], get=None, post="coder",
        data=lambda w: {"name": "Sense of community", "color": "#2ca02c", "definition": "Belonging"},
    ),
    "code_reorder": Route(
        args=lambda w: [w.code.pk], foreign=lambda w: [w.other_code.pk], get=None, post="coder",
        data=lambda w: {"direction": "down"},
    ),
    "code_archive": Route(
        args=lambda w: [w.spare_code.pk], foreign=lambda w: [w.other_code.pk], get=None, post="lead",
        data=lambda w: {"archived": "1"},
    ),
    # The code is in use: a coder is told to ask a lead, a lead is asked to confirm; nothing is deleted.
    "code_delete": Route(args=lambda w: [w.code.pk], foreign=lambda w: [w.other_code.pk], get=None, post="coder"),
    "code_exemplar": Route(
        args=lambda w: [w.code.pk], foreign=lambda w: [w.other_code.pk], get=None, post="lead",
        data=lambda w: {"application": w.excerpt.applications.get().pk, "exemplar": "1"},
    ),
    # Review: every member reads it; leads mark exemplars; coders and leads code search hits.
    "review_summary": Route(args=_slug, foreign=_other_slug),
    "review_quotes": Route(
        args=lambda w: [w.project.slug, w.code.pk], foreign=lambda w: [w.project.slug, w.other_code.pk]
    ),
    "review_context": Route(
        args=lambda w: [w.project.slug, w.excerpt.pk], foreign=lambda w: [w.project.slug, w.other_excerpt.pk]
    ),
    "review_exemplar": Route(
        args=lambda w: [w.project.slug, w.excerpt.applications.get().pk],
        foreign=lambda w: [w.project.slug, w.other_excerpt.applications.get().pk],
        get=None, post="lead", data=lambda w: {"exemplar": "1"},
    ),
    "review_matrix": Route(args=_slug, foreign=_other_slug),
    "review_cooccurrence": Route(args=_slug, foreign=_other_slug),
    "review_cooccurrence_detail": Route(
        args=lambda w: [w.project.slug, w.code.pk, w.code.pk],
        foreign=lambda w: [w.project.slug, w.other_code.pk, w.other_code.pk],
    ),
    "review_query": Route(args=_slug, foreign=_other_slug),
    "review_search": Route(args=_slug, foreign=_other_slug),
    # The digest does not match a preview, so the coder is told to look again; nothing is coded.
    "review_search_code": Route(
        args=_slug, foreign=_other_slug, get=None, post="coder",
        data=lambda w: {"q": "group chat", "code": w.code.pk, "digest": "stale"},
    ),
    # Reports and the .docx codebook start background jobs; any member may start one.
    "review_report": Route(
        args=lambda w: [w.project.slug, "csv"], foreign=lambda w: [w.other_project.slug, "csv"], get=None, post="reader"
    ),
    # A job is its requester's alone: each member is given their own here; tests/test_jobs.py shows
    # that everyone else, a lead of the project too, gets 404.
    "job_detail": Route(args=lambda w: [w.own_job().pk], foreign=lambda w: [w.other_job.pk]),
    "job_download": Route(args=lambda w: [w.own_job().pk], foreign=lambda w: [w.other_job.pk]),
    # Starting one's own job again; a finished one is left as it is.
    "job_restart": Route(args=lambda w: [w.own_job().pk], foreign=lambda w: [w.other_job.pk], get=None, post="reader"),
    # Teamwork. Members see the member list; leads change it. The role change keeps carl a coder;
    # removing carl comes after it so the lead's removal cannot 404 the role change.
    "member_list": Route(args=_slug, foreign=_other_slug, get="reader", post="lead"),
    "member_account": Route(
        args=_slug, foreign=_other_slug, get=None, post="lead",
        data=lambda w: {"username": "newcomer", "role": "coder"},
    ),
    "member_role": Route(
        args=lambda w: [w.project.slug, w.spare_membership.pk],
        foreign=lambda w: [w.project.slug, w.other_membership.pk],
        get=None, post="lead", data=lambda w: {"role": "coder"},
    ),
    "member_remove": Route(
        args=lambda w: [w.project.slug, w.spare_membership.pk],
        foreign=lambda w: [w.project.slug, w.other_membership.pk],
        get=None, post="lead",
    ),
    # The one-time link works without a login; a wrong token shows "used or expired" to anyone.
    "set_password": Route(
        args=lambda w: ["Mg", "wrong-token"], foreign=None, get="reader", post="reader", public=True,
        data=lambda w: {"new_password1": "x", "new_password2": "x"},
    ),
    # The second factor: any logged-in user, about their own account only (no project ids).
    "login_verify": Route(args=lambda w: [], foreign=None, get="reader", post="reader", data=lambda w: {"code": "000000"}),
    "two_factor": Route(args=lambda w: [], foreign=None, get="reader", post="reader", data=lambda w: {"code": "000000"}),
    "two_factor_remove": Route(args=lambda w: [], foreign=None, get=None, post="reader", data=lambda w: {"code": "000000"}),
    "assignment_list": Route(args=_slug, foreign=_other_slug, get="lead", post="lead"),
    "project_blinding": Route(args=_slug, foreign=_other_slug, get=None, post="lead"),
    "transcript_blinding": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="lead",
        data=lambda w: {"blind_coding": "0"},
    ),
    "queue": Route(args=_slug, foreign=_other_slug, get="coder"),
    # bob's assignment: bob marks it done, a lead may too, a reader may not.
    "assignment_done": Route(
        args=lambda w: [w.assignment.pk], foreign=lambda w: [w.other_assignment.pk], get=None, post="coder",
        data=lambda w: {"done": "1"},
    ),
    "assignment_delete": Route(
        args=lambda w: [w.assignment.pk], foreign=lambda w: [w.other_assignment.pk], get=None, post="lead"
    ),
    # Comparison is closed here, so only leads see agreement figures.
    "agreement": Route(args=_slug, foreign=_other_slug, get="lead"),
    "reconcile": Route(args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get="lead"),
    "reconcile_settle": Route(
        args=lambda w: [w.transcript.pk], foreign=lambda w: [w.other_transcript.pk], get=None, post="lead"
    ),
    "audit_list": Route(args=_slug, foreign=_other_slug, get="lead"),
    "audit_export": Route(args=_slug, foreign=_other_slug, get="lead"),
}


def app_url_names() -> set[str]:
    """Names of every URL pattern served by the app (login, logout and admin are Django's)."""
    names: set[str] = set()

    def walk(patterns) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.callback.__module__.startswith("transcripts."):
                names.add(pattern.name)

    walk(get_resolver().url_patterns)
    return names


def snapshot() -> tuple:
    models = [AuditEvent, Transcript, SpeakerTurn, Excerpt, CodeApplication, Code, Participant, Attribute,
              Membership, Memo, Pseudonym, TranscriptAssignment]
    memos = tuple(Excerpt.objects.order_by("pk").values_list("memo", "version"))
    names = tuple(Transcript.objects.order_by("pk").values_list("title", flat=True))
    labels = tuple(Attribute.objects.order_by("pk").values_list("label", flat=True))
    return tuple(model.objects.count() for model in models) + (memos, names, labels)


class RouteWorld(BaseTestCase):
    """The study every route's arguments name: an excerpt, spare codes, a second project's objects."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.excerpt = make_excerpt(cls.transcript, [cls.code], start=0, end=12, by=cls.alice)
        cls.uncoded = make_transcript(cls.project, title="Uncoded interview")
        cls.pseudonym = Pseudonym.objects.create(project=cls.project, original="Maria", replacement="[Peer A]")
        cls.other_transcript = make_transcript(
            cls.other_project, title=f"{SECRET} transcript", text=f"Interviewer: {SECRET}\nP01: {SECRET} words"
        )
        cls.other_code = make_code(cls.other_project, name=f"{SECRET} code")
        cls.other_excerpt = make_excerpt(cls.other_transcript, [cls.other_code], start=0, end=5, by=cls.oscar)
        cls.other_pseudonym = Pseudonym.objects.create(project=cls.other_project, original="Rosa", replacement=SECRET)
        cls.spare_code = make_code(cls.project, name="Spare theme")
        cls.merge_code = make_code(cls.project, name="Duplicate theme")
        cls.carl = make_user("carl")
        cls.spare_membership = actions.set_role(cls.project, cls.carl, Membership.Role.CODER, by=cls.alice)
        cls.other_membership = Membership.objects.get(project=cls.other_project, user=cls.oscar)
        cls.assignment = TranscriptAssignment.objects.create(transcript=cls.transcript, coder=cls.bob)
        cls.other_assignment = TranscriptAssignment.objects.create(transcript=cls.other_transcript, coder=cls.oscar)
        cls.alice.user_permissions.add(Permission.objects.get(codename="start_project"))
        cls.attribute = Attribute.objects.create(project=cls.project, name="years_as_peer", kind="number")
        cls.other_attribute = Attribute.objects.create(project=cls.other_project, name=f"{SECRET}_attribute")
        cls.jobs = {user.pk: cls.finished_job(cls.project, user) for user in (cls.alice, cls.bob, cls.rita)}
        cls.other_job = cls.finished_job(cls.other_project, cls.oscar)
        cls.preview_job = Job.objects.create(
            requested_by=cls.alice, kind=Job.Kind.PROJECT_PREVIEW, status=Job.Status.DONE, file_name="alice.qdpx",
            params={"source": "study.qdpx", "preview": {
                "filename": "study.qdpx", "name": "Study", "origin": "", "description": "", "offset_reading": "code points",
                "counts": {}, "left_out": "", "notes": [], "users": [],
            }},
            finished_at=timezone.now(), expires_at=timezone.now() + timedelta(hours=1),
        )

    @staticmethod
    def finished_job(project, user) -> Job:
        return Job.objects.create(
            project=project, requested_by=user, kind=Job.Kind.REPORT_CSV, status=Job.Status.DONE,
            file_name=f"{user.username}.csv", download_name="report.csv", content_type="text/csv",
            expires_at=timezone.now() + timedelta(hours=1),
        )

    def setUp(self) -> None:
        super().setUp()
        folder = Path(settings.JOBS_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for job in [*self.jobs.values(), self.other_job]:
            (folder / job.file_name).write_text(f"{SECRET if job == self.other_job else 'ours'}\n")

    def own_job(self) -> Job:
        """The logged-in member's own job; anyone else (a visitor, an outsider) is given alice's."""
        user_id = self.client.session.get("_auth_user_id")
        return self.jobs.get(int(user_id) if user_id else None, self.jobs[self.alice.pk])


class PermissionTests(RouteWorld):
    def members(self) -> dict[str, User]:
        return {"reader": self.rita, "coder": self.bob, "lead": self.alice}

    def request(self, method: str, name: str, args: list, data: dict | None = None, htmx: bool = False):
        url = reverse(name, args=args)
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            return self.client.get(url, headers=headers)
        return self.client.post(url, data or {}, headers=headers)

    def test_every_url_pattern_has_an_entry(self):
        self.assertEqual(app_url_names(), set(ROUTES), "Add the new URL to ROUTES with its roles.")

    def test_anonymous_visitors_are_sent_to_log_in(self):
        before = snapshot()
        for name, route in ROUTES.items():
            for method in ("GET", "POST"):
                with self.subTest(name=name, method=method):
                    if route.public:
                        response = self.request(method, name, route.args(self), route.data(self))
                        self.assertEqual(response.status_code, 200)
                        continue
                    response = self.request(method, name, route.args(self), route.data(self))
                    self.assertEqual(response.status_code, 302)
                    self.assertTrue(response["Location"].startswith(reverse("login")))
                    htmx = self.request(method, name, route.args(self), route.data(self), htmx=True)
                    self.assertEqual(htmx.status_code, 401)
        self.assertEqual(snapshot(), before)

    def test_members_of_another_project_get_404_and_change_nothing(self):
        self.client.force_login(self.oscar)
        before = snapshot()
        for name, route in ROUTES.items():
            if route.foreign is None:
                continue
            for method, role in (("GET", route.get), ("POST", route.post)):
                if role is None:
                    continue
                with self.subTest(name=name, method=method):
                    response = self.request(method, name, route.args(self), route.data(self))
                    self.assertEqual(response.status_code, 404)
        self.assertEqual(snapshot(), before)

    def test_each_role_gets_exactly_what_the_table_says(self):
        for role_name, user in self.members().items():
            self.client.force_login(user)
            for name, route in ROUTES.items():
                for method, needed in (("GET", route.get), ("POST", route.post)):
                    with self.subTest(user=role_name, name=name, method=method):
                        before = snapshot()
                        response = self.request(method, name, route.args(self), route.data(self), htmx=method == "POST")
                        if needed is None:
                            self.assertEqual(response.status_code, 405)
                            self.assertEqual(snapshot(), before)
                        elif RANK[role_name] >= RANK[needed]:
                            self.assertNotIn(response.status_code, (401, 403, 404, 405))
                            self.assertLess(response.status_code, 500)
                        else:
                            self.assertEqual(response.status_code, 403)
                            self.assertEqual(snapshot(), before)
                        self.assertNotIn(SECRET, response.getvalue().decode(errors="replace"))

    def test_ids_from_another_project_in_paths_are_404_even_for_a_lead(self):
        self.client.force_login(self.alice)
        before = snapshot()
        for name, route in ROUTES.items():
            if route.foreign is None:
                continue
            for method, role in (("GET", route.get), ("POST", route.post)):
                if role is None:
                    continue
                with self.subTest(name=name, method=method):
                    response = self.request(method, name, route.foreign(self), route.data(self))
                    self.assertEqual(response.status_code, 404)
                    self.assertNotIn(SECRET, response.getvalue().decode(errors="replace"))
        self.assertEqual(snapshot(), before)

    def test_ids_from_another_project_in_query_strings_and_bodies_reveal_and_change_nothing(self):
        self.client.force_login(self.alice)
        page = reverse("transcript_detail", args=[self.transcript.pk])
        for query in (
            {"code": self.other_code.pk},
            {"focus": self.other_code.pk},
            {"excerpt": self.other_excerpt.pk},
            {"coder": self.oscar.pk},
            {"partial": "excerpt-panel", "excerpt": self.other_excerpt.pk},
        ):
            with self.subTest(query=query):
                response = self.client.get(page, query, headers={"HX-Request": "true"})
                self.assertEqual(response.status_code, 200)
                self.assertNotIn(SECRET, response.getvalue().decode())
        before = snapshot()
        url = reverse("excerpt_create", args=[self.transcript.pk])
        for codes in (str(self.other_code.pk), f"{self.code.pk},{self.other_code.pk}"):
            self.client.post(url, {"start": 0, "end": 5, "codes": codes}, headers={"HX-Request": "true"})
        self.client.post(
            reverse("excerpt_update", args=[self.excerpt.pk]),
            {"version": 1, "codes": f"{self.code.pk},{self.other_code.pk}"},
            headers={"HX-Request": "true"},
        )
        self.client.post(
            reverse("pseudonym_delete", args=[self.project.slug, self.other_pseudonym.pk]),
            headers={"HX-Request": "true"},
        )
        self.assertEqual(snapshot(), before)
        self.assertFalse(CodeApplication.objects.filter(code=self.other_code).exclude(excerpt=self.other_excerpt).exists())

    def test_a_removed_member_loses_access_at_once(self):
        self.client.force_login(self.bob)
        url = reverse("transcript_detail", args=[self.transcript.pk])
        self.assertEqual(self.client.get(url).status_code, 200)
        Membership.objects.filter(project=self.project, user=self.bob).delete()
        self.assertEqual(self.client.get(url).status_code, 404)
        actions.set_role(self.project, self.bob, Membership.Role.READER, by=self.alice)
        response = self.client.post(reverse("excerpt_create", args=[self.transcript.pk]), {"start": 0, "end": 3})
        self.assertEqual(response.status_code, 403)
