"""What the relay needs to run, taken from `[web]` and `[sites.*]` of the configuration."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from pwreset.config.errors import ConfigError, Problem
from pwreset.config.schema import Config, parse_address
from pwreset.protocol import client
from pwreset.protocol.keys import read_public_key, read_secret_key

log = logging.getLogger("pwreset.api")


@dataclass(frozen=True)
class SiteRoute:
    """One virtual directory: where it relays, which flows it offers, and the languages of
    its pages (the main one, at the site root, first)."""

    servers: tuple[tuple[str, int], ...]  # in failover order (several share one database)
    flows: frozenset[str]
    languages: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class RelaySettings:
    sites: dict[str, SiteRoute]
    server_key: X25519PublicKey = field(repr=False)
    relay_key: bytes | None = field(default=None, repr=False)
    timeout: float = client.TIMEOUT
    max_timeout: float = client.MAX_TIMEOUT
    attempts: int = client.ATTEMPTS
    max_body: int = 16384
    site_dir: Path | None = None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    web_user_header: str = ""
    rate_limit: int = 30
    require_https: bool = False
    admin_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    public_url: str = ""

    @classmethod
    def from_config(cls, config: Config, *, serve_site: bool | None = None) -> RelaySettings:
        web = config.web
        file = config.source or config.base_dir / "pwreset.toml"
        problems: list[Problem] = []
        server_key = None
        try:
            server_key = read_public_key(config.path(web.server_public_key_file))
        except ValueError as exc:
            problems.append(Problem(file, "web.server_public_key_file", str(exc)))
        relay_key = None
        if web.relay_key_file:
            try:
                relay_key = read_secret_key(config.path(web.relay_key_file))
            except ValueError as exc:
                problems.append(Problem(file, "web.relay_key_file", str(exc)))
        proxies = _networks(web.trusted_proxies, file, "web.trusted_proxies", problems)
        admins = _networks(web.admin_networks, file, "web.admin_networks", problems)
        if problems or server_key is None:
            raise ConfigError(problems)
        if relay_key is None:
            log.warning(
                "no [web] relay_key_file: the server answers this relay only if it sets "
                "allow_unauthenticated_relays, and then does not believe its client addresses"
            )
        sites = {
            vdir: SiteRoute(
                tuple(parse_address(a) for a in config.server_addresses(vdir)),
                frozenset(site.flows),
                tuple(dict.fromkeys([site.language, *site.languages])),
            )
            for vdir, site in config.sites.items()
        }
        serve = web.serve_site if serve_site is None else serve_site
        return cls(
            sites=sites,
            server_key=server_key,
            relay_key=relay_key,
            timeout=web.timeout,
            max_timeout=web.max_timeout,
            attempts=web.attempts,
            max_body=web.max_body,
            site_dir=config.path(config.build.output) if serve else None,
            trusted_proxies=proxies,
            web_user_header=web.web_user_header,
            rate_limit=web.rate_limit,
            require_https=web.require_https,
            admin_networks=admins,
            public_url=web.public_url,
        )


def _networks(
    texts: list[str], file: Path, key: str, problems: list[Problem]
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for index, text in enumerate(texts):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            problems.append(Problem(file, f"{key}[{index}]", str(exc)))
    return tuple(networks)
