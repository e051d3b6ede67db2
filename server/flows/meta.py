"""What the pages and integrators ask about: the server is up, a site's flows, domains and
enrollment rules, and whether a user is enrolled."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pwreset import __version__
from pwreset.config import Config
from pwreset.config.schema import SiteConfig
from pwreset.protocol.limits import FIELD_LIMITS
from pwreset.protocol.messages import Request
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors import policy
from pwreset.server.flows.fields import text
from pwreset.server.passwords import PasswordPolicy

# `pwreset maintenance on` writes this file in the data folder; `off` removes it.
MAINTENANCE_FLAG = "MAINTENANCE"


def maintenance_marker(config: Config) -> Path:
    """The file whose presence means maintenance: the enrollment-status API says nothing."""
    return config.path(config.server.data_dir) / MAINTENANCE_FLAG


def ping(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    return {"pong": True, "version": __version__}


def meta(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    site = ctx.config.sites.get(request.vdir)
    if site is None:
        raise FlowError("unknown_site")
    enroll = ctx.config.enroll
    return {
        "site": request.vdir,
        "title": site.title,
        "flows": list(site.flows),
        "domains": list(site.domains),
        "free_domain": not site.domains,
        "language": site.language,
        "enroll": {
            "questions": enroll.questions,
            "min_answer_chars": enroll.min_answer_chars,
            # The page asks for no address the directory's copy replaces.
            "email": "off" if "email" in enroll.contacts_from_directory else enroll.email,
            "custom_questions": enroll.custom_questions,
            "max_question_length": FIELD_LIMITS["question"],
            "question_list": {k: list(v) for k, v in enroll.question_list.items()},
        },
        "verification": {"enabled": ctx.config.verification.enabled},
        # What a reset or unlock may ask for on this site (the same for every user).
        "factors": {
            "offer": list(policy.site_policy(ctx.config, request.vdir, "enrolled").offer),
            "questions": policy.questions_on(ctx.config, request.vdir),
        },
        "password_policy": _site_policy(ctx, site),
    }


def _site_policy(ctx: FlowContext, site: SiteConfig) -> dict[str, Any]:
    """The policy of the site's first domain (the one its form offers first): a site
    serving domains of different policies shows each user theirs at the password step."""
    names = list(site.domains) or [domain.name for domain in ctx.config.domains]
    domain = ctx.config.domain(names[0]) if names else None
    directory = ctx.directories.get(domain.name) if domain else None
    if directory is None:
        return PasswordPolicy.build(ctx.config.password_policy, breached=ctx.breached).describe()
    return ctx.password_policy(directory).describe()


def enrollment_status(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """`{"isEnrolled": bool}`; unknown users and unknown domains read as false. Not audited."""
    if not ctx.config.enrollment_status(request.vdir):
        raise FlowError("api_disabled")
    # An admin marks maintenance with `pwreset maintenance on` (apr checklist 109).
    if maintenance_marker(ctx.config).exists():
        return {}
    upn = text(request.body, "upn", required=False)
    if upn:
        name, _, suffix = upn.rpartition("@")
        if not name or not suffix:
            raise FlowError("bad_request", "a UPN looks like user@domain")
        domain = ctx.config.domain(suffix)
        # AD finds users by their whole UPN; other directories by the name before the @.
        username = upn if domain is not None and domain.kind == "ad" else name
    else:
        domain = ctx.config.domain(text(request.body, "domain"))
        username = text(request.body, "username")
    if domain is None or domain.name not in ctx.directories:
        return {"isEnrolled": False}
    user = ctx.directories[domain.name].find_user(username)
    record = ctx.db.users.get(domain.name, user.username) if user else None
    enrolled = bool(record and record.enrollment and not record.auto_enrolled)
    auto = ctx.config.verification
    if record and record.auto_enrolled and auto.enabled and auto.auto_enroll:
        enrolled = True
    return {"isEnrolled": enrolled}
