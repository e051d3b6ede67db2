"""Renders the kit's files from the templates beside this module, with an instance's real
paths, ports and the relay's own security headers, so what is installed matches the
configuration it runs."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

from pwreset.api.middleware import SECURITY_HEADERS
from pwreset.config import Config
from pwreset.config.schema import parse_address
from pwreset.security_headers import HSTS

ProxyKind = Literal["nginx", "caddy"]
PROXY_KINDS: tuple[ProxyKind, ...] = ("nginx", "caddy")

# Ports below this need CAP_NET_BIND_SERVICE (or root) to listen on.
_FIRST_UNPRIVILEGED_PORT = 1024
_ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,30}", re.ASCII)
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    re.ASCII,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DeployError(Exception):
    """A value the kit cannot write safely into a unit or a proxy configuration."""


@dataclass(frozen=True)
class KitFile:
    """One file of the kit: its name and text, and the folder it is installed in."""

    name: str
    text: str
    install_dir: str


@dataclass(frozen=True)
class ProxyOptions:
    """What the proxy configuration needs beyond pwreset.toml. Without a certificate, Caddy
    obtains one itself; nginx then uses certbot's usual paths for `server_name`."""

    server_name: str
    https_port: int = 443
    http_port: int = 80
    cert_file: Path | None = None
    key_file: Path | None = None


def systemd_units(config: Config, *, name: str, user: str, executable: Path) -> list[KitFile]:
    """`<name>-server.service` and `<name>-web.service` for the instance of `config`."""
    _check_name(name, "--name")
    _check_name(user, "--user")
    server = config.server
    writable = [config.path(server.data_dir)]
    for written in (server.log_file, config.siem.json_file):
        if written is not None:
            writable.append(_writable_for(config, config.path(written)))
    if config.email.delivery == "pickup" and config.email.pickup_dir is not None:
        writable.append(config.path(config.email.pickup_dir))
    common = {
        "user": user,
        "executable": executable,
        "config_file": _config_file(config),
        "base_dir": config.base_dir,
    }
    units = [
        ("server", "pwreset reset backend", server.listen, "UDP to relays, LDAP, SMTP", writable),
        ("web", "pwreset relay", config.web.listen, "HTTP, UDP to the server", []),
    ]
    files = []
    for command, description, listen, sockets, paths in units:
        unit_name = f"{name}-{command}"
        text = _render(
            "systemd/service.j2",
            unit=f"{unit_name}.service",
            unit_name=unit_name,
            command=command,
            description=description,
            listen=listen,
            bind_capability=parse_address(listen)[1] < _FIRST_UNPRIVILEGED_PORT,
            sockets=sockets,
            writable=paths,
            **common,
        )
        files.append(KitFile(f"{unit_name}.service", text, "/etc/systemd/system"))
    return files


def proxy_config(config: Config, kind: ProxyKind, options: ProxyOptions, *, name: str) -> KitFile:
    """The nginx server blocks or the Caddyfile serving the built site and proxying the API."""
    _check_name(name, "--name")
    if not _HOST_NAME.fullmatch(options.server_name):
        raise DeployError(f"--server-name {options.server_name!r} is not a host name")
    if (options.cert_file is None) != (options.key_file is None):
        raise DeployError("give both --cert and --key, or neither")
    if config.web.tls_cert_file is not None:
        raise DeployError(
            "[web] tls_cert_file is set: behind a proxy that terminates TLS, pwreset web "
            "serves plain HTTP on a loopback or inside address (remove tls_cert_file and "
            "tls_key_file)"
        )
    cert, key = options.cert_file, options.key_file
    if kind == "nginx" and cert is None:
        live = Path("/etc/letsencrypt/live") / options.server_name
        cert, key = live / "fullchain.pem", live / "privkey.pem"
    upstream, proxy_address = _upstream(config.web.listen)
    values = {
        "name": name,
        "config_file": _config_file(config),
        "site_root": config.path(config.build.output),
        "upstream": upstream,
        "proxy_address": proxy_address,
        "server_name": options.server_name,
        "https_port": options.https_port,
        "http_port": options.http_port,
        "https_suffix": "" if options.https_port == 443 else f":{options.https_port}",
        "cert_file": cert,
        "key_file": key,
        "max_body": config.web.max_body,
        "web_user_header": config.web.web_user_header,
        "headers": SECURITY_HEADERS,
        "hsts": HSTS,
    }
    if kind == "nginx":
        return KitFile(f"{name}.conf", _render("nginx/site.conf.j2", **values), "/etc/nginx/conf.d")
    return KitFile("Caddyfile", _render("caddy/Caddyfile.j2", **values), "/etc/caddy")


def proxy_warnings(config: Config) -> list[str]:
    """What in pwreset.toml would keep the relay from trusting the proxy on this host, or
    let plain HTTP through."""
    upstream, _ = _upstream(config.web.listen)
    address = ipaddress.ip_address(upstream.rpartition(":")[0].strip("[]"))
    trusted = [ipaddress.ip_network(n, strict=False) for n in config.web.trusted_proxies]
    warnings = []
    if not address.is_loopback:
        warnings.append(
            f"the relay listens on {upstream}: list the proxy's address in [web] trusted_proxies"
        )
    elif not any(address in network for network in trusted):
        network = f"{address}/{address.max_prefixlen}"
        warnings.append(f'[web] trusted_proxies does not hold {address}: add "{network}"')
    if not config.web.require_https:
        warnings.append("[web] require_https is off: set it, so no password crosses in clear")
    return [f"{warning} (in {_config_file(config)})" for warning in warnings]


def _upstream(listen: str) -> tuple[str, str]:
    """Where the proxy reaches the relay, and the address it connects from when on the same
    host (what trusted_proxies must hold)."""
    host, port = parse_address(listen)
    ip = ipaddress.ip_address(host)
    if ip.is_unspecified:
        ip = ipaddress.ip_address("::1" if ip.version == 6 else "127.0.0.1")
    if ip.version == 6:
        return f"[{ip}]:{port}", str(ip)
    return f"{ip}:{port}", str(ip) if ip.is_loopback else "the proxy's own address"


def _writable_for(config: Config, file: Path) -> Path:
    """What the server needs to write `file`: its folder, so the file can be created and
    rotated; only the file itself where that folder also holds the instance's keys."""
    server = config.server
    keys = [*server.private_keys, server.data_key_file, server.relay_key_file]
    folder = file.parent
    holds_keys = any(folder in config.path(key).parents for key in keys if key is not None)
    return file if holds_keys or folder == config.base_dir else folder


def _config_file(config: Config) -> Path:
    return config.source if config.source is not None else config.base_dir / "pwreset.toml"


def _check_name(value: str, option: str) -> None:
    if not _ACCOUNT.fullmatch(value):
        raise DeployError(
            f"{option} {value!r}: use lower-case letters, digits, '-' and '_' (at most 31)"
        )


def _checked(value: object, forbidden: str = "") -> str:
    """`value` as text, refused when it holds what the file's format would read as something
    else (a line break; a variable or placeholder: `forbidden`)."""
    text = str(value)
    if _CONTROL.search(text) or any(char in text for char in forbidden):
        raise DeployError(f"{text!r} cannot be written into the file: it holds {forbidden!r}")
    return text


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _systemd(text: str) -> str:
    return text.replace("%", "%%")  # "%" starts a specifier (%h, %n) in any setting


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pwreset.deploy", "."),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - configuration files, not HTML
    )
    env.filters["systemd"] = lambda value: _quoted(_systemd(_checked(value)))
    # WorkingDirectory= takes the rest of the line as the path: quotes would be kept.
    env.filters["systemd_path"] = lambda value: _systemd(_checked(value))
    env.filters["nginx"] = lambda value: _quoted(_checked(value, "$;{}"))
    env.filters["caddy"] = lambda value: _quoted(_checked(value, "{}"))
    return env


def _render(template: str, **values: object) -> str:
    return _environment().get_template(template).render(**values)
