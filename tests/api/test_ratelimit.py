"""Per-address limits on requests that reach the backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.api.ratelimit import RateLimiter
from pwreset.config import load_config

from support.backend import Backend, start_backend
from support.contract import check_replies

SITES = """
[web]
server = "127.0.0.1:{port}"
rate_limit = 3

[sites.hr]
domains = ["EXAMPLE"]
"""

BODY = {"domain": "OTHER", "username": "a", "old_password": "b", "new_password": "c"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window():
    clock = FakeClock()
    limiter = RateLimiter(2, window=60, clock=clock)
    assert limiter.allow("a") and limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")  # another address has its own count
    assert limiter.retry_after("a") == 61
    clock.now += 60
    assert limiter.allow("a")


def test_ipv6_is_counted_per_64_and_ipv4_per_address():
    """security review 8: a /64 is one client's, so it is one bucket."""
    limiter = RateLimiter(2, window=60, clock=FakeClock())
    assert limiter.allow("2001:db8:a:b::1") and limiter.allow("2001:db8:a:b:ffff::9")
    assert not limiter.allow("2001:db8:a:b::2")
    assert limiter.allow("2001:db8:a:c::1")
    assert limiter.allow("192.0.2.1") and limiter.allow("192.0.2.1")
    assert limiter.allow("192.0.2.2")  # IPv4: a neighbour is someone else


def test_zero_means_no_limit():
    limiter = RateLimiter(0)
    assert all(limiter.allow("a") for _ in range(1000))


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("limits"), SITES)
    yield server
    server.stop()


def test_the_relay_answers_429_with_retry_after(backend):
    app = create_app(RelaySettings.from_config(load_config(backend.folder / "pwreset.toml")))
    with (
        TestClient(app, client=("192.0.2.1", 5000)) as one,
        TestClient(app, client=("192.0.2.2", 5000)) as other,
    ):
        check_replies(one)
        check_replies(other)
        for _ in range(3):
            assert one.post("/hr/api/v1/change", json=BODY).json()["code"] == "unknown_domain"
        reply = one.post("/hr/api/v1/change", json=BODY)
        assert reply.status_code == 429
        body = reply.json()
        assert (body["code"], body["message"]) == ("rate_limited", "RES_RATE_LIMITED")
        assert int(reply.headers["retry-after"]) >= 1
        assert other.post("/hr/api/v1/change", json=BODY).json()["code"] == "unknown_domain"
        # Reading the site's description is not limited.
        assert one.get("/hr/api/v1/meta").status_code == 200
