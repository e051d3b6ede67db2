"""What the pages need to know about a site: flows, domains, enrollment rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset import __version__
from pwreset.protocol.limits import FIELD_LIMITS
from pwreset.protocol.messages import Request
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError


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
            "email": enroll.email,
            "custom_questions": enroll.custom_questions,
            "max_question_length": FIELD_LIMITS["question"],
            "question_list": {k: list(v) for k, v in enroll.question_list.items()},
        },
        "verification": {"enabled": ctx.config.verification.enabled},
        "password_policy": "",
    }
