"""What a refused web console sign-in's audit row names: the domain and the name tried, as
the audit may hold them (config only; the refusals themselves run in tests/browser)."""

from __future__ import annotations

from pathlib import Path

import pwreset.cli  # noqa: F401  (first: the console's modules are loaded through the CLI)
from pwreset.config import load_config
from pwreset.console.web.signin import Attempt
from pwreset.protocol.limits import FIELD_LIMITS

from support.console_instance import UNREACHED_DOMAIN


def test_the_name_tried_is_kept_escaped_and_cut_to_the_audit_fields(tmp_path: Path) -> None:
    (tmp_path / "pwreset.toml").write_text(UNREACHED_DOMAIN)
    config = load_config(tmp_path / "pwreset.toml")
    default = "LAB"
    assert Attempt.of(config, "boss") == Attempt(default, "boss")
    assert Attempt.of(config, f"{default.lower()}\\boss").domain == default  # as configured
    forged = Attempt.of(config, "NOWHERE\\boss\r\nsuccess console admin")
    assert forged == Attempt("NOWHERE", "boss\\x0d\\x0asuccess console admin")
    assert Attempt.of(config, "  ").name == "-"
    long = Attempt.of(config, "x" * 300)
    assert len(long.name) == FIELD_LIMITS["username"] and len(long.who) <= FIELD_LIMITS["by"]
