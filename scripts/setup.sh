#!/usr/bin/env bash
# Installs what pwreset needs on a Debian 12 machine: Debian packages (as root), a Python
# virtual environment in .venv with pwreset, the test lab (lab/) and the test tools, and the
# npm tools the browser tests use. Safe to run again: each step skips what is already there.
#   scripts/setup.sh          everything (tests)
#   scripts/setup.sh demo     only what `pwreset demo` needs
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

demo_packages=(slapd ldap-utils openssl python3-venv)
# nginx-light and caddy: the reverse proxies `pwreset deploy` configures (tests/deploy).
test_packages=(samba samba-ad-dc samba-ad-provision winbind krb5-user chromium iproute2 nftables postgresql
  nginx-light caddy)
packages=("${demo_packages[@]}")
[ "$what" = demo ] || packages+=("${test_packages[@]}")
# Node.js may come from another source that bundles npm (Debian's npm would conflict).
if [ "$what" != demo ] && ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # No init system here: keep package scripts from starting the distribution's slapd, samba,
  # postgresql, nginx and caddy, which would take the ports the labs and tests use.
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
project=".[test]"
[ "$what" = demo ] && project=.
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# pwreset and, from lab/, pwreset-lab: the throwaway directories of the demo and the tests
# (never part of pwreset's own wheel). One command, so pwreset-lab's dependency on pwreset
# is met by this checkout. setuptools notes every editable install of pwreset's mapped
# folders ("Editable installation ... folders in your working directory"): nothing to do.
PYTHONWARNINGS="ignore:Editable installation" \
  .venv/bin/python -m pip install -q -e "$project" -e ./lab

if [ "$what" != demo ]; then
  # axe-core (accessibility checks in the browser tests), pinned by package-lock.json.
  if [ -f package-lock.json ]; then
    npm ci --silent --no-audit --no-fund >/dev/null
  fi
fi
echo "setup: done"
