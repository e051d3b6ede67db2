"""Schemathesis against the relay as admins run it: `pwreset web` (a real uvicorn process)
in front of a real `pwreset server` on the OpenLDAP lab, with an SMTP server for the codes.

Every operation of the relay's own OpenAPI document is fuzzed with generated valid and
invalid requests, then stateful sequences follow the document's links (start -> step ->
step). Some generated bodies are pointed at a real enrolled user (and right answers), so
the sequences reach real questions, codes, lockouts and resets. Each reply must pass
schemathesis's checks and the suite's own contract check (support.contract): no 5xx, a
documented status, content type, headers and body, and every error a problem+json with a
code the document lists for that operation.

Used by tests/api/test_fuzz_api.py (bounded) and bench/fuzz_api.py (the full run).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support.contract import reply_errors
from support.smtp import SmtpServer
from support.stacks import start_stack
from support.web import run_web

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Invalid data is refused with 400, 404 (no such site) or 413 (too large), nothing else.
_CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": ["400", "404", "413"]}}}
)
SITE = "fuzz"
PASSWORD = "Fuzz!Passw0rd-1"
QUESTIONS = ["What was the name of your first pet?", "In which town did you grow up?"]
ANSWERS = ["Rex the dog", "Springfield"]


@dataclass
class FuzzRun:
    """What one run saw: requests per operation, statuses, failures (deduplicated)."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    progress: Callable[[int], None] | None = None

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def failure(self, key: str, text: str) -> None:
        self.failures.setdefault(key, text)


@dataclass
class FuzzStack:
    url: str
    domain: str
    user: str
    schema_url: str
    smtp: SmtpServer
    # The step each flow token seen in a reply is at, to answer it.
    steps: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def last_code(self) -> str | None:
        """The code of the newest verification mail, if any came."""
        for mail in reversed(self.smtp.messages):
            part = mail.message.get_body(("plain",))
            found = re.search(r"code is ([0-9A-Z]+)\.", part.get_content() if part else "")
            if found:
                return found.group(1)
        return None


def _extra_tables(smtp: SmtpServer, domain: str) -> str:
    """Tables added to the stack's pwreset.toml: a site with every flow, codes by mail."""
    return f"""
[sites.{SITE}]
title = "Fuzzed site"
domains = ["{domain}"]

[enroll]
questions = 2
question_list = {{ en = {QUESTIONS!r} }}

[verification]
enabled = true

[security]
# Wrong answers still lock the user out, but not for most of the run.
lockout_threshold = 10

[email]
delivery = "smtp"
smtp_host = "{smtp.host}"
smtp_port = {smtp.port}
security = "none"
from_address = "pwreset@example.org"

[api]
enrollment_status = true
"""


@contextmanager
def fuzz_stack(root: Path, lab: Any, admin: Any) -> Iterator[FuzzStack]:
    """The real stack on the OpenLDAP lab, with one enrolled user; yields where it is."""
    user = "fz" + os.urandom(4).hex()
    admin.create_user(user, PASSWORD)
    with ExitStack() as stack:
        smtp = stack.enter_context(SmtpServer("plain"))
        server = start_stack(root, "openldap", lab, extra_sites=_extra_tables(smtp, "EXAMPLE"))
        stack.callback(server.stop)
        # The relay's own file: fuzzing comes from one address, so its limit is raised
        # (it still counts every request; 429 has its own test).
        config = server.instance / "pwreset.toml"
        web = config.with_name("web.toml")
        web.write_text(config.read_text().replace("[web]\n", "[web]\nrate_limit = 100000\n", 1))
        url = stack.enter_context(run_web(web))
        _enroll(url, user)
        yield FuzzStack(url, server.domain, user, f"{url}/{SITE}/api/v1/openapi.json", smtp)


def _enroll(url: str, user: str) -> None:
    body = {
        "domain": "EXAMPLE",
        "username": user,
        "password": PASSWORD,
        "answers": [{"question": q, "answer": a} for q, a in zip(QUESTIONS, ANSWERS, strict=True)],
    }
    request = urllib.request.Request(
        f"{url}/{SITE}/api/v1/enroll",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200


# --- generating and checking ------------------------------------------------------------------


def _aim(case: Any, target: FuzzStack, rng: random.Random) -> None:
    """Point most valid generated bodies at the real user: its password, the answer to the
    question its flow token is at (mostly right), the code from its last mail, so the flows
    go past the first step. Invalid bodies stay as generated. The user's password stays
    the known one (a changed one would lock the rest of the run out)."""
    body = case.body
    mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
    if not isinstance(body, dict) or mode != GenerationMode.POSITIVE:
        return
    if "new_password" in body:
        body["new_password"] = PASSWORD
    if "username" in body and rng.random() < 0.7:
        body["domain"], body["username"] = target.domain, target.user
        for name in ("password", "old_password"):
            if name in body:
                body[name] = PASSWORD
        if "answers" in body:
            pairs = zip(QUESTIONS, ANSWERS, strict=True)
            body["answers"] = [{"question": q, "answer": a} for q, a in pairs]
    known = list(target.steps)[-50:]
    if "flow" in body and known and body["flow"] not in target.steps and rng.random() < 0.5:
        body["flow"] = rng.choice(known)
    step = target.steps.get(body.get("flow"))
    if step is not None and rng.random() < 0.85:
        # Send what the step asks for, mostly right.
        for name in ("answer", "code", "new_password"):
            body.pop(name, None)
        if step.get("kind") == "question":
            prompt = step.get("prompt")
            right = prompt in QUESTIONS and rng.random() < 0.9
            body["answer"] = ANSWERS[QUESTIONS.index(prompt)] if right else "wrong answer"
        elif step.get("kind") == "code":
            body["code"] = target.last_code() or "00000000"
        else:
            body["new_password"] = PASSWORD


def _check(
    run: FuzzRun, case: Any, response: Any, target: FuzzStack | None, recorder: Any = None
) -> None:
    operation = case.operation.label
    run.requests[operation] += 1
    run.statuses[response.status_code] += 1
    if run.progress is not None:
        run.progress(run.total)
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        run.codes[data["code"]] += 1
    if isinstance(data, dict) and isinstance(data.get("step"), dict):
        run.codes[f"step:{data['step'].get('kind')}"] += 1
        if target is not None:
            target.steps[data.get("flow")] = data["step"]
    path = urllib.parse.urlsplit(response.request.url).path
    errors = reply_errors(
        case.method.upper(), path, response.status_code, _header(response, "content-type"),
        response.content,
    )  # fmt: skip
    for error in errors:
        run.failure(f"contract {operation} {response.status_code}", error)
    try:
        case.validate_response(response, checks=CHECKS, recorder=recorder)
    except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup of the failed checks
        for failure in getattr(exc, "exceptions", [exc]):
            title = getattr(failure, "title", type(failure).__name__)
            key = f"{title} {operation} {response.status_code}"
            run.failure(key, f"{key}: {str(failure)[:600]}\n{case.as_curl_command()[:600]}")


def _header(response: Any, name: str) -> str:
    value = response.headers.get(name, "")
    return str(value[0] if isinstance(value, list) and value else value)


def _settings(examples: int, **extra: Any) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        **extra,
    )


def fuzz(target: FuzzStack, requests: int, *, seed: int = 0, progress: Any = None) -> FuzzRun:
    """About `requests` generated requests: two thirds one by one over every operation
    (valid and invalid data), a third in stateful sequences along the links."""
    schema = schemathesis.openapi.from_url(target.schema_url, config=_CONFIG)
    run = FuzzRun(progress=progress)
    rng = random.Random(seed)
    # Each operation its share, valid data then invalid: drawn from the whole schema at
    # once, an operation was now and then never drawn at all (13 of them share 266 cases).
    operations = [result.ok() for result in schema.get_all_operations()]
    each = max(1, requests * 2 // 3 // (2 * len(operations)))
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @_settings(each)
            def one_by_one(case: Any) -> None:
                _aim(case, target, rng)
                _check(run, case, case.call(base_url=target.url, timeout=30), target)

            try:
                one_by_one()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # An operation with no body or parameter has no invalid form.

    machine = schema.as_state_machine()

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def call(self, case: Any, **kwargs: Any) -> Any:
            _aim(case, target, rng)
            return case.call(base_url=target.url, timeout=30)

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            _check(run, case, response, target, getattr(self, "recorder", None))

    steps = 6
    stalled = 0
    while run.total < requests and stalled < 3:
        before = run.total
        # Replies steer the sequences, so Hypothesis cannot replay one exactly (Flaky);
        # like schemathesis's own engine, start another batch then.
        with contextlib.suppress(Flaky), with_reporter(lambda _: None):
            run_state_machine_as_test(
                Sequences,
                settings=_settings(max(1, (requests - before) // steps), stateful_step_count=steps),
            )
        stalled = stalled + 1 if run.total == before else 0
    if run.total < requests:
        run.failure("stateful", f"the sequences stopped after {run.total} requests")
    return run
