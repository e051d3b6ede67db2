"""The page script as the build bundles it: the contract generated from pwreset.protocol,
the theme's modules, one of them overridden by a designer, and what gallery builds add."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from builder_support import Document, Instance

from pwreset.builder import BuildOptions, build_sites
from pwreset.builder.errors import BuildError
from pwreset.protocol.codes import ERRORS
from pwreset.protocol.limits import PAGE_FIELDS

SITE = "[sites.hr]\n"


def asset(instance: Instance, page: str, tag: str, **attrs: str) -> str:
    element = Document(instance.read(f"hr/{page}")).find(tag, **attrs)
    return instance.read(f"hr/{element.attrs.get('src') or element.attrs['href']}")


def script(instance: Instance) -> str:
    return asset(instance, "index.html", "script")


def constant(source: str, name: str) -> object:
    found = re.search(rf"const {name} = Object\.freeze\((\{{.*?\n\}})\);", source, re.S)
    assert found, name
    return json.loads(found.group(1))


def test_the_script_carries_the_limits_and_registry_of_the_protocol(instance: Instance) -> None:
    build_sites(instance.config(SITE))

    source = script(instance)
    assert constant(source, "FIELD_LIMITS") == dict(PAGE_FIELDS)
    assert constant(source, "ERRORS") == {
        code: {"message": kind.message_id, "status": kind.status} for code, kind in ERRORS.items()
    }
    # One bundle that a browser can parse (two modules declaring one name would not be).
    bundle = instance.output / "hr" / "script.js"
    bundle.write_text(source, encoding="utf-8")
    subprocess.run(["node", "--check", str(bundle)], check=True)


def test_a_designer_overrides_one_module_and_keeps_the_others(instance: Instance) -> None:
    stock = script_of_stock(instance)
    instance.write(
        "custom/static/script/relay.js", "const call = async () => ({ ok: false, data: null });\n"
    )
    instance.write("custom/static/keep.txt", "kept")

    build_sites(instance.config(SITE))

    source = script(instance)
    assert "const call = async () => ({ ok: false, data: null });" in source
    assert "const TIMEOUT_MS" not in source  # the stock relay.js is gone
    assert _module(stock, "core.js") == _module(source, "core.js")
    assert source.index("script/relay.js") < source.index("script/startup.js")
    # The modules are bundled, never published on their own.
    assert not (instance.output / "hr" / "assets" / "script").exists()
    assert (instance.output / "hr" / "assets" / "keep.txt").exists()
    # Recorded like any override, so an upgrade that changes the stock module is reported.
    record = json.loads(instance.read("../.pwreset/overrides.json"))
    assert {e["stock"] for e in record["overrides"]} == {"themes/default/static/script/relay.js"}


def test_a_script_file_that_is_no_module_fails_the_build(instance: Instance) -> None:
    instance.write("custom/static/script/step.js", "// meant to be steps\n")

    with pytest.raises(BuildError) as caught:
        build_sites(instance.config(SITE))

    assert "script/step.js is not a module of the page script" in str(caught.value)
    assert "flow.js" in str(caught.value)


def test_a_whole_pwreset_js_in_a_layer_is_still_used_as_it_is(instance: Instance) -> None:
    instance.write("custom/static/pwreset.js", "/* our own script */\n")

    build_sites(instance.config(SITE))

    assert script(instance) == "/* our own script */\n"


def test_gallery_styles_only_in_gallery_builds(instance: Instance) -> None:
    config = instance.config(SITE)
    build_sites(config)
    production = asset(instance, "index.html", "link", rel="stylesheet")

    build_sites(config, options=BuildOptions(gallery=True), force=True)

    assert ".pw-gallery__state" not in production
    assert asset(instance, "index.html", "link", rel="stylesheet") == production
    index = Document(instance.read("hr/gallery/index.html"))
    sheets = [link.attrs["href"] for link in index.find_all("link", rel="stylesheet")]
    assert len(sheets) == 2
    gallery = instance.read(f"hr/gallery/{sheets[1]}")
    assert ".pw-gallery__state" in gallery


def script_of_stock(instance: Instance) -> str:
    build_sites(instance.config(SITE))
    return script(instance)


def _module(source: str, name: str) -> str:
    """The text of one module in a bundle."""
    start = source.index(f"/* --- script/{name} --- */")
    end = source.find("/* --- script/", start + 1)
    return source[start:end]
