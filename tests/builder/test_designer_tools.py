"""The designer's tools: `--explain`, `--watch`, incremental rebuilds, and what preview and
gallery builds add (and production builds never carry)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from builder_support import Document, Instance, wait_for, watching

from pwreset.builder import BuildOptions, build_sites


def pwreset(instance: Instance, *args: str) -> subprocess.CompletedProcess[str]:
    config = ["-c", str(instance.root / "pwreset.toml")]
    return subprocess.run(
        [sys.executable, "-m", "pwreset", *args[:1], *config, *args[1:]],
        capture_output=True,
        text=True,
    )


def age(root: Path) -> None:
    """Make every file under `root` look a minute old (a designer's files, not this test's)."""
    past = time.time() - 60
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past))


def test_explain_names_every_layer_and_the_winner(instance: Instance) -> None:
    instance.write("custom/templates/change.html", '{% extends "theme:change.html" %}\n')
    instance.config('[sites.hr]\ntheme = "contrast"\n')

    result = pwreset(instance, "build", "--explain", "hr", "change.html")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "site 'hr', theme 'contrast' extends 'default': templates 'change.html'"
    rows = [line.split()[:3] for line in lines[2:7]]
    assert rows == [
        ["1.", "-", "site"],
        ["2.", "WINS", "custom"],
        ["3.", "-", "theme"],
        ["4.", "shadowed", "theme"],
        ["5.", "-", "base"],
    ]
    assert "themes/default/templates/change.html" in lines[5]
    assert lines[7] == "  the winner extends 'theme:change.html'"


def test_explain_a_message_id_per_language(instance: Instance) -> None:
    instance.write("sites/hr/messages/de.toml", 'RES_WRONG_ANSWER = "Falsch."\n')
    instance.config('[sites.hr]\nlanguages = ["en", "de"]\n')

    result = pwreset(instance, "build", "--explain", "hr", "RES_WRONG_ANSWER")

    assert result.returncode == 0
    de = result.stdout.split("[de]")[1]
    winner = next(line for line in de.splitlines() if "WINS" in line)
    assert "sites/hr/messages/de.toml" in winner
    assert "'Falsch.'" in de
    en = result.stdout.split("[de]")[0]
    assert "themes/default/messages/en.po" in next(
        line for line in en.splitlines() if "WINS" in line
    )


def test_explain_an_unknown_file_fails(instance: Instance) -> None:
    instance.config("[sites.hr]\n")

    result = pwreset(instance, "build", "--explain", "hr", "nosuch.html")

    assert result.returncode == 1
    assert "no layer has this file" in result.stdout


def test_an_unchanged_site_is_not_rebuilt_and_a_changed_one_is(instance: Instance) -> None:
    instance.write("sites/hr/messages/en.toml", 'MENU_HEADING = "Hello HR"\n')
    config = instance.config("[sites.hr]\n[sites.it]\n")
    age(instance.root)
    build_sites(config)

    again = build_sites(config)
    assert [site.rebuilt for site in again] == [False, False]

    instance.write("sites/hr/messages/en.toml", 'MENU_HEADING = "Hi HR"\n')
    third = build_sites(config)
    assert [site.rebuilt for site in third] == [True, False]
    assert Document(instance.read("hr/index.html")).find("h1").text == "Hi HR"
    # A site whose output was tampered with is rebuilt.
    (instance.output / "it" / "index.html").write_text("gone")
    assert build_sites(config, only=["it"])[0].rebuilt
    assert "gone" not in instance.read("it/index.html")


def test_watch_rebuilds_after_a_change_and_survives_a_broken_template(instance: Instance) -> None:
    instance.config("[sites.hr]\n")
    with watching(instance, BuildOptions()) as seen:
        wait_for(lambda: len(seen.builds) == 1)
        instance.write("custom/messages/en.toml", 'MENU_HEADING = "Watched"\n')
        wait_for(lambda: len(seen.builds) == 2)
        assert Document(instance.read("hr/index.html")).find("h1").text == "Watched"
        instance.write("custom/templates/index.html", "{% if %}\n")
        wait_for(lambda: len(seen.errors) == 1)
        assert "index.html:1" in str(seen.errors[0])
        assert Document(instance.read("hr/index.html")).find("h1").text == "Watched"
        instance.write("custom/templates/index.html", '{% extends "theme:index.html" %}\n')
        wait_for(lambda: len(seen.builds) == 3)


def test_only_preview_builds_carry_the_reload_hook(instance: Instance) -> None:
    config = instance.config('[sites.hr]\nlanguages = ["en", "de"]\n')

    build_sites(config)
    production = [p.read_text() for p in instance.output.rglob("*.html")]
    assert not any((instance.output / "hr" / "assets").glob("pwreset-preview*"))
    build_sites(config, options=BuildOptions(preview=True))
    preview = {p.relative_to(instance.output).as_posix(): p.read_text()
               for p in instance.output.rglob("*.html")}  # fmt: skip

    assert production and not any("pwreset-preview" in html for html in production)
    assert not (instance.output / "hr" / "gallery").exists()
    for name, html in preview.items():
        scripts = [s.attrs["src"] for s in Document(html).find_all("script")]
        prefix = "../" if name.startswith("hr/de/") else ""
        assert any(s.startswith(f"{prefix}assets/pwreset-preview.") for s in scripts), name


def test_gallery_build_has_every_page_in_every_language(instance: Instance) -> None:
    config = instance.config('[sites.hr]\nlanguages = ["en", "de"]\n')

    build_sites(config, options=BuildOptions(gallery=True))

    gallery = instance.output / "hr" / "gallery"
    pages = ["index", "enroll", "reset", "unlock", "change", "error"]
    for lang in ("en", "de"):
        for page in pages:
            doc = Document((gallery / lang / f"{page}.html").read_text())
            assert doc.find("meta", name="pwreset-gallery")
            assert not doc.find_all("link", rel="alternate")  # never switches language
    index = Document((gallery / "index.html").read_text())
    links = {a.attrs["href"] for a in index.find_all("a") if "state=" in a.attrs["href"]}
    assert "en/reset.html?state=RES_LOCKED_OUT" in links
    assert "de/reset.html?state=RES_LOCKED_OUT" in links
    assert "en/change.html?state=RES_FINISHED_CHANGE_INVITE" in links
    assert {a.attrs["href"] for a in index.find_all("a")} >= {
        "en/error.html?message=RES_UNKNOWN_SITE"
    }
