"""Golden output: the sample instance in golden/instance builds to exactly golden/expected.

After an intended change to templates, styles, script or texts, regenerate the expected
output and review its diff like any other change:

    PWRESET_UPDATE_GOLDEN=1 .venv/bin/pytest tests/builder/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pwreset.builder import build_sites
from pwreset.config.loader import load_config

GOLDEN = Path(__file__).parent / "golden"


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sample_instance_builds_to_the_expected_output(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    shutil.copytree(GOLDEN / "instance", instance)

    build_sites(load_config(instance / "pwreset.toml"))

    built = files_under(instance / "site")
    expected = GOLDEN / "expected"
    if os.environ.get("PWRESET_UPDATE_GOLDEN") == "1":
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(instance / "site", expected)
    wanted = files_under(expected)
    assert sorted(built) == sorted(wanted)
    for name, data in built.items():
        assert data == wanted[name], f"{name} differs from golden/expected (see the docstring)"
