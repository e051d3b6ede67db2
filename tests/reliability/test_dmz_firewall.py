"""The DMZ topology behind the original product's firewall table (issue 12): the relay and
its pages in a "dmz" namespace, the server with what it needs (directory, mail) in an
"internal" one, and between them only UDP from the relay to the server's port 5100 and
its replies. A user's flow works through it; the DMZ reaches nothing else inside."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from pwreset_lab import SlapdAdmin

from support.dmz import SERVER_PORT, DmzStack, dmz_stack, reset_a_new_user
from support.netns import SERVER_IP, Namespace

pytestmark = [pytest.mark.slapd]

# Long enough for a SYN to be answered across the cable, many times over.
_CONNECT_WAIT = 0.5
_OTHER_UDP_PORT = SERVER_PORT + 1


@pytest.fixture(scope="module")
def dmz(slapd_lab: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DmzStack]:
    root = tmp_path_factory.mktemp("dmz-firewall")
    admin = SlapdAdmin(slapd_lab)
    with dmz_stack("openldap", slapd_lab, admin, root, loss=0, firewall=True, pages=True) as stack:
        yield stack


def _connects(side: Namespace, port: int) -> bool:
    with side.socket(socket.SOCK_STREAM) as sock:
        sock.settimeout(_CONNECT_WAIT)
        return sock.connect_ex((SERVER_IP, port)) == 0


def _udp_arrives(dmz: DmzStack, port: int) -> bool:
    with dmz.link.server.socket(socket.SOCK_DGRAM) as inside:
        inside.bind((SERVER_IP, port))
        inside.settimeout(_CONNECT_WAIT)
        with dmz.link.relay.socket(socket.SOCK_DGRAM) as outside:
            outside.sendto(b"anyone there?", (SERVER_IP, port))
        try:
            return inside.recv(64) == b"anyone there?"
        except TimeoutError:
            return False


def test_the_dmz_reaches_neither_the_directory_nor_mail(dmz: DmzStack) -> None:
    directory = urlsplit(dmz.flows.config.domains[0].urls[0]).port
    assert directory is not None
    for port in (directory, dmz.flows.smtp.port):
        # Open on the internal side's address (the server uses them)...
        assert _connects(dmz.link.server, port)
        # ...and out of the DMZ's reach.
        assert not _connects(dmz.link.relay, port)
    assert not _udp_arrives(dmz, _OTHER_UDP_PORT)


def test_a_reset_works_through_the_firewall(dmz: DmzStack) -> None:
    stack = dmz.flows
    page = stack.relay.get("/pwreset/")
    assert page.status_code == 200 and "<html" in page.text, page.text[:200]
    reset_a_new_user(stack, "d")
