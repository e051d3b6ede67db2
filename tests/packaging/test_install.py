"""The folder mapping works for real installs: a wheel, and editable installs in both modes.
The wheel builds without a warning and holds pwreset alone, never the test lab."""

from __future__ import annotations

import os
import re
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
    "pwreset.api",
    "pwreset.server",
    "pwreset.server.directory",
    "pwreset.protocol",
    "pwreset.builder",
    "pwreset.templates",
    "pwreset.themes",
    "pwreset.console",
    "pwreset.deploy",
    "pwreset.console.web",
]
CHECK = """
import importlib, importlib.resources, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
theme = importlib.resources.files("pwreset.themes").joinpath("default", "theme.toml")
assert "name" in theme.read_text(), theme
base = importlib.resources.files("pwreset.templates").joinpath("base.html")
assert "<html" in base.read_text()
unit = importlib.resources.files("pwreset.deploy").joinpath("systemd", "service.j2")
assert "ProtectSystem=strict" in unit.read_text()
console = importlib.resources.files("pwreset.console.web").joinpath("templates", "base.html")
assert "<main>" in console.read_text(), console
catalogue = importlib.resources.files("pwreset.console.web").joinpath("catalogues", "ar.po")
assert 'msgid "nav.users"' in catalogue.read_text(encoding="utf-8"), catalogue
import pwreset.api
print(pwreset.api.__file__)
"""
# What setuptools prints when the packaging is off ("BuildBackendWarning: Package ... would be
# ignored", "warning: ...").
WARNING = re.compile(r"(?i)warning:|would be ignored")
# What only the test lab does: install Debian packages and block the daemons they start.
LAB_MARKS = (b"apt-get", b"dpkg", b"policy-rc.d")

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


@pytest.fixture(scope="module")
def built(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel `python -m build` makes of the checkout, and everything the build printed."""
    dist = tmp_path_factory.mktemp("dist")
    # Byte-compiling left off (PYTHONDONTWRITEBYTECODE) is a warning of its own: an
    # environment's choice, not the project's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)],
        capture_output=True,
        text=True,
        env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return next(dist.glob("pwreset-*.whl")), output


def test_the_build_prints_no_warning(built):
    _, output = built
    warnings = [line for line in output.splitlines() if WARNING.search(line)]
    assert not warnings, "\n".join(warnings)


def test_the_wheel_holds_no_test_lab(built):
    """Nothing in pwreset installs packages or touches the system: that is the lab's, a
    distribution of its own (lab/)."""
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        lab = [n for n in names if "lab" in n.split("/") or n.startswith("pwreset_lab")]
        assert not lab, lab
        marked = {
            name: mark.decode()
            for name in names
            for mark in LAB_MARKS
            if mark in archive.read(name)
        }
    assert not marked, marked


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new venv with the wheel installed (and no test lab)."""
    wheel, _ = built
    python = _venv(tmp_path_factory.mktemp("wheel") / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    return python


def test_wheel_maps_every_folder_into_pwreset(built, installed, tmp_path, deps):
    wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("pwreset-")}
    assert top == {"pwreset"}, "nothing but pwreset is installed at the top level"
    assert "pwreset/themes/default/theme.toml" in names
    location = _check(installed, tmp_path, deps)
    assert location.startswith(str(installed.parents[1]))


def test_demo_without_the_lab_says_what_to_install(installed, tmp_path, deps):
    done = subprocess.run(
        [str(installed), "-m", "pwreset", "demo"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(deps), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert f"{installed} -m pip install ./lab" in done.stderr, done.stderr


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
