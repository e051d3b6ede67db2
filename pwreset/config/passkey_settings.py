"""A site's WebAuthn relying party (`[sites.<name>] passkey_rp_id`, `passkey_origins`): the
domain passkeys are bound to and the page addresses a ceremony may come from.

Unset, both come from `[web] public_url`, the address users open. A browser only creates or
uses a passkey for an RP ID that is the page's host or a suffix of it, on a secure context
(https, or http on localhost), so those are the only values accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

# A DNS name as WebAuthn takes it: lower-case labels, no scheme, port, path or trailing dot.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_RP_ID = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_IP = re.compile(r"^[0-9.]+$|:")


@dataclass(frozen=True)
class RelyingParty:
    """What a site's passkeys are bound to: `id` (a domain), `name` (shown by the
    authenticator) and the `origins` (scheme://host[:port]) its pages are served from."""

    id: str
    name: str
    origins: tuple[str, ...]


def check_rp_id(value: str) -> str:
    if not value:
        return value
    if value != value.lower() or not _RP_ID.match(value) or _IP.match(value):
        raise ValueError(
            f"{value!r} is not a domain name (the site's host or a parent of it, lower case, "
            "without scheme, port or path; an IP address cannot hold passkeys)"
        )
    return value


def split_address(value: str) -> SplitResult:
    """`value` split into its parts, its port checked (urlsplit raises only once the port
    is read); raises ValueError naming the address."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None
    return parts


def check_origin(value: str) -> str:
    """scheme://host[:port], https, or http on localhost (the only secure contexts)."""
    parts = split_address(value)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{value!r} is not an origin (https://host[:port])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r}: an origin has no path, query or user (https://host[:port])")
    if parts.scheme == "http" and host != "localhost" and not host.endswith(".localhost"):
        raise ValueError(f"{value!r}: browsers use passkeys only on https:// (or http://localhost)")
    return value.rstrip("/")


def origin_of(public_url: str) -> str:
    """The origin of `[web] public_url` (https://host[:port][/prefix])."""
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}"


def within(origin: str, rp_id: str) -> bool:
    """Whether a page at `origin` may use passkeys of `rp_id` (its host or a parent)."""
    host = urlsplit(origin).hostname or ""
    return host == rp_id or host.endswith("." + rp_id)


def relying_party(
    rp_id: str, origins: list[str], public_url: str, name: str
) -> RelyingParty | None:
    """A site's relying party from its settings (checked by the schema), else from the public
    URL; None: neither is set, the site cannot offer passkeys."""
    if not origins and public_url:
        origins = [origin_of(public_url)]
    if not rp_id and origins:
        rp_id = urlsplit(origins[0]).hostname or ""
    if not rp_id or not origins:
        return None
    return RelyingParty(id=rp_id, name=name, origins=tuple(origins))
