"""A site's passkey relying party: from `[sites.<name>]` or `[web] public_url`, and each
mistake refused with the key and the reason (a browser would refuse the ceremony)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pwreset.config import ConfigError
from pwreset.config.loader import parse_config
from pwreset.config.passkey_settings import RelyingParty


def _config(tmp_path: Path, site: dict[str, Any], web: dict[str, Any] | None = None) -> Any:
    return parse_config({"sites": {"hr": site}, "web": web or {}}, tmp_path / "pwreset.toml")


def test_the_relying_party_comes_from_the_site_or_the_public_url(tmp_path: Path) -> None:
    public = {"public_url": "https://pw.example.org/sspr"}
    assert _config(tmp_path, {}, public).relying_party("hr") == RelyingParty(
        "pw.example.org", "Password self-service", ("https://pw.example.org",)
    )
    shared = {"passkey_rp_id": "example.org", "title": "HR"}
    assert _config(tmp_path, shared, public).relying_party("hr") == RelyingParty(
        "example.org", "HR", ("https://pw.example.org",)
    )
    local = {"passkey_origins": ["http://localhost:8080"]}
    assert _config(tmp_path, local).relying_party("hr") == RelyingParty(
        "localhost", "Password self-service", ("http://localhost:8080",)
    )
    assert _config(tmp_path, {}).relying_party("hr") is None  # no passkeys on this site


@pytest.mark.parametrize(
    ("site", "web", "expected"),
    [
        ({"passkey_rp_id": "Example.org"}, {},
         "sites.hr.passkey_rp_id: 'Example.org' is not a domain name"),
        ({"passkey_rp_id": "https://example.org"}, {},
         "sites.hr.passkey_rp_id: 'https://example.org' is not a domain name"),
        ({"passkey_rp_id": "10.0.0.1"}, {}, "an IP address cannot hold passkeys"),
        ({"passkey_origins": ["pw.example.org"]}, {},
         "sites.hr.passkey_origins[0]: 'pw.example.org' is not an origin"),
        ({"passkey_origins": ["http://pw.example.org"]}, {}, "browsers use passkeys only on https://"),
        ({"passkey_origins": ["https://pw.example.org/reset"]}, {}, "an origin has no path"),
        ({"passkey_rp_id": "example.org", "passkey_origins": ["https://pw.example.net"]}, {},
         "sites.hr: passkey_origins: 'https://pw.example.net' is not on 'example.org'"),
        ({"passkey_rp_id": "example.net"}, {"public_url": "https://pw.example.org"},
         "sites.hr.passkey_rp_id 'example.net' is not the host of web.public_url"),
    ],
)  # fmt: skip
def test_a_bad_relying_party_is_refused_naming_the_key(
    tmp_path: Path, site: dict[str, Any], web: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _config(tmp_path, site, web)
    assert expected in str(refused.value)
