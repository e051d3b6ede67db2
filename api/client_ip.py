"""Who sent a request: the TCP peer, or what a trusted proxy says about its own client.

Forwarded headers (X-Forwarded-For, X-Forwarded-Proto, the web-user header) are believed
only from a peer in `[web] trusted_proxies`. `pwreset web` runs uvicorn with its own proxy
header handling off, so `request.client` here is the real peer, never a header's claim.
"""

from __future__ import annotations

import ipaddress
import re

from starlette.requests import Request

from pwreset.api.settings import RelaySettings
from pwreset.protocol.limits import FIELD_LIMITS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The longest address text a proxy writes ("[v6 with an IPv4 tail]:port") is under this.
_MAX_ADDRESS_TEXT = 64
_PORT = re.compile(r":[0-9]{1,5}", re.ASCII)


def parse_ip(text: str) -> IPAddress | None:
    """An address as proxies write it (bare, `v4:port`, `[v6]`, `[v6]:port`), or None.

    An IPv6 zone is dropped and an IPv4-mapped IPv6 address becomes the IPv4 one, so one
    client always has one spelling (for the rate limit and the audit)."""
    text = text.strip()
    if len(text) > _MAX_ADDRESS_TEXT:
        return None
    host = text
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not _PORT.fullmatch(rest)):
            return None
    elif text.count(":") == 1:
        host, port = text.split(":")
        if not _PORT.fullmatch(":" + port):
            return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.scope_id is not None:
            return ipaddress.IPv6Address(host.partition("%")[0])
    return ip


def client_ip(request: Request, settings: RelaySettings) -> str:
    """The end user's address, canonical; "" when the peer is not an IP socket."""
    peer = _peer(request)
    if peer is None:
        return ""
    address = peer
    if not _trusted(peer, settings):
        return str(address)
    # Walk X-Forwarded-For from the nearest hop, which the peer (trusted) wrote. The first
    # untrusted address is the user. A hop that is not an address means the trusted proxy
    # that wrote it does not know its client: the request counts as that proxy's own.
    for hop in reversed(_header_values(request, "x-forwarded-for")):
        ip = parse_ip(hop)
        if ip is None:
            break
        address = ip
        if not _trusted(ip, settings):
            break
    return str(address)


def from_trusted_proxy(request: Request, settings: RelaySettings) -> bool:
    peer = _peer(request)
    return peer is not None and _trusted(peer, settings)


def forwarded_proto(request: Request, settings: RelaySettings) -> str:
    """The scheme a trusted proxy reports (its own, the last value), or ""."""
    if not from_trusted_proxy(request, settings):
        return ""
    values = _header_values(request, "x-forwarded-proto")
    return values[-1].lower() if values else ""


def web_user(request: Request, settings: RelaySettings) -> str:
    """The signed-in web user a trusted proxy reports, or "" (anonymous access)."""
    if not settings.web_user_header or not from_trusted_proxy(request, settings):
        return ""
    # Cut to what the backend accepts, so a long name still gets the request through.
    return request.headers.get(settings.web_user_header, "")[: FIELD_LIMITS["web_user"]]


def _peer(request: Request) -> IPAddress | None:
    return parse_ip(request.client.host) if request.client else None


def _trusted(ip: IPAddress, settings: RelaySettings) -> bool:
    return any(ip in network for network in settings.trusted_proxies)


def _header_values(request: Request, name: str) -> list[str]:
    # Several header lines are one comma-separated list (RFC 9110 5.3): a proxy that adds
    # its own line after the client's must not be ignored in favour of the client's.
    joined = ",".join(request.headers.getlist(name))
    return [value.strip() for value in joined.split(",") if value.strip()]
