"""A failed build names the file and line, and leaves the previous output as it was."""

from __future__ import annotations

import pytest
from builder_support import Instance

from pwreset.builder import BuildError, build_sites

SITES = "[sites.hr]\n[sites.it]\n"


def build_then_break(instance: Instance, relative: str, text: str) -> BuildError:
    """Build once, add a broken override, build again; return the error of the second build
    after checking that nothing under site/ changed."""
    config = instance.config(SITES)
    build_sites(config)
    before = instance.snapshot()
    instance.write(relative, text)

    with pytest.raises(BuildError) as caught:
        build_sites(config)

    assert instance.snapshot() == before
    return caught.value


def test_syntax_error_names_file_and_line(instance: Instance) -> None:
    error = build_then_break(
        instance,
        "custom/templates/change.html",
        '{% extends "theme:change.html" %}\n\n{% block heading %}{% if %}{% endblock %}\n',
    )

    assert error.code == "template"
    assert error.file == instance.root / "custom/templates/change.html"
    assert error.line == 3
    assert error.site == "hr"
    assert "change.html:3" in str(error)


def test_undefined_variable_names_file_and_line(instance: Instance) -> None:
    error = build_then_break(
        instance,
        "sites/it/templates/index.html",
        '{% extends "base.html" %}\n{% block content %}\n<h1>Menu</h1>\n'
        "{{ site.titel }}\n{% endblock %}\n",
    )

    assert (error.code, error.site, error.line) == ("template", "it", 4)
    assert error.file == instance.root / "sites/it/templates/index.html"
    assert "titel" in error.reason


def test_unknown_message_id_names_file_and_line(instance: Instance) -> None:
    error = build_then_break(
        instance,
        "custom/templates/base.html",
        '{% extends "theme:base.html" %}\n'
        '{% block footer %}\n<p>{{ msg("UI_FOTER") }}</p>\n{% endblock %}\n',
    )

    assert error.file == instance.root / "custom/templates/base.html"
    assert error.line == 3
    assert "UI_FOTER" in error.reason


def test_broken_message_catalogue_names_file_and_line(instance: Instance) -> None:
    error = build_then_break(
        instance, "custom/messages/en.toml", 'RES_WRONG_PASSWORD = "fine"\nRES_OOPS = unquoted\n'
    )

    assert (error.code, error.line) == ("messages", 2)
    assert error.file == instance.root / "custom/messages/en.toml"


def test_unsafe_theme_option_is_refused(instance: Instance) -> None:
    instance.write(
        "themes/evil/theme.toml",
        'name = "evil"\nextends = "default"\n[options]\nprimary = "red; } body { x: y"\n',
    )

    with pytest.raises(BuildError) as caught:
        build_sites(instance.config('[sites.hr]\ntheme = "evil"\n'))

    assert (caught.value.code, caught.value.site) == ("theme_config", "hr")
    assert caught.value.file == instance.root / "themes/evil/theme.toml"
