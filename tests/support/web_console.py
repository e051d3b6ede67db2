"""The web console (`pwreset console`) for the browser tests: a backend on one lab directory,
its console served by uvicorn on an injected clock, the console's admin group with one admin,
and the page checks every console page gets (axe, screenshots)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page
from pwreset_lab import SambaAdmin, SlapdAdmin

from pwreset.console.web.app import create_console_app

from support.flowstack import PASSWORD, Clock, FlowStack, flow_stack
from support.stacks import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"


class Console:
    """A backend on one lab directory, its console served by uvicorn, and the admin."""

    def __init__(self, stack: FlowStack, url: str, clock: Clock, group: str, admin: str) -> None:
        self.stack, self.url, self.clock, self.group, self.admin = stack, url, clock, group, admin

    def new_user(self, prefix: str) -> str:
        name = f"{prefix}{secrets.token_hex(3)}"
        self.stack.admin.create_user(name, PASSWORD)
        return name

    def sign_in(self, page: Page, user: str, password: str = PASSWORD) -> None:
        page.goto(f"{self.url}/signin")
        page.get_by_label("User name").fill(user)
        page.get_by_label("Password").fill(password)
        # The form posts and the answer is a new page (the next one, or the form with
        # its error): wait for it, or the caller's next look races the load.
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()

    def console_rows(self, user: str) -> list[tuple[str, str]]:
        """(event, web_user) of the console's audit rows about `user`."""
        return [(e.event, e.web_user) for e in self.stack.audit(user) if e.source == "console"]


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    port = free_port("tcp")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def running_console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """The console on the lab directory `request.param` names ("openldap" or "ad"), with
    verification codes by e-mail (the help desk sends them) and pwreset's lockout after one
    wrong answer."""
    kind = str(request.param)
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    admin = SambaAdmin(lab) if kind == "ad" else SlapdAdmin(lab)
    group = f"pwcadm{secrets.token_hex(3)}"
    settings = {
        "console": {
            "admin_groups": [group],
            "helpdesk_groups": [f"{group}hd"],
            "idle_minutes": 15,
            "session_hours": 8,
        },
        "security": {"lockout_threshold": 1},
        "verification": {"enabled": True, "email": True},
    }
    root = tmp_path_factory.mktemp(f"console-{kind}")
    with flow_stack(kind, lab, admin, root, settings) as stack:
        name = f"pwcboss{secrets.token_hex(3)}"
        admin.create_user(name, PASSWORD)
        admin.create_group(group, [name])
        clock = Clock()
        with _serve(create_console_app(stack.config, clock=clock)) as url:
            yield Console(stack, url, clock, group, name)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)
