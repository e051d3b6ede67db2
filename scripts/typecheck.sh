#!/usr/bin/env bash
# mypy over the `pwreset` package as installed: the top-level folders are mapped into it by
# setuptools, which mypy cannot follow, so a tree of links mirrors the mapping.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/pwreset"
for entry in pwreset/*; do ln -s "$PWD/$entry" "$tree/pwreset/"; done
for pair in api:api server:server protocol:protocol builder:builder console:console deploy:deploy; do
  ln -s "$PWD/${pair#*:}" "$tree/pwreset/${pair%%:*}"
done
ln -s "$PWD/lab/pwreset_lab" "$tree/pwreset_lab"  # the test lab, its own distribution
cd "$tree"
exec ../../.venv/bin/mypy --config-file ../../pyproject.toml -p pwreset -p pwreset_lab
