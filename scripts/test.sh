#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs what it needs, checks
# lint, format and types, then runs every test. The tests start their own directories
# (OpenLDAP slapd, Samba AD), SMTP server and Chromium on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
scripts/typecheck.sh
echo "== pytest"
mkdir -p artifacts
# Parallel workers, each in a network namespace of its own (tests/support/workers.py): the
# Samba lab's ports are fixed, so only namespaces let two labs run at once. Making one needs
# root; elsewhere the suite runs in one process.
parallel=()
if unshare --net sh -c 'ip link set lo up' 2>/dev/null; then
  parallel=(-n "${PWRESET_TEST_WORKERS:-2}" --dist loadgroup)
else
  echo "pytest: in one process (parallel workers need network namespaces: run as root)"
fi
exec .venv/bin/pytest -p no:cacheprovider "${parallel[@]}" "$@"
