"""`pwreset db check|backup|restore|compact|move|rotate-key|copy`: the database tools."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pwreset.cli.options import config_of
from pwreset.console.command import (
    EXIT_PROBLEM,
    add_action,
    command_group,
    data_dir,
    data_key,
    open_owner,
)
from pwreset.console.db_copy import add_copy
from pwreset.protocol.errors import KeyFileError
from pwreset.server.storage import maintenance
from pwreset.server.storage.record_cipher import data_key_id

_NEW_FOLDER = "a new (or empty) folder"


def register(sub: Any) -> None:
    actions = command_group(
        sub, "db", "check, back up, restore, compact, move or copy the database; rotate its key"
    )
    add_action(actions, "check", "load everything and open every record (read-only)", _check)
    backup = add_action(actions, "backup", "a consistent copy, also while the server runs", _backup)
    backup.add_argument("dest", type=Path, metavar="FOLDER", help=_NEW_FOLDER)
    restore = add_action(
        actions, "restore", "replace the data with a backup (server stopped)", _restore
    )
    restore.add_argument("source", type=Path, metavar="FOLDER", help="made by `pwreset db backup`")
    add_action(actions, "compact", "rewrite the snapshot now (server stopped)", _compact)
    move = add_action(actions, "move", "move the data to a new folder (server stopped)", _move)
    move.add_argument("dest", type=Path, metavar="FOLDER", help=_NEW_FOLDER)
    add_action(
        actions, "rotate-key", "seal every record under a new data key (server stopped)", _rotate
    )
    add_copy(actions)


def _check(args: argparse.Namespace) -> int:
    config = config_of(args)
    try:
        key: bytes | None = data_key(config)
    except KeyFileError as exc:
        key = None
        print(f"note: records not opened: {exc}")
    report = maintenance.check(data_dir(config), key)
    print(
        f"{data_dir(config)}: {report.users} users, {report.audit_events} audit events "
        f"in {report.audit_segments} daily segments"
    )
    for kid, count in sorted(report.key_ids.items()):
        current = " (the configured data key)" if key and kid == data_key_id(key) else ""
        print(f"  {count} records sealed with data key {kid}{current}")
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("ok" if not report.problems else f"{len(report.problems)} problem(s)")
    return EXIT_PROBLEM if report.problems else 0


def _backup(args: argparse.Namespace) -> int:
    config = config_of(args)
    report = maintenance.backup(data_dir(config), args.dest)
    print(f"{report.path}: {report.users} users and {report.audit_events} audit events, verified")
    print("It holds answer hashes (sealed): keep it as safe as the server, with its data key.")
    return 0


def _restore(args: argparse.Namespace) -> int:
    config = config_of(args)
    manifest = maintenance.verify_backup(args.source)
    key_ids = manifest.get("key_ids") or []
    current = data_key_id(data_key(config))
    if isinstance(key_ids, list) and key_ids and current not in key_ids:
        print(
            f"pwreset: the backup's records are sealed with data key {', '.join(key_ids)}, "
            f"not the configured key {current}: restore the matching key file first"
        )
        return EXIT_PROBLEM
    kept = maintenance.restore(args.source, data_dir(config))
    print(
        f"{data_dir(config)}: restored from {args.source} "
        f"({manifest['users']} users, {manifest['audit_events']} audit events)"
    )
    print(f"The data it replaced is in {kept}; delete it once you are satisfied.")
    return 0


def _compact(args: argparse.Namespace) -> int:
    config = config_of(args)
    with open_owner(config) as db:
        db.storage.compact()
        count = len(db.users)
    print(f"{data_dir(config)}: compacted; {count} users in the new snapshot")
    return 0


def _move(args: argparse.Namespace) -> int:
    config = config_of(args)
    old = data_dir(config)
    report = maintenance.move(old, args.dest)
    print(f"{args.dest}: {report.users} users and {report.audit_events} audit events, verified")
    print(f'Now set server.data_dir = "{args.dest}" in {config.source or "pwreset.toml"}.')
    print(
        f"{old} is marked as moved (a server pointed at it refuses to start); delete it "
        "once the server runs from the new folder: it holds answer hashes."
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    config = config_of(args)
    key_file = config.path(config.server.data_key_file)
    report = maintenance.rotate_key(data_dir(config), key_file)
    print(
        f"data key rotated: {report.old_key_id} -> {report.new_key_id}; "
        f"{report.resealed} records sealed again"
    )
    if report.old_key_kept:
        print(
            f"The old key is kept in {report.old_key_kept}: backups made before now need it. "
            "Delete it when they expire."
        )
    return 0
