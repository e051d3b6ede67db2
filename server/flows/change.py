"""Change: the user's own change with the old password; the directory's policy applies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import DirectoryError
from pwreset.server.flows import pending
from pwreset.server.flows.context import (
    FlowContext,
    Outcome,
    Step,
    lang_of,
    log,
    names_of,
    permitted,
)
from pwreset.server.flows.fields import texts
from pwreset.server.passwords import UserContext

_FAILURES = {
    "wrong_password": "wrong current password",
    "account_disabled": "account disabled",
    "not_permitted": "not permitted to change",
}


def change(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    site = ctx.site(request, "change")
    body = texts(request.body, "domain", "username", "old_password", "new_password")
    directory = ctx.directory(site, body["domain"])
    step = Step(ctx, request, "change", directory.name, body["username"], lang_of(request))
    # Before anything else, the local rules, from what was typed alone: the answer tells
    # nobody who exists.
    typed = UserContext(step.username)
    new = body["new_password"]
    broken = ctx.password_policy(directory).check(new, typed)
    step.refuse_password(directory, [rule for rule in broken if rule.origin == "local"])
    before = directory.find_user(step.username)
    with pending.noted(ctx.db, "change", directory.name, before, step.username, ctx.clock()):
        try:
            rule = ctx.config.change.permission
            # A password the domain's own rules refuse is refused by pwreset, naming the
            # rule, once the old one is proven: before that, the reply would tell a stranger
            # what the directory would (who exists, whose policy is their own).
            if rule.allow != "all" or broken:
                # The password is proved first, so the answer tells nothing about group
                # membership to someone who does not know it.
                user = directory.authenticate(step.username, body["old_password"])
                if not permitted(directory, user, rule):
                    raise DirectoryError("not_permitted")
                step.username = user.username
                if not user.own_policy:
                    step.check_new_password(directory, new, names_of(user), directory_rules=True)
            directory.change_password(step.username, body["old_password"], new)
        except DirectoryError as exc:
            step.failed(_FAILURES.get(exc.code, f"refused by the directory ({exc.code})"))
            log.info("change failed: user=%s domain=%s code=%s", step.username, directory.name,
                     exc.code)  # fmt: skip
            step.alert_failure(directory)
            raise
        found = directory.find_user(step.username)
        if found:
            step.username = found.username
        with ctx.db.users.locked(directory.name, step.username):
            record = ctx.db.users.get(directory.name, step.username)
            if record is not None and record.enrollment is not None:
                record.last_change = ctx.clock()
                ctx.db.users.save(record)
        step.succeeded("password changed")
    log.info("change done: user=%s domain=%s ip=%s", step.username, directory.name,
             request.client_ip)  # fmt: skip
    step.alert("change", Outcome.SUCCESS, step.recipient(found, record))
    enrolled = record is not None and record.enrollment is not None
    invite = not enrolled and "enroll" in site.flows
    return {
        "status": "done",
        "message": "RES_FINISHED_CHANGE_INVITE" if invite else "RES_FINISHED_CHANGE",
    }
