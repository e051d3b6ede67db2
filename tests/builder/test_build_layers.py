"""The search path: which layer wins for templates, static files and messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builder_support import Instance
from jinja2 import Environment

from pwreset.builder import BuildError, Layers, run_build
from pwreset.builder.layers import BASE_TEMPLATES
from pwreset.builder.messages import load_catalog
from pwreset.builder.templates import make_environment
from pwreset.builder.themes import STOCK_THEMES
from pwreset.config.loader import load_config

FIXTURES = Path(__file__).parent / "fixtures" / "precedence"
ORDER = ["site", "custom", "brand", "parent", "base"]


def fixture_layers(vdir: str = "hr") -> Layers:
    config = load_config(FIXTURES / "instance" / "pwreset.toml")
    return Layers.for_site(
        config, vdir, stock_themes=FIXTURES / "stock", base_templates=FIXTURES / "base"
    )


def render(env: Environment, name: str) -> str:
    return env.get_template(name).render().strip()


def test_search_path_is_site_custom_theme_chain_base() -> None:
    layers = fixture_layers()

    assert [(layer.kind, layer.name) for layer in layers.layers] == [
        ("site", "hr"),
        ("custom", "custom"),
        ("theme", "brand"),
        ("theme", "parent"),
        ("base", "base"),
    ]
    assert [theme.name for theme in layers.themes] == ["brand", "parent"]
    instance = FIXTURES / "instance"
    assert layers.template_dirs() == [
        instance / "sites/hr/templates",
        instance / "custom/templates",
        instance / "themes/brand/templates",
        FIXTURES / "stock/parent/templates",
        FIXTURES / "base",
    ]


@pytest.mark.parametrize("winner", ORDER)
def test_template_from_the_highest_layer_wins(winner: str) -> None:
    assert render(make_environment(fixture_layers()), f"{winner}.html") == winner


@pytest.mark.parametrize("winner", ORDER[:-1])
def test_static_file_from_the_highest_layer_wins(winner: str) -> None:
    path = fixture_layers().static_files()[f"{winner}.txt"]

    assert path.read_text().strip() == winner


@pytest.mark.parametrize("winner", ORDER[:-1])
def test_message_from_the_highest_layer_wins(winner: str) -> None:
    catalog = load_catalog(fixture_layers().message_dirs(), "en")

    assert catalog.text(f"PROBE_{winner.upper()}") == winner


def test_a_site_without_overrides_gets_the_custom_layer() -> None:
    layers = fixture_layers("it")

    assert render(make_environment(layers), "site.html") == "custom"
    assert layers.static_files()["site.txt"].read_text().strip() == "custom"
    assert load_catalog(layers.message_dirs(), "en").text("PROBE_SITE") == "custom"


def test_theme_prefix_reaches_past_the_override_layers() -> None:
    env = make_environment(fixture_layers())

    assert render(env, "shadow.html") == "brand"
    assert render(env, "theme:custom.html") == "brand"
    assert render(env, "theme:base.html") == "base"


def test_instance_themes_come_before_stock_ones(instance: Instance) -> None:
    shutil.copytree(STOCK_THEMES / "default", instance.root / "themes" / "default")
    config = instance.config("[sites.hr]\n")

    layers = Layers.for_site(config, "hr")

    assert layers.theme.root == instance.root / "themes" / "default"
    assert layers.layers[-1].templates == BASE_TEMPLATES


def test_an_unknown_theme_names_site_and_theme(instance: Instance) -> None:
    config = instance.config('[sites.hr]\ntheme = "corporate"\n')

    with pytest.raises(BuildError) as caught:
        Layers.for_site(config, "hr")

    error = caught.value
    assert (error.code, error.site, error.theme) == ("unknown_theme", "hr", "corporate")
    assert "unknown theme 'corporate'" in str(error)


def test_a_theme_extending_an_unknown_one_says_which(instance: Instance) -> None:
    instance.write("themes/brand/theme.toml", 'name = "brand"\nextends = "nosuch"\n')
    config = instance.config('[sites.hr]\ntheme = "brand"\n')

    with pytest.raises(BuildError, match="unknown theme 'nosuch' \\(extended by theme 'brand'\\)"):
        Layers.for_site(config, "hr")


def test_an_extends_cycle_is_refused(instance: Instance) -> None:
    instance.write("themes/one/theme.toml", 'name = "one"\nextends = "two"\n')
    instance.write("themes/two/theme.toml", 'name = "two"\nextends = "one"\n')
    config = instance.config('[sites.hr]\ntheme = "one"\n')

    with pytest.raises(BuildError) as caught:
        Layers.for_site(config, "hr")

    error = caught.value
    assert (error.code, error.site, error.theme) == ("theme_cycle", "hr", "one")
    assert "one -> two -> one" in error.reason


def test_a_build_finds_each_sites_layers_once(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding a site's layers walks every file of every layer (the link check): fifty
    sites on one theme must not pay for it twice. A build with its upgrade report, and one
    of a single site, find each configured site's path once."""
    found: list[str] = []
    for_site = Layers.for_site.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Layers], config: object, vdir: str, **options: Path) -> Layers:
        found.append(vdir)
        return for_site(cls, config, vdir, **options)  # type: ignore[no-any-return]

    monkeypatch.setattr(Layers, "for_site", classmethod(counted))
    config = instance.config('[sites.hr]\nlanguages = ["en", "de"]\n[sites.it]\n')

    assert run_build(config).upgrades == []
    assert sorted(found) == ["hr", "it"]
    found.clear()
    run_build(config, only=["it"], force=True)
    assert sorted(found) == ["hr", "it"]
