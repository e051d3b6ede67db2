"""`python -m pwreset_lab {slapd|samba|postgres} {start|stop|status} --dir DIR`.

start and status print the lab's JSON record (throwaway passwords included: that is what
scripts and humans need to log in to a test directory); stop prints nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from pwreset_lab.daemon import LabDaemon, is_recorded
from pwreset_lab.errors import LabError
from pwreset_lab.postgres import PostgresLab, start_postgres
from pwreset_lab.samba import SambaLab, start_samba
from pwreset_lab.slapd import SlapdLab, start_slapd

_KINDS: dict[str, type[LabDaemon]] = {
    "slapd": SlapdLab,
    "samba": SambaLab,
    "postgres": PostgresLab,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pwreset_lab", description=__doc__)
    parser.add_argument("kind", choices=sorted(_KINDS))
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, required=True, help="the lab's root directory")
    parser.add_argument("--cache", type=Path, help="Samba cache dir (default /var/tmp/...)")
    args = parser.parse_args(argv)
    root: Path = args.dir.resolve()
    try:
        lab = _run(args.kind, args.action, root, args.cache)
    except LabError as exc:
        print(f"pwreset_lab: {exc}", file=sys.stderr)
        return 1
    if lab is None:
        return 0
    data = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(lab).items()}
    data["running"] = lab.is_running()
    print(json.dumps(data, indent=2, sort_keys=True))
    return 0 if data["running"] else 3  # 3: "not running", as init scripts' status says


def _run(kind: str, action: str, root: Path, cache: Path | None) -> LabDaemon | None:
    lab_class = _KINDS[kind]
    if action == "start":
        if kind == "slapd":
            return SlapdLab.running(root) or start_slapd(root)
        if kind == "postgres":
            return PostgresLab.running(root) or start_postgres(root)
        return SambaLab.running(root) or start_samba(root, cache_dir=cache)
    if not is_recorded(root):
        raise LabError(f"no lab recorded in {root}")
    lab = lab_class.from_json(root)
    if action == "stop":
        lab.stop()
        return None
    return lab


if __name__ == "__main__":
    raise SystemExit(main())
