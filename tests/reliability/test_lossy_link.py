"""The lossy link the loss tests run on (tests/support/netns.py): it drops the share of UDP
it is told to in each direction, and leaves nothing behind, even when a test fails."""

from __future__ import annotations

import socket
import subprocess

import pytest

from support.netns import SERVER_IP, lossy_link

SENT = 1000
_SO_RCVBUFFORCE = 33  # Linux (root): a buffer above rmem_max; not in `socket`


def _arrived(receiver: socket.socket) -> list[bytes]:
    got = []
    receiver.settimeout(0.5)
    try:
        while True:
            got.append(receiver.recv(64))
    except TimeoutError:
        return got


@pytest.mark.parametrize("percent", [0, 20])
def test_the_link_drops_the_share_it_is_told_each_way(percent: int) -> None:
    with lossy_link(percent) as link:
        server = link.server.socket(socket.SOCK_DGRAM)
        relay = link.relay.socket(socket.SOCK_DGRAM)
        with server, relay:
            for end in (server, relay):  # room for all of them, read only after
                end.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 1 << 23)
            server.bind((SERVER_IP, 5100))
            relay.connect((SERVER_IP, 5100))
            for n in range(SENT):
                relay.send(b"%d" % n)
            requests = _arrived(server)
            for datagram in requests:
                server.sendto(datagram, relay.getsockname())
            replies = _arrived(relay)
        counters = link.counters()
    # 20 % of 1000 at random: 200 dropped, give or take 4.5 standard deviations (57).
    slack = 57 if percent else 0
    assert abs(SENT - len(requests) - SENT * percent / 100) <= slack
    assert abs(len(requests) - len(replies) - len(requests) * percent / 100) <= slack
    assert (counters.requests, counters.requests_dropped) == (SENT, SENT - len(requests))
    assert counters.replies_dropped == len(requests) - len(replies)


def test_nothing_is_left_behind_when_a_test_fails() -> None:
    with pytest.raises(RuntimeError), lossy_link(20) as link:
        sleeper = subprocess.Popen(link.server.command("sleep", "600"))
        raise RuntimeError("a test failed here")
    assert not link.server.path.exists()
    assert not link.relay.path.exists()
    assert sleeper.wait(10) != 0  # stopped with the namespace, not left running
