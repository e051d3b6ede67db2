"""The secrets-at-rest scan the reliability runs use on their folders finds what it must."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.secrets_scan import assert_no_secrets, find_secrets


def test_the_scan_finds_a_secret_in_any_file_under_a_folder(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "server.log").write_text("reset done for ann\n")
    (tmp_path / "audit.db").write_bytes(b"\x00" + "Hunter2!pw".encode("utf-16-le"))
    (tmp_path / "short.txt").write_text("no")

    assert find_secrets([tmp_path], {"Hunter2!pw", "no"}) == [f"{tmp_path / 'audit.db'} holds Hun…"]
    with pytest.raises(AssertionError, match=r"audit\.db holds Hun…"):
        assert_no_secrets([tmp_path], {"Hunter2!pw"})
    assert_no_secrets([tmp_path / "logs"], {"Hunter2!pw"})


def test_a_scan_of_nothing_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="nothing to scan"):
        assert_no_secrets([tmp_path / "missing"], {"Hunter2!pw"})
