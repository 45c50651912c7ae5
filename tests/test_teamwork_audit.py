"""The audit trail page, its CSV export, and verify_audit."""

import csv
import datetime
import io

from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.base import make_code
from tests.teamwork_base import TeamworkTestCase
from transcripts import actions
from transcripts.models import AuditEvent
from transcripts.review.reports import spreadsheet_safe as neutralize


class AuditPageTests(TeamworkTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.url = reverse("audit_list", args=[cls.project.slug])
        cls.export = reverse("audit_export", args=[cls.project.slug])
        cls.excerpt = actions.create_excerpt(cls.hand, start=15, end=20, codes=[cls.x], by=cls.bob)
        actions.change_excerpt(cls.excerpt, by=cls.bob, expected_version=1, memo="first thoughts")

    def get(self, **params):
        self.client.force_login(self.alice)
        return self.client.get(self.url, params)

    def test_it_lists_who_when_what_and_before_and_after(self):
        response = self.get()
        self.assertContains(response, "excerpt.changed")
        self.assertContains(response, "<dt>memo</dt><dd><del>(empty)</del> → <ins>first thoughts</ins></dd>")
        self.assertContains(response, "<dt>version</dt>", count=0)
        rows = response.context["rows"]
        assert rows[0]["event"].verb == "excerpt.changed"
        assert ("memo", "(empty)", "first thoughts") in rows[0]["changes"]
        created = next(row for row in rows if row["event"].verb == "excerpt.created")
        assert ("memo", None, "(empty)") in created["changes"] and ("start", None, "15") in created["changes"]
        assert all(row["event"].project_id == self.project.pk for row in rows)
        assert not any(row["event"].verb == "project.created" and row["event"].project_id != self.project.pk for row in rows)

    def test_it_filters_by_person_object_and_date(self):
        bob_only = self.get(actor=str(self.bob.pk)).context["rows"]
        assert {row["event"].actor_id for row in bob_only} == {self.bob.pk}
        assert {row["event"].verb for row in bob_only} == {"excerpt.created", "excerpt.changed"}
        codes = self.get(object_type="code").context["rows"]
        assert {row["event"].verb for row in codes} == {"code.created"}
        today = timezone.localdate()
        assert len(self.get(since=today.isoformat(), until=today.isoformat()).context["rows"]) == AuditEvent.objects.filter(
            project_id=self.project.pk
        ).count()
        tomorrow = today + datetime.timedelta(days=1)
        assert self.get(since=tomorrow.isoformat()).context["rows"] == []
        assert self.get(until=(today - datetime.timedelta(days=1)).isoformat()).context["rows"] == []
        # Nonsense filters are ignored rather than failing.
        assert self.get(actor="nobody", since="yesterday").status_code == 200

    def test_it_pages_and_costs_the_same_however_long_the_trail(self):
        def count(**params) -> int:
            self.client.force_login(self.alice)
            self.client.get(self.url, params)  # the session's once-a-minute renewal is not the page's cost
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(self.url, params).status_code == 200
            return len(queries)

        small = count()
        for n in range(120):
            make_code(self.project, name=f"Theme {n}")
        assert count() == small
        assert count(page=3) == small
        page = self.get(page=2)
        assert len(page.context["rows"]) == 50
        self.assertContains(page, "page 2 of 3")

    def test_the_page_offers_no_way_to_change_or_delete_a_record(self):
        response = self.get()
        html = response.content.decode()
        assert html.count('method="post"') == 1  # the log-out button in the header, nothing else
        for word in ("Delete", "Edit", "delete/", "edit/"):
            assert word not in html.split('<main id="main"', 1)[1]
        event = AuditEvent.objects.latest("pk")
        for attempt in (lambda: event.delete(), lambda: AuditEvent.objects.all().delete(),
                        lambda: AuditEvent.objects.update(verb="x"), lambda: event.save()):
            with self.assertRaises(PermissionError):
                attempt()

    def test_the_csv_export_follows_the_filters_and_neutralizes_formulas(self):
        for name in ("=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "Plain"):
            make_code(self.project, name=name)
        self.client.force_login(self.alice)
        response = self.client.get(self.export, {"object_type": "code"})
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:4] == ["id", "time", "person", "verb"]
        objects = [row[6] for row in rows[1:]]
        assert "'=HYPERLINK(\"http://x\")" in objects and "'+1" in objects and "'-2" in objects
        assert "'@SUM(A1)" in objects and "Plain" in objects
        assert {row[3] for row in rows[1:]} == {"code.created"}
        assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
        assert neutralize("\tx") == "'\tx" and neutralize("a=b") == "a=b"

    def test_only_leads_see_it(self):
        for user, status in [(self.bob, 403), (self.rita, 403), (self.oscar, 404)]:
            self.client.force_login(user)
            assert self.client.get(self.url).status_code == status
            assert self.client.get(self.export).status_code == status


class VerifyAuditTests(TeamworkTestCase):
    def test_an_intact_trail_passes(self):
        out = io.StringIO()
        call_command("verify_audit", stdout=out)
        assert "intact" in out.getvalue()

    def test_tampering_is_detected_and_names_the_first_broken_event(self):
        events = list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True))
        target = events[len(events) // 2]
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transcripts_auditevent SET actor_name = %s WHERE id = %s", ["mallory", target])
        with self.assertRaises(CommandError) as caught:
            call_command("verify_audit")
        assert f"event {target} " in str(caught.exception)

    def test_a_removed_event_is_detected_too(self):
        events = list(AuditEvent.objects.filter(project=self.project).order_by("seq").values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM transcripts_auditevent WHERE id = %s", [events[2]])
        with self.assertRaises(CommandError) as caught:
            call_command("verify_audit")
        assert f"event {events[3]} " in str(caught.exception)
