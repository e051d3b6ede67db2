"""An authenticator app and recovery codes as a user has them, for the flow and browser
tests: the app computes its codes with cryptography's TOTP from the secret the enroll page
showed, at the time of the stack's clock."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from support.flowstack import PASSWORD, FlowStack
from support.stacks import secret as used_secret

PERIOD = 30


def app_code(secret: str, at: float) -> str:
    """The code an authenticator app holding `secret` (as shown, spaces and all) shows at
    `at`."""
    key = base64.b32decode(secret.replace(" ", ""))
    return used_secret(TOTP(key, 6, SHA1(), PERIOD).generate(at).decode())


def next_step(stack: FlowStack) -> None:
    """Move the stack's clock to one second into the next 30-second step: a test then has
    29 seconds before the app's code changes under it."""
    stack.clock.advance(PERIOD - stack.clock() % PERIOD + 1)


def session(stack: FlowStack, user: str, password: str = PASSWORD) -> str:
    """An enroll session's token (the password proven)."""
    reply = stack.post(
        "enroll/start", {"domain": stack.domain, "username": user, "password": password}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["enroll"])


def act(stack: FlowStack, token: str, action: str, **fields: Any) -> Any:
    return stack.post("enroll/factor", {"enroll": token, "action": action, **fields})


def enroll_totp(stack: FlowStack, user: str) -> str:
    """Set up an authenticator app for `user`; its secret. The clock then moves to the next
    step (see next_step), as a user would only reset some time later."""
    token = session(stack, user)
    begun = act(stack, token, "totp.begin")
    assert begun.status_code == 200, begun.text
    shown = used_secret(begun.json()["secret"])
    code = app_code(shown, stack.clock())
    confirmed = act(stack, token, "totp.confirm", pending=begun.json()["pending"], code=code)
    assert confirmed.status_code == 200, confirmed.text
    next_step(stack)
    return shown


def generate_codes(stack: FlowStack, user: str) -> list[str]:
    reply = act(stack, session(stack, user), "recovery_code.generate")
    assert reply.status_code == 200, reply.text
    return [used_secret(code) for code in reply.json()["codes"]]
