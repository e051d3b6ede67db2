"""Upgrade safety: after an upgrade changes a stock file that an override hides, the build
warns and `pwreset themes check` shows the change; the override still wins."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builder_support import Document, Instance

from pwreset.builder import BuildOptions, accept_upgrade, build_sites, upgrade_changes
from pwreset.builder.themes import STOCK_THEMES

OVERRIDE = (
    '{% extends "theme:change.html" %}\n'
    '{% block heading %}<h1 id="pw-heading" class="pw-heading">Our own heading</h1>'
    "{% endblock %}\n"
)


@pytest.fixture
def stock(tmp_path: Path) -> Path:
    """A copy of the installed stock themes, which the test 'upgrades' in place."""
    folder = tmp_path / "stock"
    shutil.copytree(STOCK_THEMES / "default", folder / "default")
    return folder


def upgrade(stock: Path, relative: str, old: str, new: str) -> None:
    path = stock / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_an_upgraded_stock_template_under_an_override_is_reported(
    instance: Instance, stock: Path
) -> None:
    instance.write("custom/templates/change.html", OVERRIDE)
    instance.write("custom/messages/en.toml", 'RES_WRONG_PASSWORD = "Try again."\n')
    config = instance.config("[sites.hr]\n")
    options = BuildOptions(stock_themes=stock)
    build_sites(config, options=options)
    assert upgrade_changes(config, options) == []

    upgrade(
        stock,
        "default/templates/change.html",
        "{% block steps %}",
        "{% block steps %}\n<p>New in 2.0</p>",
    )
    build_sites(config, options=options)

    changed = upgrade_changes(config, options)
    assert [(c.override, c.stock) for c in changed] == [
        ("custom/templates/change.html", "themes/default/templates/change.html")
    ]
    assert "+<p>New in 2.0</p>" in changed[0].diff
    assert changed[0].diff.startswith("--- themes/default/templates/change.html (recorded ")
    # The override still wins, and it extends the new stock page.
    doc = Document(instance.read("hr/change.html"))
    assert doc.find("h1").text == "Our own heading"
    assert "New in 2.0" in instance.read("hr/change.html")
    # The report stays until the designer accepts the merge.
    build_sites(config, options=options)
    assert len(upgrade_changes(config, options)) == 1
    accept_upgrade(config, options=options)
    assert upgrade_changes(config, options) == []


def test_a_changed_stock_message_under_a_reworded_one_is_reported(
    instance: Instance, stock: Path
) -> None:
    instance.write("sites/hr/messages/en.toml", 'RES_WRONG_PASSWORD = "HR wording."\n')
    config = instance.config("[sites.hr]\n")
    options = BuildOptions(stock_themes=stock)
    build_sites(config, options=options)

    upgrade(
        stock,
        "default/messages/en.po",
        "That username and password do not match, or the account is locked.",
        "Wrong.",
    )

    changed = upgrade_changes(config, options)
    assert [c.override for c in changed] == ["sites/hr/messages/en.toml#RES_WRONG_PASSWORD"]
    assert changed[0].stock == "themes/default/messages/en.po#RES_WRONG_PASSWORD"
    assert "+Wrong. Check both" in changed[0].diff
    build_sites(config, options=options)
    assert Document(instance.read("hr/change.html")).message("RES_WRONG_PASSWORD") == "HR wording."


def test_a_build_of_another_site_keeps_the_report(instance: Instance, stock: Path) -> None:
    """`pwreset build --site hr` once dropped the record of kiosk's override, so the stock
    change under it was never reported."""
    instance.write("sites/kiosk/templates/change.html", OVERRIDE)
    config = instance.config("[sites.hr]\n[sites.kiosk]\n")
    options = BuildOptions(stock_themes=stock)
    build_sites(config, options=options)
    upgrade(stock, "default/templates/change.html", "{% block steps %}", "{% block steps %}2.0")

    build_sites(config, only=["hr"], options=options)
    build_sites(config, options=options)

    changed = upgrade_changes(config, options)
    assert [c.override for c in changed] == ["sites/kiosk/templates/change.html"]


def test_unchanged_stock_and_files_without_a_stock_original_are_not_reported(
    instance: Instance, stock: Path
) -> None:
    instance.write("custom/templates/change.html", OVERRIDE)
    instance.write("custom/static/extra.css", "h1 { color: red; }\n")  # no stock original
    config = instance.config("[sites.hr]\n")
    options = BuildOptions(stock_themes=stock)
    build_sites(config, options=options)

    upgrade(
        stock, "default/templates/index.html", "{% block menu %}", "{% block menu %}<!-- 2.0 -->"
    )

    assert upgrade_changes(config, options) == []


def test_build_warns_and_themes_check_prints_the_diff(instance: Instance) -> None:
    """Through the CLI, against the installed stock theme: a record made against an older
    stock file (as an upgrade leaves it) is reported by both commands."""
    instance.write("custom/templates/index.html", '{% extends "theme:index.html" %}\n')
    instance.config("[sites.hr]\n")
    command = [sys.executable, "-m", "pwreset"]
    config = ["-c", str(instance.root / "pwreset.toml")]
    first = subprocess.run([*command, "build", *config], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "warning" not in first.stderr
    # Pretend the override was written against an older index.html.
    record = instance.root / ".pwreset" / "overrides.json"
    blobs = instance.root / ".pwreset" / "stock"
    text = record.read_text()
    digest = next(p.name for p in blobs.iterdir())
    (blobs / ("0" * 64)).write_text("old first line\n")
    record.write_text(text.replace(digest, "0" * 64))

    build = subprocess.run([*command, "build", *config], capture_output=True, text=True)
    check = subprocess.run([*command, "themes", "check", *config], capture_output=True, text=True)

    assert build.returncode == 0
    assert (
        "custom/templates/index.html overrides themes/default/templates/index.html" in build.stderr
    )
    assert check.returncode == 1
    assert "-old first line" in check.stdout
    accept = subprocess.run([*command, "themes", "accept", *config], capture_output=True, text=True)
    assert accept.returncode == 0
    again = subprocess.run([*command, "themes", "check", *config], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout
