import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def client_address(request: HttpRequest) -> str | None:
    """The address of whoever sent the request, as the nearest of TRUSTED_PROXY_COUNT proxies saw it.

    Each proxy appends the address it received the request from to X-Forwarded-For, so with n
    trusted proxies in front the client is the n-th entry from the right; entries further left
    were written by the client and may be anything. django-axes counts failed logins by it.
    """
    remote = request.META.get("REMOTE_ADDR")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted == 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if not hops:
        return remote  # not through the proxy (a health check on the loopback address)
    # Fewer entries than proxies: every entry was still written by a trusted proxy.
    candidate = hops[-min(trusted, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def safe_redirect_target(request: HttpRequest, target: str | None, fallback: str) -> str:
    """`target` if it is a path on this site, else `fallback` (a URL or URL name) resolved.

    Targets come from the request (`next`, `back`), so they are checked the way Django's login
    view checks its own: no other host, no scheme change, no `/\\host` that browsers read as
    `//host`. Relative paths ("abc") are refused too: every page links with absolute paths.
    """
    target = target or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(fallback)
