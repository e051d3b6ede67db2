"""Make sure the Debian packages a lab needs are installed, installing them if we may."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from pwreset_lab.errors import LabError

APT_FLAGS = ["-y", "-qq", "--no-install-recommends"]
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")

# Without dpkg we can only look for each package's main file; anything not listed here
# counts as missing there, which leads to the error naming the install command.
_MAIN_FILE = {
    "slapd": "slapd",
    "ldap-utils": "ldapsearch",
    "openssl": "openssl",
    "samba": "samba",
    "samba-ad-dc": "samba-tool",
    "winbind": "winbindd",
    "krb5-user": "kinit",
}


def apt_command(packages: list[str]) -> str:
    """The command a human would run to install `packages`."""
    return shlex.join(["apt-get", "install", *APT_FLAGS, *packages])


def missing_packages(packages: list[str]) -> list[str]:
    """The subset of `packages` that is not installed."""
    if shutil.which("dpkg-query"):
        return [p for p in packages if not _dpkg_installed(p)]
    return [p for p in packages if p not in _MAIN_FILE or not shutil.which(_MAIN_FILE[p])]


def _dpkg_installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    # "ii " = wanted install, installed; anything else (rc, un, not found) is missing.
    return done.returncode == 0 and done.stdout.startswith("ii")


def ensure_packages(packages: list[str]) -> None:
    """Return when all `packages` are installed; install them as root on Debian, else raise."""
    missing = missing_packages(packages)
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise LabError(
            f"missing packages {', '.join(missing)}; install them as root with: "
            f"{apt_command(missing)}"
        )
    _block_daemon_starts()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", *APT_FLAGS, *missing]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        # Most often the package lists are empty or stale (fresh image): refresh once, retry.
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LabError(
                f"{apt_command(missing)} failed (exit {done.returncode}):\n"
                f"{_tail(done.stdout + done.stderr)}"
            )
    still = missing_packages(missing)
    if still:
        raise LabError(f"still missing after apt-get: {', '.join(still)}")


def _block_daemon_starts() -> None:
    # Without systemd, postinst scripts would start the distro smbd/nmbd/slapd, and the
    # distro slapd would take port 389 that the Samba lab needs. Exit 101 = "not allowed".
    if not POLICY_RC_D.exists():
        POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC_D.chmod(0o755)


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])
