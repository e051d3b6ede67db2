"""Overrides on top of the stock theme, as a designer would write them, in full builds."""

from __future__ import annotations

import re

from builder_support import Document, Instance

from pwreset.builder import build_sites

SITES = "[sites.hr]\n[sites.it]\n"


def stylesheet(instance: Instance, vdir: str) -> str:
    href = Document(instance.read(f"{vdir}/index.html")).find("link", rel="stylesheet")
    return instance.read(f"{vdir}/{href.attrs['href']}")


def test_site_override_beats_custom_beats_theme_for_a_message(instance: Instance) -> None:
    instance.write("custom/messages/en.toml", 'RES_WRONG_PASSWORD = "Custom wording."\n')
    instance.write("sites/hr/messages/en.toml", 'RES_WRONG_PASSWORD = "HR wording."\n')

    build_sites(instance.config(SITES))

    hr = Document(instance.read("hr/change.html"))
    it = Document(instance.read("it/change.html"))
    assert hr.message("RES_WRONG_PASSWORD") == "HR wording."
    assert it.message("RES_WRONG_PASSWORD") == "Custom wording."
    # Ids nobody overrode still come from the theme.
    assert hr.message("RES_PASSWORDS_DIFFER").startswith("The two new passwords")


def test_site_override_beats_custom_beats_theme_for_a_static_file(instance: Instance) -> None:
    instance.write("custom/static/logo.svg", "<svg id='custom'/>")
    instance.write("sites/hr/static/logo.svg", "<svg id='hr'/>")

    build_sites(instance.config(SITES))

    assert instance.read("hr/assets/logo.svg") == "<svg id='hr'/>"
    assert instance.read("it/assets/logo.svg") == "<svg id='custom'/>"
    # The reference changes with the content, so browsers fetch the new logo.
    hr_logo = Document(instance.read("hr/index.html")).find("img").attrs["src"]
    it_logo = Document(instance.read("it/index.html")).find("img").attrs["src"]
    assert hr_logo.startswith("assets/logo.svg?v=") and hr_logo != it_logo


def test_site_override_beats_custom_for_a_template(instance: Instance) -> None:
    # custom/ wraps the base skeleton, hr replaces it; both extend the file they shadow.
    instance.write(
        "custom/templates/base.html",
        '{% extends "theme:base.html" %}\n'
        '{% block footer %}<footer class="pw-footer">Custom footer</footer>{% endblock %}\n',
    )
    instance.write(
        "sites/hr/templates/base.html",
        '{% extends "theme:base.html" %}\n'
        '{% block footer %}<footer class="pw-footer">HR footer</footer>{% endblock %}\n',
    )

    build_sites(instance.config(SITES))

    for page in ("index.html", "change.html"):
        assert "HR footer" in instance.read(f"hr/{page}")
        assert "Custom footer" in instance.read(f"it/{page}")
        assert "Need help?" not in instance.read(f"it/{page}")


def test_an_override_can_extend_the_page_it_shadows(instance: Instance) -> None:
    instance.write(
        "custom/templates/change.html",
        '{% extends "theme:change.html" %}\n'
        "{% block heading %}"
        '<h1 id="pw-heading" class="pw-heading">New password for {{ site.title }}</h1>'
        "{% endblock %}\n",
    )

    build_sites(instance.config('[sites.hr]\ntitle = "HR"\n'))

    doc = Document(instance.read("hr/change.html"))
    assert doc.find("h1").text == "New password for HR"
    # Everything else of the stock page is still there.
    assert doc.find("input", name="old_password")
    assert doc.message("RES_FINISHED_CHANGE")


def test_theme_options_render_into_the_stylesheet(instance: Instance) -> None:
    build_sites(instance.config(SITES))

    css = stylesheet(instance, "hr")
    root = re.match(r"/\*[^*]*\*/\n:root \{\n(.*?)\n\}", css, re.S)
    assert root is not None
    assert "--pw-primary: #1d4ed8;" in root.group(1)
    assert "--pw-radius: 10px;" in root.group(1)
    assert "--pw-font: system-ui" in root.group(1)
    assert "logo" not in root.group(1)  # an option without a css property stays out


def test_a_theme_extending_default_rebrands_by_options(instance: Instance) -> None:
    instance.write(
        "themes/green/theme.toml",
        'name = "green"\nextends = "default"\n\n[options]\nprimary = "#0b6e4f"\n',
    )
    instance.write("custom/static/extra.css", ".pw-heading { letter-spacing: 0; }\n")

    build_sites(instance.config('[sites.hr]\ntheme = "green"\n[sites.it]\n'))

    green, stock = stylesheet(instance, "hr"), stylesheet(instance, "it")
    assert "--pw-primary: #0b6e4f;" in green
    assert "--pw-primary: #1d4ed8;" in stock
    # extra.css is appended after the theme's stylesheet, so its rules win.
    assert green.rstrip().endswith(".pw-heading { letter-spacing: 0; }")
    assert not (instance.output / "hr" / "assets" / "extra.css").exists()
