"""Schemathesis against the real stack (`pwreset web` + `pwreset server` + slapd), bounded:
every operation with valid and invalid data, then stateful start -> step sequences along
the document's links. Zero 5xx, every reply as documented, every error a problem+json
with a documented code. The full run (>= 10,000 requests) is bench/fuzz_api.py."""

from __future__ import annotations

import os

import pytest

from pwreset.api.openapi import document

from support.api_fuzz import fuzz, fuzz_stack

OPERATIONS = sum(len(item) for item in document()["paths"].values())
REQUESTS = int(os.environ.get("PWRESET_FUZZ_API_REQUESTS", "400"))


@pytest.mark.slapd
@pytest.mark.slow
def test_fuzzing_the_relay_finds_no_failure(slapd_lab, slapd_admin, tmp_path):
    with fuzz_stack(tmp_path, slapd_lab, slapd_admin) as target:
        run = fuzz(target, REQUESTS)
    assert run.total >= REQUESTS
    assert not run.failures, "\n\n".join(run.failures.values())
    assert not [status for status in run.statuses if status >= 500], run.statuses
    # Every operation was exercised, and steps were taken on real flow tokens.
    assert len(run.requests) == OPERATIONS, run.requests
    answered = ("wrong_answer", "step:code", "wrong_code", "step:password", "locked_out")
    assert sum(run.codes[code] for code in answered) > 0, run.codes
