"""Who may enroll or change: everybody, only members of some groups, or all but them.

Reset and unlock follow the enroll rules (security review 4): an account that may not
enroll (an admin group) may not be recovered by questions or a code either.
"""

from __future__ import annotations

from pwreset.config.flow_settings import Permission
from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryUser
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError


def permitted(directory: Directory, user: DirectoryUser, rule: Permission) -> bool:
    if rule.allow == "all":
        return True
    member = directory.is_member(user, rule.groups)
    return member if rule.allow == "only" else not member


def may_recover(ctx: FlowContext, directory: Directory, user: DirectoryUser) -> bool:
    """Whether reset and unlock may serve `user`; at start, an excluded user is shown what
    an unknown user is shown."""
    return permitted(directory, user, ctx.config.enroll.permission)


def check_recovery_permitted(
    ctx: FlowContext, request: Request, kind: str, directory: Directory, user: DirectoryUser
) -> None:
    """Right before the directory write: a user moved into an excluded group mid-flow is
    refused, and the refusal audited."""
    if not may_recover(ctx, directory, user):
        ctx.audit(request, kind, False, user.username, directory.name, "not permitted")
        raise FlowError("not_permitted")
