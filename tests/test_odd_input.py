"""Odd values in every form field and query parameter of every URL give no server error.

The URLs are test_permissions' ROUTES (one per URL pattern, that test fails on a new pattern
without an entry). The parameter names are those the pages themselves send: each page is read
as a lead and its forms (<input>, <select>, <textarea> names, hx-vals keys) and links (query
keys of href, hx-get, hx-post, action) are noted against the URL they go to; the names each
view function reads from request.GET and request.POST are added to its own URL.

A pass sends every parameter of a URL at once, each with one odd value; the values rotate from
pass to pass, so each parameter meets each value once. Then each parameter is sent alone with
the odd numbers, the rest of the request as test_permissions sends it. Every request runs in a savepoint that
is rolled back, so each one starts from the same study. A NUL is refused by the middleware
with a 400; any status below 500 passes. Failures are collected and reported together, one
line per request, with the exception that escaped the view.
"""

from __future__ import annotations

import inspect
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import Resolver404, get_resolver, resolve, reverse

from tests.base import make_excerpt
from tests.test_permissions import ROUTES, RouteWorld
from transcripts.access import MAX_ID, parse_id
from transcripts.models import Attribute, AttributeValue

NUL = "a\x00b"  # sent in a pass of its own: the middleware refuses the whole request
ODD_VALUES = [
    "abc",
    "99999999999999999999999",
    str(2**63),
    "-1",
    "",
    "x" * 100_000,
    "Jose\u0301",
    "%",
    "a\u2028b\u2029c",
    "\u00b2",  # a digit to str.isdigit() that int() refuses
]

# Also sent one parameter at a time, the others left as a working request has them: an early
# refusal of one parameter must not hide what a later one does.
ALONE_VALUES = ["abc", str(2**63), "-1", "\u00b2"]

READS = re.compile(
    r"""request\.(?:GET|POST)(?:\.get|\.getlist)?\(\s*["'](\w+)["']"""
    r"""|request\.(?:GET|POST)\[["'](\w+)["']\]"""
    r"""|["'](\w+)["']\s+in\s+request\.(?:GET|POST)"""
)
URL_ATTRIBUTES = ("href", "action", "hx-get", "hx-post", "src")


def url_name(url: str) -> str | None:
    """The app's URL name a link or form action points to, or None for other sites and files."""
    path = urlsplit(url).path
    if not path.startswith("/"):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.url_name if match.url_name in ROUTES else None


def body_of(response) -> bytes:
    """The page's bytes, whether sent whole or streamed (the co-occurrence table streams)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


class ParameterFinder(HTMLParser):
    """Collect, per URL name, the parameter names a page's forms and links send there."""

    def __init__(self, page: str, found: dict[str, set[str]]) -> None:
        super().__init__()
        self.page = page
        self.found = found
        self.form_target: str | None = None

    def note(self, url: str | None, names) -> None:
        name = url_name(url) if url else None
        if name:
            self.found.setdefault(name, set()).update(n for n in names if n)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = {key: value or "" for key, value in attrs}
        for key in URL_ATTRIBUTES:
            if attrs.get(key):
                self.note(attrs[key], [k for k, _ in parse_qsl(urlsplit(attrs[key]).query, keep_blank_values=True)])
        target = attrs.get("hx-post") or attrs.get("hx-get") or None
        if tag == "form":
            self.form_target = attrs.get("action") or target or self.page
            target = self.form_target
        if attrs.get("hx-vals", "").startswith("{"):
            try:
                keys = list(json.loads(attrs["hx-vals"]))
            except ValueError:
                keys = []
            self.note(target or self.form_target or self.page, keys)
        if tag in ("input", "select", "textarea", "button") and attrs.get("name"):
            self.note(target or self.form_target or self.page, [attrs["name"]])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form_target = None


def names_read_by_views() -> dict[str, set[str]]:
    """Parameter names each view function reads from request.GET or request.POST by name."""
    found: dict[str, set[str]] = {}
    for pattern_name, callback in _callbacks().items():
        source = inspect.getsource(inspect.unwrap(callback))
        found[pattern_name] = {name for groups in READS.findall(source) for name in groups if name}
    return found


def _callbacks() -> dict:
    callbacks = {}

    def walk(patterns) -> None:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
            elif getattr(pattern, "name", None) in ROUTES:
                callbacks[pattern.name] = pattern.callback

    walk(get_resolver().url_patterns)
    return callbacks


def query_string(params: dict[str, str]) -> str:
    """Encode params, leaving a lone "%" raw so the server meets a broken escape."""
    return "&".join(f"{quote(key)}={'%' if value == '%' else quote(value)}" for key, value in params.items())


class OddInputTests(RouteWorld):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # bob codes a little more than alice did, so reconciliation has a disagreement to settle.
        make_excerpt(cls.transcript, [cls.code], start=0, end=20, by=cls.bob)
        # One attribute of each kind, so the review filters render their a<id>, _min and _max fields.
        for kind in Attribute.Kind.values:
            attribute = Attribute.objects.create(
                project=cls.project, name=f"{kind} attribute", kind=kind, choices=["peer", "staff"] if kind == "choice" else []
            )
            value, number, date = attribute.parse({"number": "3", "date": "2024-05-01"}.get(kind, "peer"))
            AttributeValue.objects.create(
                participant=cls.participant, attribute=attribute, value=value, number=number, date=date
            )

    def parameters(self) -> dict[str, set[str]]:
        """Every URL name's parameters, from the pages (read as a lead) and the views' source."""
        self.client.force_login(self.alice)
        found = names_read_by_views()
        for name, route in ROUTES.items():
            if route.get is None:
                continue
            page = reverse(name, args=route.args(self))
            for headers in ({}, {"HX-Request": "true"}):
                response = self.client.get(page, headers=headers)
                if response.get("Content-Type", "").startswith("text/html"):
                    ParameterFinder(page, found).feed(body_of(response).decode())
        return found

    def send(self, method: str, name: str, params: dict[str, str], failures: list[str]) -> None:
        route = ROUTES[name]
        path = reverse(name, args=route.args(self))
        try:
            with transaction.atomic():
                if method == "GET":
                    response = self.client.get(f"{path}?{query_string(params)}")
                else:
                    body = {key: value for key, value in route.data(self).items()}
                    body.update(params)
                    response = self.client.post(
                        f"{path}?{query_string(params)}",
                        query_string({key: str(value) for key, value in body.items()}),
                        content_type="application/x-www-form-urlencoded",
                        headers={"HX-Request": "true"},
                    )
                transaction.set_rollback(True)
        except Exception as error:  # a server error: note it and go on, to see every cause at once
            failures.append(f"{method} {name} {_shown(params)}: {type(error).__name__}: {str(error)[:200]}")
            return
        if response.status_code >= 500:
            failures.append(f"{method} {name} {_shown(params)}: status {response.status_code}")

    def walk(self, user, methods: tuple[str, ...], *, one_at_a_time: bool) -> list[str]:
        parameters = self.parameters()
        self.client.force_login(user)
        failures: list[str] = []
        for name, route in ROUTES.items():
            if route.public:
                continue
            names = sorted(parameters.get(name, set()) - {"csrfmiddlewaretoken"})
            for method in methods:
                if getattr(route, method.lower()) is None:
                    continue
                for turn in range(len(ODD_VALUES) if names else 1):
                    params = {key: ODD_VALUES[(turn + i) % len(ODD_VALUES)] for i, key in enumerate(names)}
                    self.send(method, name, params, failures)
                if names:
                    self.send(method, name, dict.fromkeys(names, NUL), failures)
                for key in names if one_at_a_time else ():
                    for value in ALONE_VALUES:
                        self.send(method, name, {key: value}, failures)
        return failures

    def test_a_lead_meets_no_server_error_in_any_form_or_query(self):
        failures = self.walk(self.alice, ("GET", "POST"), one_at_a_time=True)
        self.assertEqual(failures, [], "\n".join(failures))

    def test_a_reader_meets_no_server_error_on_any_page(self):
        failures = self.walk(self.rita, ("GET",), one_at_a_time=False)
        self.assertEqual(failures, [], "\n".join(failures))

    def test_the_walk_reaches_the_parameters_the_pages_send(self):
        parameters = self.parameters()
        assert {"start", "end", "new_code"} <= parameters["excerpt_create"]
        assert "application" in parameters["code_exemplar"]
        assert {"transcripts", "coders", "overlap", "seed"} <= parameters["assignment_list"]
        assert {"excerpts", "choice", "start", "end", "codes", "note"} <= parameters["reconcile_settle"]
        assert {"coder", "code", "focus"} <= parameters["transcript_detail"]
        for attribute in self.project.attributes.all():
            key = f"a{attribute.pk}" if attribute.kind in ("text", "choice") else f"a{attribute.pk}_min"
            assert key in parameters["review_summary"], attribute.kind


def _shown(params: dict[str, str]) -> str:
    return ", ".join(f"{key}={value[:12]!r}" for key, value in params.items())


class NumberAttributeTests(RouteWorld):
    def test_a_number_attribute_refuses_what_its_column_cannot_hold(self):
        years = Attribute.objects.create(project=self.project, name="Years", kind="number")
        assert years.parse("99999999999999.5")[1] == Decimal("99999999999999.5")
        for raw in ("100000000000000", "-9223372036854775808", "1e20"):
            with self.assertRaises(ValidationError):
                years.parse(raw)


def test_parse_id_takes_only_what_an_id_column_holds():
    assert [parse_id(raw) for raw in ("0", "42", " 7 ", str(MAX_ID))] == [0, 42, 7, MAX_ID]
    for raw in (None, "", "abc", "-1", "+1", "1.5", "\u00b2", "\u0661\u0662", str(MAX_ID + 1), "9" * 100_000):
        assert parse_id(raw) is None, raw
