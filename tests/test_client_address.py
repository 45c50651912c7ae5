"""Login throttling behind the reverse proxy: lockouts count the address the proxy saw."""

from django.conf import settings
from django.test import RequestFactory, SimpleTestCase, override_settings
from django.urls import reverse

from tests.base import PASSWORD, BaseTestCase
from transcripts.http import client_address

ATTACKER = "198.51.100.9"
NEIGHBOUR = "203.0.113.5"


class ClientAddressTests(SimpleTestCase):
    def address(self, forwarded: str | None, trusted: int) -> str | None:
        headers = {"REMOTE_ADDR": "127.0.0.1"}
        if forwarded is not None:
            headers["HTTP_X_FORWARDED_FOR"] = forwarded
        with override_settings(TRUSTED_PROXY_COUNT=trusted):
            return client_address(RequestFactory().get("/", **headers))

    def test_it_takes_the_entry_the_nearest_trusted_proxy_wrote(self):
        assert self.address(ATTACKER, 1) == ATTACKER
        assert self.address(f"{NEIGHBOUR}, {ATTACKER}", 1) == ATTACKER
        assert self.address(f"10.9.9.9, {NEIGHBOUR}, {ATTACKER}, 10.0.0.2", 2) == ATTACKER
        assert self.address(f"{ATTACKER}", 2) == ATTACKER  # the outer proxy was the client's first hop
        assert self.address(f"{ATTACKER},,", 1) == ATTACKER
        assert self.address(" 2001:db8::7 ", 1) == "2001:db8::7"

    def test_it_falls_back_to_the_connection_when_the_header_is_missing_or_not_an_address(self):
        assert self.address(None, 1) == "127.0.0.1"
        assert self.address("", 1) == "127.0.0.1"
        assert self.address(f"{NEIGHBOUR}, not-an-address", 1) == "127.0.0.1"

    def test_without_a_trusted_proxy_the_header_is_ignored(self):
        assert self.address(NEIGHBOUR, 0) == "127.0.0.1"


@override_settings(TRUSTED_PROXY_COUNT=1)
class ProxiedLoginThrottlingTests(BaseTestCase):
    """Every request arrives from the proxy on 127.0.0.1, as in README's deployment."""

    def login(self, username: str, password: str, forwarded: str):
        return self.client.post(
            reverse("login"),
            {"username": username, "password": password},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    def guess_from(self, forwarded_values: list[str]) -> list[int]:
        # A new user name each time: only the address's count can reach the limit.
        return [self.login(f"guess{n}", "wrong guess", forwarded).status_code for n, forwarded in enumerate(forwarded_values)]

    def test_failures_from_one_address_lock_out_only_that_address(self):
        limit = settings.AXES_FAILURE_LIMIT
        statuses = self.guess_from([ATTACKER] * limit)
        assert statuses == [200] * (limit - 1) + [429]
        assert self.login("bob", PASSWORD, ATTACKER).status_code == 429
        response = self.login("bob", PASSWORD, NEIGHBOUR)
        self.assertRedirects(response, reverse("project_list"))

    def test_a_client_cannot_choose_its_address_with_the_left_of_the_header(self):
        limit = settings.AXES_FAILURE_LIMIT
        # The client writes whatever it likes; the proxy appends the address it really came from.
        spoofed = [f"192.0.2.{n}, {ATTACKER}" for n in range(limit)]
        statuses = self.guess_from(spoofed)
        assert statuses == [200] * (limit - 1) + [429]
        assert self.login("rita", PASSWORD, f"{NEIGHBOUR}, {ATTACKER}").status_code == 429
        # Nor can it lock a neighbour out by writing the neighbour's address.
        self.client.logout()
        response = self.login("bob", PASSWORD, NEIGHBOUR)
        self.assertRedirects(response, reverse("project_list"))
