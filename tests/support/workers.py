"""Parallel test workers (pytest-xdist `-n N`), each in a private network namespace.

The Samba lab listens on fixed ports (389, 636, 3268, 3269), so two labs cannot share a
network namespace. Every local worker is therefore started through `unshare --net` with its
own loopback: it starts its own labs, SMTP servers, relays and Chromium on its own 127.0.0.1
and never meets another worker's (or another test run's). Workers talk to the controller
over pipes, which a network namespace does not cut. Making a namespace needs root; without
it, `-n` is refused with the reason (scripts/test.sh then runs the suite in one process).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest

# What the worker's command line runs inside the new namespace: loopback up (a new namespace
# starts with it down), then the worker itself, `$0 "$@"` = this python and execnet's
# arguments (`-u -c <bootstrap>`).
_INSIDE = 'ip link set lo up && exec "$0" "$@"'


def in_worker() -> bool:
    """True in an xdist worker process (its labs are its own, see the module docstring)."""
    return "PYTEST_XDIST_WORKER" in os.environ


def namespaces_available() -> bool:
    """True if this process may make a network namespace and bring its loopback up."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = ["unshare", "--net", "sh", "-c", "ip link set lo up"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def isolated_spec(spec: str) -> str:
    """An execnet spec for a local worker whose python starts in a new network namespace.

    Specs that already name their python, or are not local (`ssh=`, `socket=`), are left as
    they are: whoever wrote them decided where the worker runs.
    """
    count, star, rest = spec.rpartition("*")
    keys = [part.partition("=")[0] for part in rest.split("//")]
    if "popen" not in keys or "python" in keys:
        return spec
    python = shlex.join(["unshare", "--net", "sh", "-c", _INSIDE, sys.executable])
    return f"{count}{star}{rest}//python={python}"


def isolate_workers(config: pytest.Config) -> None:
    """In the controller of a parallel run, start every local worker in its own namespace."""
    if hasattr(config, "workerinput") or config.getoption("dist", "no") == "no":
        return
    # Hand out test files in collection order, never the biggest first: browser tests must
    # stay last on each worker (see tests/conftest.py).
    config.option.loadscopereorder = False
    specs: list[str] = config.getoption("tx", None) or []
    if not specs:
        return
    if not namespaces_available():
        raise pytest.UsageError(
            "parallel workers (-n) each need a private network namespace (the Samba lab "
            "binds fixed ports), and `unshare --net` is not permitted here (it needs root "
            "and iproute2): run the tests without -n"
        )
    config.option.tx = [isolated_spec(spec) for spec in specs]


def group_by_file(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, a test file runs whole on one worker, so its module
    fixtures (servers, builds) start once. A file marked `spread` lets its tests go to any
    worker (for a few long tests whose fixtures are cheap); a test with its own
    `xdist_group` keeps it."""
    for item in items:
        if item.get_closest_marker("xdist_group") or item.get_closest_marker("spread"):
            continue
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
