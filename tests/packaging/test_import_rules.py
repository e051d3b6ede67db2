"""The package rules of docs/architecture.md, checked on the source: what each package must
never import. Imports inside functions count too (a lazy import still loads the package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support import source_tree

ROOT = Path(__file__).resolve().parents[2]

# folder → (its import name, the import prefixes it must never use), as in the docs' table.
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "protocol": (
        "pwreset.protocol",
        (
            "pwreset.api",
            "pwreset.server",
            "pwreset.builder",
            "pwreset.console",
            "pwreset.cli",
            "pwreset.config",
            "pwreset_lab",
        ),
    ),
    "api": (
        "pwreset.api",
        ("pwreset.server", "pwreset.builder", "pwreset.console", "pwreset_lab", "ldap3", "tinydb"),
    ),
    "server": (
        "pwreset.server",
        ("pwreset.api", "pwreset.builder", "pwreset.console", "pwreset_lab"),
    ),
    "server/directory": (
        "pwreset.server.directory",
        ("pwreset.server.flows", "pwreset.server.storage", "pwreset.server.notify"),
    ),
    "server/flows": (
        "pwreset.server.flows",
        ("pwreset.server.service", "pwreset.server.runner", "ldap3", "tinydb"),
    ),
    "server/flows/factors": (
        "pwreset.server.flows.factors",
        ("pwreset.server.service", "pwreset.server.runner", "ldap3", "tinydb"),
    ),
    "server/passwords": (
        "pwreset.server.passwords",
        (
            "pwreset.server.flows",
            "pwreset.server.service",
            "pwreset.server.runner",
            "pwreset.server.notify",
            "ldap3",
            "tinydb",
        ),
    ),
    "server/siem": (
        "pwreset.server.siem",
        (
            "pwreset.server.service",
            "pwreset.server.runner",
            "pwreset.server.directory",
            "pwreset.server.notify",
            "ldap3",
            "tinydb",
        ),
    ),
    "server/storage": (
        "pwreset.server.storage",
        ("pwreset.server.flows", "pwreset.server.directory"),
    ),
    "server/storage/postgres": (
        "pwreset.server.storage.postgres",
        ("pwreset.server.flows", "pwreset.server.directory"),
    ),
    "builder": (
        "pwreset.builder",
        ("pwreset.server", "pwreset.api", "pwreset.console", "pwreset_lab"),
    ),
    "console": ("pwreset.console", ("pwreset.api", "pwreset.builder", "pwreset_lab")),
    "deploy": (
        "pwreset.deploy",
        ("pwreset.server", "pwreset.builder", "pwreset.console", "pwreset_lab"),
    ),
    "pwreset/config": (
        "pwreset.config",
        ("pwreset.api", "pwreset.server", "pwreset.builder", "pwreset.console", "pwreset_lab"),
    ),
}
RULES["pwreset/cli"] = ("pwreset.cli", ("pwreset_lab",))
# The one allowed exception: the demo loads the lab lazily and says what to install without it.
ALLOWED = {("pwreset/cli/demo.py", "pwreset_lab")}


def imported(path: Path, package: str) -> set[str]:
    """Every module `path` imports, relative imports resolved against `package`."""
    tree = source_tree.parse(path)
    here = package if path.name == "__init__.py" else f"{package}.{path.stem}"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = here.split(".")
                base = ".".join(parts[: len(parts) - node.level])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _package_of(path: Path, folder: str, package: str) -> str:
    rel = path.parent.relative_to(ROOT / folder)
    return ".".join([package, *rel.parts]) if rel.parts else package


@pytest.mark.parametrize("folder", sorted(RULES))
def test_each_package_keeps_its_import_rules(folder):
    package, forbidden = RULES[folder]
    broken = []
    for path in _sources(folder):
        for name in imported(path, _package_of(path, folder, package)):
            rel = str(path.relative_to(ROOT))
            for prefix in forbidden:
                hit = name == prefix or name.startswith(prefix + ".")
                if hit and (rel, prefix) not in ALLOWED:
                    broken.append(f"{rel} imports {name}")
    assert not broken, "\n".join(sorted(set(broken)))


def test_only_the_cli_imports_the_console():
    users = []
    for folder, (package, _) in RULES.items():
        if folder in ("console", "pwreset/cli"):
            continue
        for path in _sources(folder):
            names = imported(path, _package_of(path, folder, package))
            if any(n == "pwreset.console" or n.startswith("pwreset.console.") for n in names):
                users.append(str(path.relative_to(ROOT)))
    assert users == []
    cli = [
        path
        for path in _sources("pwreset/cli")
        if any(n.startswith("pwreset.console") for n in imported(path, "pwreset.cli"))
    ]
    assert cli, "the CLI registers the console's commands"


def test_the_rules_catch_a_forbidden_import(tmp_path):
    # The checker itself: a relay module importing the backend is seen, lazily or not.
    sample = tmp_path / "endpoints.py"
    sample.write_text("def f():\n    from ..server.flows import recovery\n")
    assert "pwreset.server.flows" in imported(sample, "pwreset.api")
