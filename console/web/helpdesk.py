"""The help desk's page of one caller: open a case, verify the caller, act for them.

Each form asks the running server (`pwreset.server.flows.helpdesk`): it sends the codes,
checks what the caller reads out and refuses every write until the caller is verified. The
case token it seals lives in the agent's session only; the page shows what the server answers
(question texts, masked destinations, the account's state) and, once, the one-time password.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pwreset.console.admin_requests import ServerRefusedError, ask_server
from pwreset.console.command import ConsoleError
from pwreset.console.web import languages
from pwreset.console.web.messages import EN
from pwreset.console.web.sessions import Session
from pwreset.protocol.client import ServerUnreachable
from pwreset.protocol.limits import FIELD_LIMITS
from pwreset.server.flows import helpdesk

if TYPE_CHECKING:  # the app imports this module
    from pwreset.console.web.app import Console

log = logging.getLogger("pwreset.console.web")

# The forms' actions and the server's operations they ask for.
ACTIONS = {
    "open": helpdesk.OPEN,
    "send-code": helpdesk.SEND_CODE,
    "code": helpdesk.CHECK_CODE,
    "answer": helpdesk.CHECK_ANSWER,
    "unlock": helpdesk.UNLOCK,
    "lift": helpdesk.LIFT,
    "reset": helpdesk.RESET,
}
_NOTE = "helpdesk.note."


def helpdesk_path(domain: str, username: str) -> str:
    return f"/helpdesk/{quote(domain, safe='')}/{quote(username, safe='')}"


def _key(domain: str, username: str) -> tuple[str, str]:
    return domain.casefold(), username.casefold()


def _shown(case: dict[str, Any] | None) -> dict[str, Any] | None:
    """The server's answer as the page may show it: without the sealed case."""
    return None if case is None else {k: v for k, v in case.items() if k != "case"}


async def page(console: Console, request: Request, session: Session) -> Response:
    domain, username = request.path_params["domain"], request.path_params["username"]
    note = request.query_params.get("note", "")
    return console.page(
        "helpdesk.html",
        session=session,
        domain=domain,
        username=username,
        view=_shown(session.cases.get(_key(domain, username))),
        note=note if note.startswith(_NOTE) and note in EN else "",
        path=helpdesk_path(domain, username),
    )


async def act(console: Console, request: Request, session: Session) -> Response:
    """One form of the page: the server's answer is kept in the session and the page shown
    again (the one-time password only in this response, never kept)."""
    domain, username = request.path_params["domain"], request.path_params["username"]
    op = ACTIONS.get(request.path_params["action"])
    if op is None or console.config.domain(domain) is None:
        return console.page("message.html", 404, session=session, text="filter.bad")
    key, path = _key(domain, username), helpdesk_path(domain, username)
    form: dict[str, str] = request.state.form
    address = request.client.host if request.client else ""
    # The question comes in the agent's language.
    body = {"by": session.admin_name, "ip": address, "lang": languages.current().language}
    if op == helpdesk.OPEN:
        body.update(domain=domain, username=username)
    elif key not in session.cases:
        return RedirectResponse(f"{path}?note={_NOTE}session_expired", 303)
    else:
        body["case"] = session.cases[key]["case"]
    if op == helpdesk.CHECK_CODE:
        body["code"] = form.get("code", "").strip()[: FIELD_LIMITS["code"]]
    elif op == helpdesk.CHECK_ANSWER:
        body["answer"] = form.get("answer", "")[: FIELD_LIMITS["answer"]]
    try:
        reply = dict(await run_in_threadpool(ask_server, console.config, op, body))
    except ServerRefusedError as exc:
        if exc.code == "session_expired":
            session.cases.pop(key, None)
        note = f"{_NOTE}{exc.code}"
        log.info("help desk %s for %s\\%s refused: %s", op, domain, username, exc.code)
        return RedirectResponse(f"{path}?note={note if note in EN else _NOTE + 'refused'}", 303)
    except (ConsoleError, ServerUnreachable) as exc:
        log.error("help desk %s for %s\\%s failed: %s", op, domain, username, exc)
        return console.page("message.html", 503, session=session, text="error.server")
    password = reply.pop("password", None)
    session.cases[key] = reply
    if password is not None:
        return console.page(
            "helpdesk.html",
            session=session,
            domain=domain,
            username=username,
            view=_shown(reply),
            note="",
            password=password,
            path=path,
        )
    return RedirectResponse(f"{path}?note={_NOTE}{_outcome(op, reply)}", 303)


def _outcome(op: str, reply: dict[str, Any]) -> str:
    """The note the page shows after `op` was done."""
    if op == helpdesk.SEND_CODE:
        return str(reply.get("sent", "sent"))
    if op in (helpdesk.CHECK_CODE, helpdesk.CHECK_ANSWER):
        return "verified" if reply.get("verified") else "right_answer"
    if op == helpdesk.OPEN:
        return "opened"
    return str(reply.get("done", "opened"))
