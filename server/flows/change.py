"""Change: the user's own change with the old password; the directory's policy applies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import DirectoryError
from pwreset.server.flows import pending
from pwreset.server.flows.context import FlowContext, lang_of, log
from pwreset.server.flows.fields import texts
from pwreset.server.flows.permissions import permitted

_FAILURES = {
    "wrong_password": "wrong current password",
    "account_disabled": "account disabled",
    "not_permitted": "not permitted to change",
}


def change(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    site = ctx.site(request, "change")
    body = texts(request.body, "domain", "username", "old_password", "new_password")
    directory = ctx.directory(site, body["domain"])
    username = body["username"]
    lang = lang_of(request)
    before = directory.find_user(username)
    with pending.noted(ctx.db, "change", directory.name, before, username, ctx.clock()):
        try:
            rule = ctx.config.change.permission
            if rule.allow != "all":
                # The password is proved first, so the answer tells nothing about group
                # membership to someone who does not know it.
                user = directory.authenticate(username, body["old_password"])
                if not permitted(directory, user, rule):
                    raise DirectoryError("not_permitted")
                username = user.username
            directory.change_password(username, body["old_password"], body["new_password"])
        except DirectoryError as exc:
            what = _FAILURES.get(exc.code, f"refused by the directory ({exc.code})")
            ctx.audit(request, "change", False, username, directory.name, what)
            log.info("change failed: user=%s domain=%s code=%s", username, directory.name, exc.code)
            ctx.alert(request, "change", False, ctx.recipient(None, None, directory.name, lang))
            raise
        found = directory.find_user(username)
        canonical = found.username if found else username
        with ctx.db.users.locked(directory.name, canonical):
            record = ctx.db.users.get(directory.name, canonical)
            if record is not None and record.enrollment is not None:
                record.last_change = ctx.clock()
                ctx.db.users.save(record)
        ctx.audit(request, "change", True, canonical, directory.name, "password changed")
    log.info("change done: user=%s domain=%s ip=%s", canonical, directory.name, request.client_ip)
    ctx.alert(request, "change", True, ctx.recipient(found, record, directory.name, lang))
    enrolled = record is not None and record.enrollment is not None
    invite = not enrolled and "enroll" in site.flows
    return {
        "status": "done",
        "message": "RES_FINISHED_CHANGE_INVITE" if invite else "RES_FINISHED_CHANGE",
    }
