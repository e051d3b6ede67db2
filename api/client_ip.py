"""The end user's IP: the peer, or the forwarded address when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from pwreset.api.settings import RelaySettings


def client_ip(request: Request, settings: RelaySettings) -> str:
    peer = request.client.host if request.client else ""
    if not settings.trusted_proxies or not is_trusted(peer, settings):
        return peer
    # Walk X-Forwarded-For from the nearest hop; the first untrusted address is the user.
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, settings):
            return hop
    return hops[0] if hops else peer


def web_user(request: Request, settings: RelaySettings) -> str:
    """The signed-in web user a trusted proxy reports, or "" (anonymous access)."""
    if not settings.web_user_header:
        return ""
    peer = request.client.host if request.client else ""
    if not is_trusted(peer, settings):
        return ""
    return request.headers.get(settings.web_user_header, "")[:256]


def is_trusted(address: str, settings: RelaySettings) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.trusted_proxies)
