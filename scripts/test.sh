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
exec .venv/bin/pytest -p no:cacheprovider "$@"
