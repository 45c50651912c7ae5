from django.http import HttpResponse
from django.shortcuts import render
from django_htmx.http import trigger_client_event


def csrf_failure(request, reason: str = "") -> HttpResponse:
    """A stale or missing form token: say so plainly, and never lose the page the user is on."""
    message = "This page is out of date (it was open for a long time, or you logged in again elsewhere). Reload it and try again."
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(message, status=403, content_type="text/plain")
        trigger_client_event(response, "notify", {"level": "error", "message": message})
        return response
    return render(request, "csrf_failure.html", {"message": message}, status=403)
