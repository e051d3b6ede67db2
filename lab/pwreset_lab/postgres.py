"""A throwaway PostgreSQL on loopback from Debian's packages: its own data folder, `initdb`,
a free port. PostgreSQL refuses to run as root, so as root it runs as `nobody`: the data
folder is that user's, and every folder above it must let that user through."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pwreset_lab import net
from pwreset_lab.daemon import LabDaemon
from pwreset_lab.directory import throwaway_password
from pwreset_lab.errors import LabError
from pwreset_lab.packages import ensure_packages

PACKAGES = ["postgresql"]
# Debian keeps the server's programs out of PATH, one folder per major version.
_BIN_DIRS = Path("/usr/lib/postgresql")
UNPRIVILEGED_USER = "nobody"
SUPERUSER = "pwreset"
DATABASE = "postgres"
# A lab for tests: durability is the test machine's last worry, speed its first.
_SETTINGS = {
    "listen_addresses": net.LOOPBACK,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
}


@dataclass(kw_only=True)
class PostgresLab(LabDaemon):
    """A running (or recorded) PostgreSQL lab: connect with `dsn` and `password`."""

    EXE = "postgres"
    START_TIMEOUT = 30.0
    STOP_GRACE = 5.0

    port: int
    password: str
    user: str = SUPERUSER
    database: str = DATABASE

    @property
    def workdir(self) -> Path:
        return self.root / "data"  # the postmaster moves into its data folder

    @property
    def dsn(self) -> str:
        """The connection string, without the password (pass that on its own)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def start_postgres(root: Path, *, port: int | None = None) -> PostgresLab:
    """Make a fresh cluster under `root` (wiping an old stopped lab there) and start it."""
    ensure_packages(PACKAGES)
    bin_dir = _bin_dir()
    root = root.resolve()
    PostgresLab.prepare_root(root)
    run_as = UNPRIVILEGED_USER if os.geteuid() == 0 else None
    if run_as is not None:
        _open_path_to(root, run_as)
        account = pwd.getpwnam(run_as)
        os.chown(root, account.pw_uid, account.pw_gid)
    lab = PostgresLab(root=root, pid=0, port=port or net.free_port(), password=throwaway_password())
    net.require_free([lab.port], [], "postgres")
    password_file = root / "password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(lab.password + "\n")
    if run_as is not None:
        os.chown(password_file, account.pw_uid, account.pw_gid)
    try:
        _run(
            [
                str(bin_dir / "initdb"), "-D", str(lab.workdir), "-U", SUPERUSER,
                f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8",
                "--locale=C", "--no-sync",
            ],
            user=run_as,
            cwd=root,
        )  # fmt: skip
    finally:
        password_file.unlink()
    settings = [arg for name, value in _SETTINGS.items() for arg in ("-c", f"{name}={value}")]
    argv = [str(bin_dir / "postgres"), "-D", str(lab.workdir), "-p", str(lab.port),
            "-c", f"unix_socket_directories={root}", *settings]  # fmt: skip
    pg_isready = [str(bin_dir / "pg_isready"), "-q", "-h", lab.host, "-p", str(lab.port)]
    lab.launch(
        argv,
        root / "postgres.log",
        ready=lambda: subprocess.run(pg_isready, check=False).returncode == 0,
        what="PostgreSQL accepting connections",
        user=run_as,
    )
    return lab


def _bin_dir() -> Path:
    found = sorted(
        (path for path in _BIN_DIRS.glob("*/bin") if (path / "postgres").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not found:
        raise LabError(f"no PostgreSQL server in {_BIN_DIRS}/*/bin; install postgresql")
    return found[-1]


def _open_path_to(root: Path, user: str) -> None:
    """Refuse, naming the folder, when `user` cannot reach `root` (its parents are ours)."""
    for parent in reversed(root.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise LabError(
                f"PostgreSQL runs as {user}, who cannot enter {parent} (mode "
                f"{stat.S_IMODE(mode):04o}); let others through it: chmod o+x {parent}"
            )


def _run(argv: list[str], *, user: str | None, cwd: Path) -> None:
    group = pwd.getpwnam(user).pw_gid if user else None
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, cwd=cwd, user=user, group=group,
        extra_groups=[] if user else None,
    )  # fmt: skip
    if done.returncode != 0:
        raise LabError(f"{argv[0]} failed (exit {done.returncode}): {done.stderr.strip()}")
