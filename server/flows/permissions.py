"""Who may enroll or change: everybody, only members of some groups, or all but them."""

from __future__ import annotations

from pwreset.config.flow_settings import Permission
from pwreset.server.directory.base import Directory, DirectoryUser


def permitted(directory: Directory, user: DirectoryUser, rule: Permission) -> bool:
    if rule.allow == "all":
        return True
    member = directory.is_member(user, rule.groups)
    return member if rule.allow == "only" else not member
