"""A backend with chosen settings, run in this process against a lab directory, with a real
SMTP server capturing mail, an SMS command recording its argv, the relay in front, and a
clock the test can move (to expire codes and sessions)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.config import Config, load_config
from pwreset.config.notify_settings import STOCK_ALERT_EVENTS
from pwreset.config.schema import parse_address
from pwreset.instance import RELAY_KEY, create_instance
from pwreset.protocol.keys import read_public_key, read_secret_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import ReplyKey, seal_request
from pwreset.server.storage import Database, UserRecord

from support.contract import check_replies
from support.smtp import CapturedMail, SmtpServer
from support.stacks import free_port, secret

QUESTIONS = [
    "What was the name of your first pet?",
    "In which town did you grow up?",
    "What was the name of your first school?",
    "What is the first name of your oldest cousin?",
]
ANSWERS = ["Rex the dog", "O'Brien-Town", "St. Mary's 42"]
PASSWORD = "Init!Passw0rd-1"
# The address the relay sees the test's requests come from (the end user's, for the audit).
END_USER_IP = "192.0.2.10"
# The step fields that carry a secret, for the secrets scans; a factor's kind is none.
SECRET_FIELDS = frozenset({"answer", "code", "new_password"})

_RECORDER = """
import json, sys
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(json.dumps(sys.argv[2:]) + "\\n")
"""


class Clock:
    """The flows' clock: real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if value is None:  # None removes the key: the setting's default applies
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class FlowStack:
    kind: str
    domain: str
    admin: Any
    config: Config
    instance: Path
    relay: TestClient
    smtp: SmtpServer
    sms_log: Path
    clock: Clock
    data_key: bytes = field(repr=False)
    restarter: Any = field(default=None, repr=False)
    stopper: Any = field(default=None, repr=False)
    site: str = "pwreset"  # the site (virtual directory) requests go to

    def stop(self) -> None:
        """Stop the backend (its data stays), e.g. to run a console command that writes."""
        self.stopper()

    def restart(self, **settings: Any) -> FlowStack:
        """Stop this backend; start another on the same instance and data with `settings`."""
        return self.restarter(self, settings)

    # --- requests ---------------------------------------------------------------------------

    def post(self, path: str, body: dict[str, Any], site: str | None = None) -> Any:
        return self.relay.post(f"/{site or self.site}/api/v1/{path}", json=body)

    def enroll(
        self,
        user: str,
        *,
        password: str = PASSWORD,
        answers: list[str] | None = None,
        questions: list[str] | None = None,
        email: str | None = None,
        lang: str = "en",
    ) -> Any:
        answers = answers or ANSWERS
        questions = questions or QUESTIONS[: len(answers)]
        body: dict[str, Any] = {
            "domain": self.domain,
            "username": user,
            "password": secret(password),
            "answers": [
                {"question": q, "answer": secret(a)}
                for q, a in zip(questions, answers, strict=True)
            ],
            "lang": lang,
        }
        if email is not None:
            body["email"] = email
        return self.post("enroll", body)

    def start(self, flow: str, user: str, lang: str = "en") -> Any:
        return self.post(f"{flow}/start", {"domain": self.domain, "username": user, "lang": lang})

    def step(self, flow: str, token: str, **value: str) -> Any:
        for name in SECRET_FIELDS & value.keys():
            secret(value[name])
        return self.post(f"{flow}/step", {"flow": token, **value})

    def answer_all(self, flow: str, user: str, answers: list[str] | None = None) -> Any:
        """Start `flow` and answer every question; the last reply."""
        reply = self.start(flow, user)
        assert reply.status_code == 200, reply.text
        for text in answers or ANSWERS:
            body = reply.json()
            assert body["step"]["kind"] == "question", body
            reply = self.step(flow, body["flow"], answer=text)
            assert reply.status_code == 200, reply.text
        return reply

    # --- sealed datagrams, as a relay (or someone on its path) sends them ---------------------

    def seal(
        self, op: str, body: dict[str, Any], *, authenticated: bool = True, **fields: Any
    ) -> tuple[bytes, ReplyKey]:
        """A request sealed as the instance's relay seals it (without the relay key when not
        `authenticated`); `fields` override the Request's (client_ip, vdir, ...)."""
        request = Request(**{"op": op, "vdir": "pwreset", "client_ip": "", "body": body, **fields})
        relay_key = read_secret_key(self.instance / RELAY_KEY) if authenticated else None
        server_key = read_public_key(self.instance / "keys" / "server.pub")
        return seal_request(request, server_key, relay_key=relay_key)

    def send_datagram(self, datagram: bytes, wait: float = 2.0) -> bytes | None:
        """Send one datagram to the backend from a new socket; its reply, if any comes."""
        host, port = parse_address(self.config.server.listen)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(wait)
            sock.sendto(datagram, (host, port))
            try:
                return sock.recv(65536)
            except TimeoutError:
                return None

    # --- what happened ----------------------------------------------------------------------

    def record(self, user: str) -> UserRecord | None:
        """The user's record as stored, read from the files (the server keeps running)."""
        db = Database.open_readonly(self.data_dir, data_key=self.data_key)
        try:
            return db.users.get(self.domain, user)
        finally:
            db.close()

    def audit(self, user: str | None = None) -> list[Any]:
        db = Database.open_readonly(self.data_dir, data_key=self.data_key)
        try:
            rows = list(db.audit.query())
        finally:
            db.close()
        return [r for r in rows if user is None or r.user == user]

    @property
    def data_dir(self) -> Path:
        return self.config.path(self.config.server.data_dir)

    def mails(self, to: str | None = None) -> list[CapturedMail]:
        return [m for m in self.smtp.messages if to is None or to in m.rcpt_tos]

    def code_from_mail(self, to: str) -> str:
        """The code in the last mail to the address `to`, or to the user named `to` (their
        mailbox at any domain)."""
        mail = self.smtp.wait_for(1)
        found = [m for m in mail if any(r == to or r.startswith(f"{to}@") for r in m.rcpt_tos)]
        assert found, f"no mail to {to}"
        body = found[-1].message.get_body(("plain",))
        assert body is not None
        # The stock English code mail: "Your verification code is <CODE>."
        match = re.search(r"code is ([0-9A-Z]+)\.", body.get_content())
        assert match, body.get_content()
        return match.group(1)

    def sms(self) -> list[list[str]]:
        if not self.sms_log.exists():
            return []
        return [json.loads(line) for line in self.sms_log.read_text().splitlines()]


def backend_config(
    kind: str,
    lab: Any,
    udp: int,
    smtp: SmtpServer,
    sms: list[str],
    settings: dict[str, Any],
    stock_alerts: bool,
) -> tuple[dict[str, Any], str]:
    env = f"PWRESET_TEST_{kind.upper()}_PASSWORD"
    if kind == "ad":
        domain: dict[str, Any] = {
            "name": "LAB",
            "aliases": ["lab.example.com"],
            "kind": "ad",
            "urls": [f"ldaps://127.0.0.1:{lab.port}"],
            "base_dn": lab.base_dn,
            "bind_dn": lab.service_upn,
            "bind_password_env": env,
            "tls": {"ca_file": str(lab.ca_file), "server_name": lab.server_name},
        }
    else:
        domain = {
            "name": "EXAMPLE",
            "aliases": ["example.org"],
            "kind": "openldap",
            "urls": [f"ldaps://127.0.0.1:{lab.tls_port}"],
            "base_dn": lab.base_dn,
            "bind_dn": lab.service_dn,
            "bind_password_env": env,
            "tls": {"ca_file": str(lab.ca_file)},
        }
    # settings["domain"] changes this directory's own table (urls, start_tls, tls).
    domain = _merge(domain, settings.get("domain", {}))
    settings = {k: v for k, v in settings.items() if k != "domain"}
    base: dict[str, Any] = {
        "server": {
            "listen": f"127.0.0.1:{udp}",
            "log_file": "server.log",
            "relay_key_file": str(RELAY_KEY),
        },
        "web": {
            "server": f"127.0.0.1:{udp}",
            "timeout": 2.0,
            "attempts": 3,
            "relay_key_file": str(RELAY_KEY),
        },
        "domains": [domain],
        "sites": {"pwreset": {"domains": [domain["name"]]}},
        "enroll": {"question_list": {"en": QUESTIONS}},
        "email": {
            "delivery": "smtp",
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "security": "none",
            "from_address": '"Password self-service" <pwreset@example.org>',
        },
        "verification": {"sms_command": sms},
        "api": {"enrollment_status": True},
    }
    if not stock_alerts:
        # Tests count the mails they cause: the stock alerts they do not configure are off.
        configured = settings.get("alerts", {})
        base["alerts"] = {e: {"enabled": False} for e in STOCK_ALERT_EVENTS if e not in configured}
    return _merge(base, settings), env


def sms_recorder(root: Path) -> tuple[list[str], Path]:
    """An sms_command that appends its arguments to a JSON-lines file in `root`, and that
    file (FlowStack.sms reads it)."""
    recorder = root / "sms_recorder.py"
    recorder.write_text(_RECORDER)
    sms_log = root / "sms.jsonl"
    sms = [sys.executable, str(recorder), str(sms_log), "[PHONE]", "[CODE]", "[USERNAME]",
           "[DOMAIN]", "[LANG]"]  # fmt: skip
    return sms, sms_log


@contextmanager
def flow_stack(
    kind: str, lab: Any, admin: Any, root: Path, settings: dict[str, Any] | None = None
) -> Iterator[FlowStack]:
    """A running backend with `settings` (a dict shaped like pwreset.toml). Starting again
    in the same `root` keeps the instance's keys and data. The stock alerts are on only for
    `stock_alerts=True` (a key of `settings`, not of the file) or where `settings` configures
    them."""
    from pwreset.server.runner import serve

    sms, sms_log = sms_recorder(root)
    clock = Clock()
    settings = dict(settings or {})
    stock_alerts = bool(settings.pop("stock_alerts", False))
    with SmtpServer("plain") as smtp:
        data, env = backend_config(kind, lab, free_port("udp"), smtp, sms, settings, stock_alerts)
        instance = root / "instance"
        if (instance / "keys" / "server.key").exists():
            (instance / "pwreset.toml").write_text(tomli_w.dumps(data))
        else:
            create_instance(instance, config_text=tomli_w.dumps(data))
        config = load_config(instance / "pwreset.toml")
        os.environ[env] = lab.service_password
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        main: list[asyncio.Task[None]] = []

        async def run() -> None:
            started = asyncio.Event()
            task = asyncio.create_task(
                serve(config, ready=started, handle_signals=False, clock=clock)
            )
            main.append(task)
            waiter = asyncio.create_task(started.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            ready.set()
            await task

        def thread_main() -> None:
            try:
                loop.run_until_complete(run())
            except asyncio.CancelledError:
                pass
            except BaseException as exc:  # reported to the test below
                failure.append(exc)
                ready.set()

        thread = threading.Thread(target=thread_main, daemon=True)
        thread.start()
        assert ready.wait(30), "the backend did not start"
        if failure:
            raise failure[0]
        try:
            app = create_app(RelaySettings.from_config(config))
            with TestClient(app, client=(END_USER_IP, 50000)) as relay:
                check_replies(relay)
                yield FlowStack(
                    kind=kind,
                    domain=data["domains"][0]["name"],
                    admin=admin,
                    config=config,
                    instance=instance,
                    relay=relay,
                    smtp=smtp,
                    sms_log=sms_log,
                    clock=clock,
                    data_key=read_secret_key(instance / "keys" / "data.key"),
                )
        finally:
            if main:
                loop.call_soon_threadsafe(main[0].cancel)
            thread.join(30)
            loop.close()
