"""The DMZ topologies beyond one relay and one server (issue 12), in namespaces behind the
original product's firewall table: two relays with different sites on one server, and one
relay whose two sites map to two servers. A user's flow works on every site, each relay
offers only its own, and each site's flow lands on its own server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pwreset_lab import SlapdAdmin

from support.dmz import SERVER_PORT, reset_a_new_user
from support.netns import refused
from support.topologies import (
    SERVER_ADDRESSES,
    Topology,
    relays_on_one_server,
    sites_on_two_servers,
)

pytestmark = [pytest.mark.slapd]

SITES = ("hr", "it")


@pytest.fixture(scope="module")
def two_relays(slapd_lab: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("two-relays")
    with relays_on_one_server("openldap", slapd_lab, SlapdAdmin(slapd_lab), root, SITES) as run:
        yield run


@pytest.fixture(scope="module")
def two_servers(slapd_lab: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("two-servers")
    with sites_on_two_servers("openldap", slapd_lab, SlapdAdmin(slapd_lab), root, SITES) as run:
        yield run


def _sent_from(run: Topology, host: int) -> int:
    """Datagrams the firewall refused while DMZ host `host` sent one to the server's port."""
    before = refused(run.server)
    with run.hosts[host].socket(socket.SOCK_DGRAM) as sock:
        sock.sendto(b"anyone there?", (SERVER_ADDRESSES[0], SERVER_PORT))
    return refused(run.server) - before


@pytest.mark.parametrize("site", SITES)
def test_each_relay_serves_its_site_and_a_reset_works_through_it(
    two_relays: Topology, site: str
) -> None:
    stack = two_relays.sites[site]
    page = stack.relay.get(f"/{site}/")
    assert page.status_code == 200 and "<html" in page.text, page.text[:200]
    reset_a_new_user(stack, stack.site)


@pytest.mark.parametrize("site", SITES)
def test_a_relay_refuses_the_other_relays_site(two_relays: Topology, site: str) -> None:
    other = next(s for s in SITES if s != site)
    stack = two_relays.sites[site]
    reply = stack.post("reset/start", {"domain": stack.domain, "username": "anyone"}, other)
    assert reply.status_code == 404, reply.text
    assert reply.json()["code"] == "unknown_site", reply.text
    assert stack.relay.get(f"/{other}/").status_code == 404


def test_the_firewall_lets_each_relay_address_through_and_no_other(two_relays: Topology) -> None:
    # Both relay hosts reach the server's port: nothing they send is refused...
    assert [_sent_from(two_relays, host) for host in range(len(SITES))] == [0, 0]
    # ...while a third DMZ address, with no rule pair, is.
    assert _sent_from(two_relays, len(SITES)) == 1


def test_each_site_lands_on_its_own_server(two_servers: Topology) -> None:
    users = {site: reset_a_new_user(stack, stack.site) for site, stack in two_servers.sites.items()}
    for site, stack in two_servers.sites.items():
        stored = {row.user for row in stack.audit()}
        assert users[site] in stored
        assert not stored & {user for other, user in users.items() if other != site}
