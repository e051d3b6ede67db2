"""axe-core on a page: the WCAG 2.1 A/AA violations it finds (node_modules, installed by
`npm ci` in scripts/setup.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = (
    "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
    ".violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
)


def require_axe() -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (scripts/setup.sh does)", pytrace=False)


def axe_violations(page: Page) -> list[str]:
    """What axe finds on `page` as it is now."""
    require_axe()
    # Evaluated, not added as a script tag: the pages' CSP allows no inline script, and the
    # console's none at all.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return list(page.evaluate(RUN, WCAG_AA))
