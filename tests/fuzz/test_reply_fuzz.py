"""Reply fuzzing at the relay's parser (issue 9), bounded for the suite; the full run is
`bench/fuzz_wire.py`. The listener of one exchange gets forgeries and junk around (or
instead of) the server's reply: mutations of the sealed reply, replies of other exchanges
or under a guessed key, random bytes, and the right key around fuzzed JSON."""

from __future__ import annotations

from support.wire_fuzz import ReplyTarget, fuzz_replies

DATAGRAMS = 4000  # ~6 s


def test_fuzzed_replies_never_raise_and_never_pass_for_the_servers():
    target = ReplyTarget()
    try:
        fuzz_replies(target, DATAGRAMS)
    finally:
        target.close()
    assert target.violations == []
    assert target.datagrams >= DATAGRAMS
    # The genuine reply (or a well-formed one under the right key) ended many exchanges,
    # and every kind of forgery was tried.
    assert target.opened > DATAGRAMS // 20
    assert {
        "reply_bit_flip",
        "reply_structured",
        "reply_forged_key",
        "reply_other_exchange",
        "reply_truncated",
        "reply_key_id_swap",
    } <= set(target.kinds)
