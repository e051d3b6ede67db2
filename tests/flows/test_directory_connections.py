"""The backend lets go of every directory connection it opened: ldap3's ServerPool kept
each one (and the password it bound with) for the life of the process, so memory grew
with every request (found by the datagram fuzzer's memory check, issue 9)."""

from __future__ import annotations

import gc

import ldap3

from pwreset.protocol.sealing import open_reply

from support.flowstack import PASSWORD

ROUNDS = 25


def _live_connections() -> list[ldap3.Connection]:
    gc.collect()
    return [obj for obj in gc.get_objects() if isinstance(obj, ldap3.Connection)]


def test_directory_connections_do_not_pile_up(flows, user):
    stack = flows()
    body = {"domain": stack.domain, "username": user, "old_password": "Wrong!Passw0rd-9",
            "new_password": "Changed!Passw0rd-4"}  # fmt: skip
    before = len(_live_connections())
    for _ in range(ROUNDS):
        # Straight to the backend (the relay's rate limits would stop the test first).
        # Each change opens a service connection and a bind as the user.
        datagram, reply_key = stack.seal("change", body)
        reply = open_reply(stack.send_datagram(datagram), reply_key)
        assert reply.failure is not None and reply.failure.code == "wrong_password"
    live = _live_connections()
    assert len(live) - before < 5, f"{len(live) - before} connections kept after {ROUNDS} rounds"
    # No connection holding a user's password outlives its request.
    assert not [c for c in live if c.password in ("Wrong!Passw0rd-9", PASSWORD)]
