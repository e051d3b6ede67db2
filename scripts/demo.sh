#!/usr/bin/env bash
# The demo on a fresh Debian 12 machine: installs what it needs, then runs `pwreset demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
exec .venv/bin/pwreset demo "$@"
