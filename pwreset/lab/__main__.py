"""`python -m pwreset.lab {slapd|samba} {start|stop|status} --dir DIR`.

start and status print the lab's JSON record (throwaway passwords included: that is what
scripts and humans need to log in to a test directory); stop prints nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from pwreset.lab import record
from pwreset.lab.errors import LabError
from pwreset.lab.samba import SambaLab, running_samba, start_samba, stop_samba
from pwreset.lab.slapd import SlapdLab, running_slapd, start_slapd, stop_slapd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pwreset.lab", description=__doc__)
    parser.add_argument("kind", choices=["slapd", "samba"])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, required=True, help="the lab's root directory")
    parser.add_argument("--cache", type=Path, help="Samba cache dir (default /var/tmp/...)")
    args = parser.parse_args(argv)
    root: Path = args.dir.resolve()
    try:
        lab = _run(args.kind, args.action, root, args.cache)
    except LabError as exc:
        print(f"pwreset.lab: {exc}", file=sys.stderr)
        return 1
    if lab is None:
        return 0
    data = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(lab).items()}
    data["running"] = lab.is_running()
    print(json.dumps(data, indent=2, sort_keys=True))
    return 0 if data["running"] else 3  # 3: "not running", as init scripts' status says


def _run(kind: str, action: str, root: Path, cache: Path | None) -> SlapdLab | SambaLab | None:
    if action == "start":
        if kind == "slapd":
            return running_slapd(root) or start_slapd(root)
        return running_samba(root) or start_samba(root, cache_dir=cache)
    if not record.exists(root):
        raise LabError(f"no lab recorded in {root}")
    if action == "stop":
        if kind == "slapd":
            stop_slapd(root)
        else:
            stop_samba(root)
        return None
    return SlapdLab.from_json(root) if kind == "slapd" else SambaLab.from_json(root)


if __name__ == "__main__":
    raise SystemExit(main())
