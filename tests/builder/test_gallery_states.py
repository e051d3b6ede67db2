"""The state gallery shows what users would see: each made-up error reply is exactly the
relay's reply for that code (status and body), so a reply can no longer drift from the
registry the relay answers with."""

from __future__ import annotations

import json

import pytest

from pwreset.api.problems import ProblemError, problem_response
from pwreset.builder.gallery_states import page_states

PAGES = ["index", "enroll", "reset", "unlock", "change", "error"]


@pytest.mark.parametrize("domains", [[], ["EXAMPLE"]])
def test_every_error_reply_is_the_relays_reply_for_its_code(domains: list[str]) -> None:
    checked = 0
    for page in PAGES:
        for state in page_states(page, domains, ["enroll", "reset", "unlock", "change"]):
            for reply in (r for replies in state.replies.values() for r in replies):
                if reply.get("status", 200) < 400:
                    continue
                body = reply["body"]
                error = ProblemError(body["code"], body["detail"], params=body["params"])
                relay = problem_response(error)
                assert (reply["status"], body) == (relay.status_code, json.loads(relay.body))
                checked += 1
    assert checked > 40


def test_a_locked_out_reply_is_423_as_the_relay_sends_it() -> None:
    """The gallery sent 403 for locked_out while the relay sends 423."""
    state = next(s for s in page_states("reset", [], ["reset"]) if s.name == "RES_LOCKED_OUT")
    reply = state.replies["POST reset/step"][-1]
    assert reply["status"] == 423
    assert reply["body"]["message"] == "RES_LOCKED_OUT"
