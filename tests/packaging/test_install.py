"""The folder mapping works for real installs: a wheel, and editable installs in both modes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = [
    "pwreset",
    "pwreset.cli",
    "pwreset.config",
    "pwreset.lab",
    "pwreset.api",
    "pwreset.server",
    "pwreset.server.directory",
    "pwreset.protocol",
    "pwreset.builder",
    "pwreset.templates",
    "pwreset.themes",
    "pwreset.console",
]
CHECK = """
import importlib, importlib.resources, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
theme = importlib.resources.files("pwreset.themes").joinpath("default", "theme.toml")
assert "name" in theme.read_text(), theme
base = importlib.resources.files("pwreset.templates").joinpath("base.html")
assert "<html" in base.read_text()
import pwreset.api
print(pwreset.api.__file__)
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's files, so installs leave the working tree alone."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    dest = tmp_path_factory.mktemp("src") / "pwreset"
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def deps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test environment's libraries without its own pwreset install (whose editable
    finder module has the same name as the one under test)."""
    folder = tmp_path_factory.mktemp("deps")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("__editable__", "pwreset")):
            (folder / entry.name).symlink_to(entry)
    return folder


def _check(python: Path, cwd: Path, deps: Path) -> str:
    # Dependencies come from the test environment; pwreset itself only from the new venv.
    out = subprocess.run(
        [str(python), "-c", CHECK, ",".join(SUBPACKAGES)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(deps), "PATH": "/usr/bin:/bin"},
        cwd=cwd,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_wheel_maps_every_folder_into_pwreset(source, tmp_path, deps):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("pwreset-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("pwreset-")}
    assert top == {"pwreset"}, "nothing but pwreset is installed at the top level"
    assert "pwreset/themes/default/theme.toml" in names
    python = _venv(tmp_path / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    location = _check(python, tmp_path, deps)
    assert location.startswith(str(tmp_path / "venv"))


@pytest.mark.parametrize("mode", ["lenient", "strict"])
def test_editable_install_imports_from_the_checkout(source, tmp_path, mode, deps):
    python = _venv(tmp_path / "venv")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--config-settings",
            f"editable_mode={mode}",
            "-e",
            str(source),
        ],
        check=True,
    )
    location = Path(_check(python, tmp_path, deps))
    if mode == "lenient":
        assert location == source / "api" / "__init__.py"
    else:
        assert location.resolve() == (source / "api" / "__init__.py").resolve()
