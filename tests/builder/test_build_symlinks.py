"""Security review 10: a symlink never leads a file from outside a layer into a site.

A designer's commit can hold symlinks; the builder must never publish, render or report what
they point to outside their layer (the instance's keys above all). Every such link fails the
build with its name and target, and the previous site stays as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from builder_support import Instance, wait_for, watching

from pwreset.builder import BuildError, BuildOptions, build_sites, upgrade_changes
from pwreset.builder.preview import BuildId, make_server
from pwreset.builder.themes import STOCK_THEMES

SECRET = "DATA-KEY-3f9a1c-must-never-be-published"
SITES = "[sites.hr]\n[sites.it]\n"


def plant_key(instance: Instance) -> Path:
    """The instance's data key, as `pwreset init` places it."""
    return instance.write("keys/data.key", SECRET)


def link(instance: Instance, relative: str, target: Path) -> Path:
    path = instance.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(os.path.relpath(target, path.parent))
    return path


def published(instance: Instance) -> str:
    """Everything under site/ as one text, to look for the secret in."""
    return "\n".join(p.decode("utf-8", "replace") for p in instance.snapshot().values())


def build_then_link(instance: Instance, relative: str, target: Path | None = None) -> BuildError:
    """Build once, plant a symlink to the data key (or `target`), build again: the second
    build fails and site/ is exactly as the first build left it."""
    key = plant_key(instance)
    config = instance.config(SITES)
    build_sites(config)
    before = instance.snapshot()
    planted = link(instance, relative, target or key)

    with pytest.raises(BuildError) as caught:
        build_sites(config)

    assert instance.snapshot() == before
    assert SECRET not in published(instance)
    error = caught.value
    assert error.code == "symlink"
    assert error.file == planted
    assert str(planted) in str(error)
    assert "outside" in error.reason
    return error


def test_a_static_file_linked_to_the_data_key_fails_the_build(instance: Instance) -> None:
    """security review 10: the exact attack, custom/static/x -> keys/data.key."""
    error = build_then_link(instance, "custom/static/data.key")

    assert str(instance.root / "keys" / "data.key") in error.reason


def test_the_cli_refuses_the_link_with_the_status_of_a_build_error(instance: Instance) -> None:
    """security review 10: `pwreset build` exits 1 and names the link and its target."""
    plant_key(instance)
    instance.config("[sites.hr]\n")
    link(instance, "custom/static/logo.svg", instance.root / "keys" / "data.key")

    result = subprocess.run(
        [sys.executable, "-m", "pwreset", "build", "-c", str(instance.root / "pwreset.toml")],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert "custom/static/logo.svg" in result.stderr
    assert "keys/data.key" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not instance.output.exists() or SECRET not in published(instance)


@pytest.mark.parametrize(
    ("command", "status"),
    [(["themes", "check"], 2), (["build", "--explain", "hr", ".footer.html"], 1)],
)
def test_the_upgrade_check_and_explain_refuse_the_link(
    instance: Instance, command: list[str], status: int
) -> None:
    """security review 10: every command that reads layer files refuses like a build."""
    key = plant_key(instance)
    instance.config("[sites.hr]\n")
    link(instance, "custom/templates/.footer.html", key)
    if command[0] == "themes":
        link(instance, "custom/static/logo.svg", key)

    result = subprocess.run(
        [sys.executable, "-m", "pwreset", *command, "-c", str(instance.root / "pwreset.toml")],
        capture_output=True,
        text=True,
    )

    assert result.returncode == status, result.stderr
    assert "is a symbolic link to" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "relative",
    [
        "custom/templates/change.html",  # a page override: the key would be its source
        "sites/hr/templates/forms.html",  # a template the pages include
        "sites/it/messages/en.po",  # a catalogue (parse errors quote lines)
        "custom/messages/en.toml",
    ],
)
def test_a_linked_template_or_catalogue_fails_the_build(instance: Instance, relative: str) -> None:
    """security review 10: templates and message catalogues are layer files too."""
    build_then_link(instance, relative)


def test_a_linked_directory_fails_the_build(instance: Instance) -> None:
    """security review 10: custom/static/img -> keys/ would publish assets/img/data.key."""
    error = build_then_link(instance, "custom/static/img", instance.root / "keys")

    assert str(instance.root / "keys") in error.reason


def test_a_linked_layer_folder_fails_the_build(instance: Instance) -> None:
    """security review 10: custom/static itself -> keys/."""
    build_then_link(instance, "custom/static", instance.root / "keys")


def test_an_included_hidden_template_link_fails_the_build(instance: Instance) -> None:
    """security review 10: `{% include %}` reads through Jinja's loader, which follows
    links; a dot file is never walked as a layer file, so the loader itself must refuse."""
    key = plant_key(instance)
    instance.write(
        "custom/templates/base.html",
        '{% extends "theme:base.html" %}\n'
        '{% block footer %}<footer>{% include ".footer.html" %}</footer>{% endblock %}\n',
    )
    config = instance.config("[sites.hr]\n")
    planted = link(instance, "custom/templates/.footer.html", key)

    with pytest.raises(BuildError) as caught:
        build_sites(config)

    assert (caught.value.code, caught.value.file, caught.value.site) == ("symlink", planted, "hr")
    assert not instance.output.exists() or SECRET not in published(instance)


def test_a_linked_theme_description_fails_the_build(instance: Instance) -> None:
    """security review 10: an instance theme's theme.toml may not lead out of the theme."""
    instance.write("themes/corp/templates/.keep", "")
    outside = instance.write("shared/theme.toml", 'name = "corp"\nextends = "default"\n')
    planted = link(instance, "themes/corp/theme.toml", outside)

    with pytest.raises(BuildError) as caught:
        build_sites(instance.config('[sites.hr]\ntheme = "corp"\n'))

    assert (caught.value.code, caught.value.file) == ("symlink", planted)


def test_a_link_in_a_stock_theme_fails_the_build(instance: Instance, tmp_path: Path) -> None:
    """security review 10: stock themes are layers too (an installed copy can be tampered)."""
    stock = tmp_path / "stock"
    shutil.copytree(STOCK_THEMES / "default", stock / "default")
    key = plant_key(instance)
    planted = stock / "default" / "static" / "favicon.svg"
    planted.symlink_to(key)

    with pytest.raises(BuildError) as caught:
        build_sites(instance.config("[sites.hr]\n"), options=BuildOptions(stock_themes=stock))

    assert (caught.value.code, caught.value.file) == ("symlink", planted)


def test_links_inside_their_own_layer_are_allowed(instance: Instance) -> None:
    """security review 10: a link that stays inside its layer is no leak (a designer may
    keep one logo under two names)."""
    instance.write("custom/static/brand/logo-2026.svg", "<svg id='2026'/>")
    link(instance, "custom/static/logo.svg", instance.root / "custom/static/brand/logo-2026.svg")
    link(instance, "custom/static/images", instance.root / "custom/static/brand")

    build_sites(instance.config("[sites.hr]\n"))

    assert instance.read("hr/assets/logo.svg") == "<svg id='2026'/>"
    assert instance.read("hr/assets/images/logo-2026.svg") == "<svg id='2026'/>"
    assert not any(p.is_symlink() for p in instance.output.rglob("*"))


def test_a_linked_layer_folder_is_the_layer(instance: Instance) -> None:
    """security review 10: a whole theme checked out elsewhere and linked into themes/ is
    allowed: the link's target is the layer, and its files stay inside it."""
    checkout = instance.write(
        "checkouts/corp/theme.toml", 'name = "corp"\nextends = "default"\n'
    ).parent
    instance.write("checkouts/corp/static/logo.svg", "<svg id='corp'/>")
    link(instance, "themes/corp", checkout)

    build_sites(instance.config('[sites.hr]\ntheme = "corp"\n'))

    assert instance.read("hr/assets/logo.svg") == "<svg id='corp'/>"


def test_a_directory_link_looping_back_fails_the_build(instance: Instance) -> None:
    """security review 10: a folder linked to its own parent would be walked for ever."""
    instance.write("custom/static/a/logo.svg", "<svg/>")
    planted = link(instance, "custom/static/a/again", instance.root / "custom/static")

    with pytest.raises(BuildError) as caught:
        build_sites(instance.config("[sites.hr]\n"))

    assert (caught.value.code, caught.value.file) == ("symlink", planted)


def test_an_up_to_date_site_is_checked_again(instance: Instance) -> None:
    """security review 10: the incremental (no-op) path sees a link added since the last
    build, even one whose stamp predates the build."""
    key = plant_key(instance)
    config = instance.config("[sites.hr]\n")
    past = time.time() - 60
    for path in [instance.root, *instance.root.rglob("*")]:
        os.utime(path, (past, past))
    build_sites(config)
    assert build_sites(config)[0].rebuilt is False
    planted = link(instance, "sites/hr/static/key.txt", key)
    os.utime(planted, (past, past), follow_symlinks=False)
    os.utime(planted.parent, (past, past))

    with pytest.raises(BuildError) as caught:
        build_sites(config)

    assert caught.value.file == planted
    assert SECRET not in published(instance)


def test_watch_reports_the_link_and_keeps_the_site(instance: Instance) -> None:
    """security review 10: `--watch` (and so `pwreset preview`) refuses like a build."""
    key = plant_key(instance)
    instance.config("[sites.hr]\n")
    with watching(instance, BuildOptions(preview=True, gallery=True)) as seen:
        wait_for(lambda: len(seen.builds) == 1)
        before = instance.snapshot()
        planted = link(instance, "custom/static/data.key", key)
        wait_for(lambda: len(seen.errors) == 1)

    error = seen.errors[0]
    assert isinstance(error, BuildError) and error.file == planted
    assert instance.snapshot() == before


def test_the_upgrade_report_never_reads_outside_its_record(instance: Instance) -> None:
    """security review 10: `themes check` prints diffs of recorded stock copies; a record
    naming `../../keys/data.key`, or a copy that is a link to the key, must not print it."""
    key = plant_key(instance)
    instance.write("custom/templates/change.html", '{% extends "theme:change.html" %}\n')
    config = instance.config("[sites.hr]\n")
    build_sites(config)
    record = instance.root / ".pwreset" / "overrides.json"
    data = json.loads(record.read_text())
    linked = "0" * 64
    link(instance, f".pwreset/stock/{linked}", key)

    for digest in ("../../keys/data.key", linked):
        data["overrides"][0]["sha256"] = digest
        record.write_text(json.dumps(data))

        changes = upgrade_changes(config)

        assert len(changes) == 1
        assert SECRET not in changes[0].diff


def test_the_build_state_never_writes_through_a_link(instance: Instance) -> None:
    """security review 10: a committed link at the build state's temporary name must not
    make the build overwrite the file it points to."""
    key = plant_key(instance)
    link(instance, ".pwreset/cache/build-state.tmp", key)

    build_sites(instance.config("[sites.hr]\n"))

    assert key.read_text() == SECRET


def test_a_linked_site_folder_in_the_output_is_refused(instance: Instance) -> None:
    """security review 10: site/<vdir> linked elsewhere is neither written through nor
    swapped away silently: the build names it and the linked folder stays as it was."""
    elsewhere = instance.write("elsewhere/hr/keep.txt", "mine").parent
    planted = link(instance, "site/hr", elsewhere)

    with pytest.raises(BuildError) as caught:
        build_sites(instance.config("[sites.hr]\n"))

    assert (caught.value.code, caught.value.file) == ("symlink", planted)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert planted.is_symlink()


def test_a_linked_output_folder_is_refused_by_build_and_preview(instance: Instance) -> None:
    """security review 10: the output folder linked to / (or the keys) is refused by the
    build, and `pwreset preview` does not serve it."""
    keys = plant_key(instance).parent
    link(instance, "site", keys)
    link(instance, "site-preview", keys)
    config = instance.config("[sites.hr]\n")

    with pytest.raises(BuildError) as caught:
        build_sites(config)
    assert (caught.value.code, caught.value.file) == ("symlink", instance.root / "site")
    with pytest.raises(BuildError) as served:
        make_server(instance.root / "site-preview", BuildId(), "127.0.0.1", 0)
    assert served.value.file == instance.root / "site-preview"
    assert sorted(p.name for p in keys.iterdir()) == ["data.key"]


def test_published_files_are_not_executable_or_writable_by_others(instance: Instance) -> None:
    """security review 10: whatever the umask, folders are 0755 and files 0644."""
    instance.write("custom/static/img/logo.svg", "<svg/>")
    (instance.root / "custom/static/img/logo.svg").chmod(0o777)
    config = instance.config("[sites.hr]\n")
    old = os.umask(0)
    try:
        build_sites(config)
    finally:
        os.umask(old)

    site = instance.output / "hr"
    modes = {p: stat.S_IMODE(p.lstat().st_mode) for p in [site, *site.rglob("*")]}
    assert {oct(m) for p, m in modes.items() if p.is_dir()} == {"0o755"}
    assert {oct(m) for p, m in modes.items() if not p.is_dir()} == {"0o644"}


def test_the_preview_server_never_serves_through_a_link(instance: Instance) -> None:
    """security review 10: a link planted in the preview's folder between builds is not
    followed by the server (builds never write links)."""
    keys = plant_key(instance).parent
    (instance.root / "site-preview").mkdir(parents=True)
    server = make_server(instance.root / "site-preview", BuildId(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    link(instance, "site-preview/hr", keys)
    instance.write("site-preview/it/index.html", "<h1>fine</h1>")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/it/index.html") as reply:
            assert reply.read() == b"<h1>fine</h1>"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/hr/data.key")
        assert refused.value.code == 404
        assert SECRET.encode() not in refused.value.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
