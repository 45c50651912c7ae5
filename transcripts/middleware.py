from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponse
from django_htmx.http import trigger_client_event


class HtmxAwareLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a login. An htmx request whose session has ended gets a 401 and a
    message instead of a login page swapped into part of the screen; the page keeps what the
    user typed or selected."""

    def handle_no_permission(self, request, view_func):
        if getattr(request, "htmx", False):
            response = HttpResponse("Your session has ended.", status=401, content_type="text/plain")
            trigger_client_event(
                response,
                "notify",
                {
                    "level": "error",
                    "message": "Your session has ended. Log in again in a new tab, then retry: "
                    "what you selected or typed here is still on the page.",
                },
            )
            return response
        return super().handle_no_permission(request, view_func)


SESSION_STARTED_KEY = "peercoding_started"


def remember_login_time(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: note when this session began, for the absolute limit."""
    import time

    request.session[SESSION_STARTED_KEY] = int(time.time())


class AbsoluteSessionLimitMiddleware:
    """End any session older than SESSION_ABSOLUTE_HOURS, however active it has been.

    The idle limit (SESSION_COOKIE_AGE, refreshed on each request) ends quiet sessions; this one
    ends long-lived ones, so a forgotten browser on a shared machine does not stay logged in."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        import time

        from django.conf import settings
        from django.contrib.auth import logout

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = int(time.time())
            elif time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)
