"""Can an attacker tell unknown, unenrolled and enrolled users apart? What `bench/enumeration.py`
and `tests/flows/test_enumeration.py` measure through the real relay: the sequence of
replies through pwreset's lockout, and the timing of `start` and of a wrong answer
(two-sample Kolmogorov-Smirnov test), and of every step of the strong factors (issue 14)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from support.authenticator import SoftAuthenticator
from support.flowstack import PASSWORD, FlowStack
from support.totp_app import act, enroll_totp, generate_codes, session

CLASSES = ("unknown", "unenrolled", "enrolled")
# c(alpha) of the two-sample Kolmogorov-Smirnov test at alpha = 0.01.
KS_C_001 = 1.628


def population(stack: FlowStack, base: str) -> dict[str, str]:
    """One name per class: nobody by that name, a directory user who never enrolled, and
    an enrolled user."""
    unenrolled, enrolled = f"{base}u", f"{base}e"
    stack.admin.create_user(unenrolled, PASSWORD)
    stack.admin.create_user(enrolled, PASSWORD)
    assert stack.enroll(enrolled).status_code == 200
    return {"unknown": f"{base}n", "unenrolled": unenrolled, "enrolled": enrolled}


def _seen(reply: Any) -> tuple[Any, ...]:
    """What the attacker compares: status, error code, step kind and counters."""
    body = reply.json()
    step = body.get("step") or {}
    return (reply.status_code, body.get("code"), step.get("kind"), step.get("total"))


def reply_sequence(
    stack: FlowStack, name: str, tries: int, *, same: bool = False
) -> list[tuple[Any, ...]]:
    """`tries` wrong answers in one flow, each different (or, `same`, one answer again and
    again), waiting out each slowdown (by the test clock), then a new start: every reply as
    the attacker sees it."""
    seen = []
    start = stack.start("reset", name)
    seen.append(_seen(start))
    token = start.json().get("flow", "")
    for number in range(tries):
        answer = "a wrong answer" if same else f"wrong answer {number}"
        reply = stack.step("reset", token, answer=answer)
        seen.append(_seen(reply))
        if reply.status_code == 429:
            stack.clock.advance(float(reply.json()["params"]["retry_after"]))
            seen.append(_seen(stack.step("reset", token, answer=answer)))
    seen.append(_seen(stack.start("reset", name)))
    return seen


@dataclass
class Timings:
    start: dict[str, list[float]]
    wrong: dict[str, list[float]]


def timings(stack: FlowStack, names: dict[str, str], samples: int) -> Timings:
    """`samples` rounds; each times a start and a wrong answer for every class, in turn,
    then moves the clock past the lockout box so no count carries over."""
    box = stack.config.security.lockout_minutes * 60.0 + 1
    out = Timings({c: [] for c in names}, {c: [] for c in names})
    for round_ in range(samples):
        # Rotate the order, so no class is always measured right after another.
        order = list(names)[round_ % len(names) :] + list(names)[: round_ % len(names)]
        for cls in order:
            began = time.perf_counter()
            reply = stack.start("reset", names[cls])
            out.start[cls].append(time.perf_counter() - began)
            assert reply.status_code == 200, reply.text
            token = reply.json()["flow"]
            began = time.perf_counter()
            reply = stack.step("reset", token, answer="a wrong answer")
            out.wrong[cls].append(time.perf_counter() - began)
            assert reply.status_code == 401, reply.text
        stack.clock.advance(box)
    return out


def ks_statistic(a: list[float], b: list[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two
    empirical distribution functions."""
    xs, ys = sorted(a), sorted(b)
    i = j = 0
    gap = 0.0
    while i < len(xs) and j < len(ys):
        value = min(xs[i], ys[j])
        while i < len(xs) and xs[i] == value:
            i += 1
        while j < len(ys) and ys[j] == value:
            j += 1
        gap = max(gap, abs(i / len(xs) - j / len(ys)))
    return gap


def ks_critical(n: int, m: int, c: float = KS_C_001) -> float:
    return c * math.sqrt((n + m) / (n * m))


def comparisons(
    measured: Timings | Mapping[str, Mapping[str, list[float]]],
) -> dict[str, tuple[float, float]]:
    """name -> (KS statistic, critical value at alpha = 0.01), enrolled against the others,
    for each step measured (a step's samples by class)."""
    steps = (
        {"start": measured.start, "wrong": measured.wrong}
        if isinstance(measured, Timings)
        else measured
    )
    out = {}
    for step, by_class in steps.items():
        for other in ("unknown", "unenrolled"):
            a, b = by_class[other], by_class["enrolled"]
            critical = ks_critical(len(a), len(b))
            out[f"ks_{step}_{other}_vs_enrolled"] = (ks_statistic(a, b), critical)
    return out


# --- the factors of issue 14 ---------------------------------------------------------------

FACTOR_KINDS = ("totp", "recovery_code", "passkey")
PASSKEY_ORIGIN = "https://pw.example.org"
# A site offering every strong factor (the one-time code off: it needs a mail server); the
# enrolled user of the population holds all of them.
FACTOR_SETTINGS: dict[str, Any] = {
    "sites": {"pwreset": {"passkey_rp_id": "example.org", "passkey_origins": [PASSKEY_ORIGIN]}},
    "factors": {"threshold": 2, "weights": {"code": 0}},
}


def enroll_every_factor(stack: FlowStack, name: str) -> None:
    """Questions, an authenticator app, recovery codes and a passkey for `name`."""
    assert stack.enroll(name).status_code == 200
    enroll_totp(stack, name)
    generate_codes(stack, name)
    token = session(stack, name)
    begun = act(stack, token, "passkey.begin")
    assert begun.status_code == 200, begun.text
    credential = SoftAuthenticator(PASSKEY_ORIGIN).create(begun.json()["options"])
    added = act(stack, token, "passkey.finish", credential=credential, name="Phone")
    assert added.status_code == 200, added.text


def factor_timings(
    stack: FlowStack, names: dict[str, str], samples: int
) -> dict[str, dict[str, list[float]]]:
    """`samples` rounds per factor kind, one kind a round in turn; each round, for every
    class: a start, then timed, choosing the kind and a wrong proof of it (a code nobody
    was given, a passkey that is nobody's), then the clock moves past the lockout box.
    Step name -> class -> seconds."""
    box = stack.config.security.lockout_minutes * 60.0 + 1
    stranger = SoftAuthenticator(PASSKEY_ORIGIN)
    stranger.create({"rp": {"id": "example.org"}, "user": {"id": "c3RyYW5nZXI"},
                     "challenge": "AA"})  # fmt: skip
    out: dict[str, dict[str, list[float]]] = {
        f"{what}_{kind}": {c: [] for c in names}
        for kind in FACTOR_KINDS
        for what in ("choose", "wrong")
    }
    for round_ in range(samples * len(FACTOR_KINDS)):
        kind = FACTOR_KINDS[round_ % len(FACTOR_KINDS)]
        turn = round_ // len(FACTOR_KINDS)
        order = list(names)[turn % len(names) :] + list(names)[: turn % len(names)]
        for cls in order:
            started = stack.start("reset", names[cls])
            assert started.status_code == 200, started.text
            began = time.perf_counter()
            chosen = stack.step("reset", started.json()["flow"], factor=kind)
            out[f"choose_{kind}"][cls].append(time.perf_counter() - began)
            assert chosen.json()["step"]["kind"] == kind, chosen.text
            token = chosen.json()["flow"]
            if kind == "passkey":
                proof = {"credential": stranger.get(chosen.json()["step"]["options"])}
            else:
                proof = {"code": "123456" if kind == "totp" else "ABCDE-FGHJK"}
            began = time.perf_counter()
            reply = stack.post("reset/step", {"flow": token, **proof})
            out[f"wrong_{kind}"][cls].append(time.perf_counter() - began)
            assert reply.status_code == 401, reply.text
        stack.clock.advance(box)
    return out
