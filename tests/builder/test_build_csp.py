"""The pages work under `Content-Security-Policy: default-src 'self'`: no inline script or
style of any kind in the output."""

from __future__ import annotations

from builder_support import Document, Instance

from pwreset.builder import build_sites


def test_no_inline_script_or_style_in_any_page(instance: Instance) -> None:
    build_sites(instance.config('[sites.hr]\ndomains = ["EXAMPLE"]\n[sites.it]\n'))

    pages = sorted(instance.output.rglob("*.html"))
    assert len(pages) == 12  # menu, four flows and the error page, per site
    for page in pages:
        doc = Document(page.read_text(encoding="utf-8"))
        for script in doc.find_all("script"):
            assert script.attrs.get("src"), f"{page}: inline <script>"
            assert not script.text.strip(), f"{page}: script with a body"
        assert not doc.find_all("style"), f"{page}: <style> element"
        for element in doc.elements:
            assert "style" not in element.attrs, f"{page}: style= on <{element.tag}>"
            handlers = [name for name in element.attrs if name.startswith("on")]
            assert not handlers, f"{page}: event handler attribute on <{element.tag}>"
            for name in ("href", "src", "action"):
                assert not element.attrs.get(name, "").startswith(("javascript:", "data:"))
