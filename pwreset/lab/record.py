"""Persist a lab description as root/lab.json so other processes can find and stop it."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from pwreset.lab.errors import LabError

RECORD = "lab.json"

T = TypeVar("T")


def save(lab: Any, root: Path) -> None:
    """Write the dataclass `lab` to root/lab.json, readable by root's owner only."""
    data = {
        f.name: str(v) if isinstance(v := getattr(lab, f.name), Path) else v
        for f in dataclasses.fields(lab)
    }
    path = root / RECORD
    tmp = path.with_suffix(".tmp")
    # The record holds the throwaway lab's passwords: create it 0600 from the start.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2, sort_keys=True)
        out.write("\n")
    tmp.replace(path)


def load(cls: type[T], root: Path) -> T:
    """Read root/lab.json back into `cls` (a dataclass whose Path fields are typed `Path`)."""
    path = root / RECORD
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LabError(f"no lab recorded in {root}: {exc}") from exc
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.type in ("Path", Path) and f.name in data:
            data[f.name] = Path(data[f.name])
    try:
        return cls(**data)
    except TypeError as exc:
        raise LabError(f"{path} does not describe a {cls.__name__}: {exc}") from exc


def exists(root: Path) -> bool:
    return (root / RECORD).is_file()
