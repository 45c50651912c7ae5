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
