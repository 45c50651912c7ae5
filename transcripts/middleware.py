import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event
from django_otp import user_has_device

from .access import SecondFactorRequired


def refusal_notice(text: str, notice: str, *, status: int) -> HttpResponse:
    """What an htmx request gets instead of a page it may not have: `text`, and `notice` shown as
    an error message; the page keeps what the user typed or selected."""
    response = HttpResponse(text, status=status, content_type="text/plain")
    trigger_client_event(response, "notify", {"level": "error", "message": notice})
    return response


class HtmxAwareLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a login. An htmx request whose session has ended gets a 401 and a
    message instead of a login page swapped into part of the screen; the page keeps what the
    user typed or selected."""

    def handle_no_permission(self, request, view_func):
        if getattr(request, "htmx", False):
            return refusal_notice(
                "Your session has ended.",
                "Your session has ended. Log in again in a new tab, then retry: "
                "what you selected or typed here is still on the page.",
                status=401,
            )
        return super().handle_no_permission(request, view_func)


SESSION_STARTED_KEY = "peercoding_started"


def remember_login_time(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: note when this session began, for the absolute limit."""
    request.session[SESSION_STARTED_KEY] = int(time.time())


class AbsoluteSessionLimitMiddleware:
    """End any session older than SESSION_ABSOLUTE_HOURS, however active it has been.

    The idle limit (SESSION_COOKIE_AGE, refreshed on each request) ends quiet sessions; this one
    ends long-lived ones, so a forgotten browser on a shared machine does not stay logged in."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = int(time.time())
            elif time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


SESSION_SEEN_KEY = "peercoding_seen"
# The idle limit is counted from the last time the session was saved; saving it at most this
# often spares a database write on almost every request, at the cost of ending a quiet session
# up to this much before SESSION_IDLE_MINUTES is over.
SESSION_REFRESH_SECONDS = 60


def not_activity(view_func):
    """Mark a view the page calls by itself (polling): it does not keep an idle session alive."""
    view_func.session_activity = False
    return view_func


class IdleSessionMiddleware:
    """Keep the session of someone who is using the site alive; let a forgotten one expire.

    A request the user made refreshes the session's expiry (SESSION_COOKIE_AGE) when it was last
    refreshed a minute or more ago. Requests a page makes by itself, such as the coding page
    polling for other coders' work, do not, so a browser left open still logs out."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not getattr(view_func, "session_activity", True):
            return None
        now = int(time.time())
        if now - request.session.get(SESSION_SEEN_KEY, 0) >= SESSION_REFRESH_SECONDS:
            request.session[SESSION_SEEN_KEY] = now  # marks the session modified: saved, expiry renewed
        return None


SECOND_FACTOR_KEY = "peercoding_has_second_factor"


def remember_second_factor(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: note whether this user must enter a code before using the site,
    so that requests of users without a device cost no query."""
    if request is not None and hasattr(request, "session"):
        request.session[SECOND_FACTOR_KEY] = user_has_device(user)


def second_factor_not_required(view_func):
    """Mark a view that a logged-in user may reach before entering their code (the code step
    itself, logging out)."""
    view_func.second_factor_required = False
    return view_func


class SecondFactorMiddleware:
    """The second step of logging in, and projects that require it of their leads.

    A user with a confirmed device who has given only their password is sent to the code step
    for every page (htmx requests get a 401). A lead of a project that requires a second factor
    and has not logged in with one is sent to the set-up page (access.SecondFactorRequired)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        if not getattr(view_func, "second_factor_required", True):
            return None
        user = request.user
        if not user.is_authenticated or getattr(user, "is_verified", lambda: False)():
            return None
        if not request.session.get(SECOND_FACTOR_KEY, False):
            return None
        if getattr(request, "htmx", False):
            return refusal_notice(
                "Enter the code from your authenticator app.",
                "Enter the code from your authenticator app in a new tab, then retry: "
                "what you selected or typed here is still on the page.",
                status=401,
            )
        return redirect_to_login(request.get_full_path(), reverse("login_verify"))

    def process_exception(self, request, exception):
        if not isinstance(exception, SecondFactorRequired):
            return None
        messages.warning(request, "This project requires a second factor for leads. Set one up to continue.")
        url = reverse("two_factor")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)


class NoStoreMiddleware:
    """Tell browsers and proxies to keep no copy of anything a signed-in user is shown.

    Interview text, reports, the audit trail and downloads must not stay in the cache of a
    browser on a shared computer after its user has logged out. A view may say otherwise for a
    response that holds none of that (`response.may_be_stored = True`: the codes' colours)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not getattr(response, "may_be_stored", False):
            add_never_cache_headers(response)
        return response


UNSTORABLE_TEXT_MESSAGE = (
    "The text you sent contains a NUL character (U+0000), which cannot be stored. It usually comes "
    "from copying out of another program; remove it (or retype the text) and try again."
)


class UnstorableTextMiddleware:
    """Refuse a request whose path, query string or form holds a NUL character.

    PostgreSQL cannot store NUL in text or JSON, and SQLite can, so a NUL saved on SQLite would
    stop the site's data moving to PostgreSQL; on PostgreSQL it is a server error. Django's form
    fields refuse NUL already, but many views read request.GET and request.POST directly, so the
    check is made here, once, for every view. Lone surrogates, the other text PostgreSQL refuses,
    cannot arrive: Django decodes paths, query strings and forms with replacement characters."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not _holds_nul(request):
            return None
        if getattr(request, "htmx", False):
            return refusal_notice(UNSTORABLE_TEXT_MESSAGE, UNSTORABLE_TEXT_MESSAGE, status=400)
        return render(request, "unstorable_text.html", {"message": UNSTORABLE_TEXT_MESSAGE}, status=400)


def _holds_nul(request) -> bool:
    if "\x00" in request.path_info:
        return True
    # Uploaded file names need no check: Django keeps only their printable characters.
    texts = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    return any("\x00" in key or any("\x00" in value for value in values) for data in texts for key, values in data.lists())
