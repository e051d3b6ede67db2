"""`pwreset deploy nginx|caddy` without running a proxy: what it says about pwreset.toml, and
what it refuses to write."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.cli import main
from pwreset.instance import create_instance


def _instance(folder: Path, web: str) -> str:
    create_instance(folder, config_text=f"[web]\n{web}\n")
    return str(folder / "pwreset.toml")


@pytest.mark.parametrize("kind", ["nginx", "caddy"])
def test_it_names_what_keeps_the_relay_from_trusting_the_proxy(tmp_path, capsys, kind):
    config = _instance(tmp_path / "a", 'listen = "0.0.0.0:8080"')
    assert main(["deploy", kind, "-c", config, "--server-name", "sspr.example.org"]) == 0
    out, err = capsys.readouterr()
    assert "127.0.0.1:8080" in out  # a wildcard listen is reached on loopback
    assert '[web] trusted_proxies does not hold 127.0.0.1: add "127.0.0.1/32"' in err
    assert "[web] require_https is off" in err


def test_it_refuses_what_the_proxy_would_misread(tmp_path, capsys):
    config = _instance(tmp_path / "a", 'public_url = "https://sspr.example.org"')
    # The server name comes from public_url; a cert path with an nginx variable is refused.
    assert main(["deploy", "nginx", "-c", config, "--cert", "/x/$host.pem", "--key", "k"]) == 2
    assert "cannot be written into the file" in capsys.readouterr().err
    for bad in (["--server-name", "a b;"], ["--cert", "c.pem"]):
        assert main(["deploy", "caddy", "-c", config, *bad]) == 2
    err = capsys.readouterr().err
    assert "is not a host name" in err and "give both --cert and --key" in err
    tls = _instance(tmp_path / "b", 'tls_cert_file = "c.pem"\ntls_key_file = "k.pem"')
    assert main(["deploy", "caddy", "-c", tls, "--server-name", "sspr.example.org"]) == 2
    assert "tls_cert_file is set" in capsys.readouterr().err
