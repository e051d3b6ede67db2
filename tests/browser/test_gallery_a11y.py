"""Every page in every state, in both stock themes and every shipped language, as the state
gallery shows them: each shows what its name says (the message it is named after, or no
error), axe-core finds no WCAG 2.1 A/AA violation, no page logs an error (a CSP violation is
one), nothing scrolls sideways on a phone, and screenshots of the key states at
375 and 1280 px land in artifacts/screenshots/ for a human to look at.

To keep the run bounded (every state times every language would be some 2,400 page loads),
English (both themes) and Arabic (the right-to-left language, whose layout is mirrored; default
theme) are checked in every state; the other languages, and Arabic in the contrast theme, in a
representative set of states per page (`SAMPLED`: the start of each page, each step, and the
longest messages, where a translation could break the layout). Each language gets
screenshots; Arabic gets every pictured state."""

from __future__ import annotations

import functools
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from static_site import serve

from pwreset.builder import BuildOptions, build_sites
from pwreset.builder.gallery_states import page_states
from pwreset.builder.messages import load_catalog
from pwreset.builder.themes import STOCK_THEMES
from pwreset.config.loader import parse_config

from support.axe import AXE, RUN, WCAG_AA, require_axe

# spread: a few long tests (minutes together), each worth a parallel worker of its own.
pytestmark = [pytest.mark.browser, pytest.mark.spread]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PAGES = ["index", "enroll", "reset", "unlock", "change", "error"]
# Every language the stock theme ships; those checked in every state (see the docstring).
LANGUAGES = sorted(file.stem for file in (STOCK_THEMES / "default" / "messages").glob("*.po"))
# English on both sites, and Arabic on the default theme's (the contrast theme only
# recolours the same layout, so its Arabic pages are sampled).
EVERY_STATE = {"hr": ("en", "ar"), "kiosk": ("en",)}
# Two sites, one per stock theme: a domain drop-down on one, a typed domain on the other;
# security questions on one, switched off on the other ([factors]).
SITES: dict[str, dict[str, Any]] = {
    "hr": {"title": "HR self-service", "domains": ["EXAMPLE", "LAB"], "languages": LANGUAGES},
    "kiosk": {"title": "Kiosk", "theme": "contrast", "languages": ["en", "de", "ar"]},
}
QUESTIONS = {"hr": True, "kiosk": False}
FACTORS = {"sites": {vdir: {"questions": on} for vdir, on in QUESTIONS.items()}}
# The states every other language is checked in: each step, and the longest texts.
SAMPLED = {
    "start",
    "own-questions",
    "question",
    "code",
    "password",
    "RES_LOCKED_OUT",
    "RES_STORAGE_FULL",
    "RES_WRONG_PASSWORD",
    "RES_FINISHED_CHANGE_INVITE",
    "RES_FINISHED_ENROLL",
    "RES_UNKNOWN_SITE",
    "recovery_codes",
    "passkey",
    "passkeys",
    "needs",
}
# States worth a picture: each kind of screen once (the others differ only in their text).
PICTURED = {
    "start",
    "own-questions",
    "question",
    "code",
    "password",
    "RES_WRONG_ANSWER",
    "RES_LOCKED_OUT",
    "RES_SESSION_EXPIRED",
    "RES_PASSWORDS_DIFFER",
    "RES_IDENTICAL_QUESTIONS",
    "RES_POLICY_REJECTED",
    "RES_FINISHED_CHANGE_INVITE",
    "RES_FINISHED_RESET",
    "RES_UNKNOWN_SITE",
    "totp",
    "recovery_codes",
    "needs",
}


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("instance")
    settings = {"sites": SITES, "factors": FACTORS}
    config = parse_config(json.loads(json.dumps(settings)), root / "pwreset.toml")
    build_sites(config, options=BuildOptions(gallery=True))
    # axe comes from the site's own origin (cached like any script), so the pages' strict
    # CSP stays on while it runs.
    shutil.copy(AXE, root / "site" / "__axe__.js")
    with serve(root / "site") as url:
        yield url


@pytest.fixture(scope="module")
def tab(browser: Browser) -> Iterator[Page]:
    """One tab for the whole module: hundreds of states load in it, one after another."""
    require_axe()
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def visit(tab: Page, url: str, errors: list[str]) -> None:
    errors.clear()
    # Not waiting for the load event: the gallery's ready mark comes after it anyway.
    tab.goto(url, wait_until="commit")
    tab.wait_for_selector("html[data-gallery-ready]", state="attached", timeout=5000)


def axe_violations(tab: Page) -> list[str]:
    # From the site's origin: hundreds of states load it, cached like any script.
    tab.add_script_tag(url="/__axe__.js")
    return list(tab.evaluate(RUN, WCAG_AA))


@pytest.mark.parametrize("vdir", sorted(SITES))
@pytest.mark.parametrize("page_name", PAGES)
def test_every_state_is_accessible(tab: Page, gallery: str, vdir: str, page_name: str) -> None:
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    domains = SITES[vdir].get("domains", [])
    problems: list[str] = []
    flows = ["enroll", "reset", "unlock", "change"]
    for state in page_states(page_name, domains, flows, QUESTIONS[vdir]):
        query = state.query or {"state": state.name}
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        for lang in languages_for(vdir, state.name):
            where = f"{vdir} {lang}/{page_name}.html?{suffix}"
            tab.set_viewport_size({"width": 1280, "height": 900})
            visit(tab, f"{gallery}/{vdir}/gallery/{lang}/{page_name}.html?{suffix}", errors)
            problems += [f"{where}: {v}" for v in axe_violations(tab)]
            problems += [f"{where}: console: {e}" for e in errors]
            problems += [f"{where}: {p}" for p in not_as_named(tab, state.name, lang)]
            pictured = pictured_widths(vdir, page_name, state.name, lang)
            if 1280 in pictured:
                shot(tab, vdir, page_name, state.name, 1280, lang)
            if state.name in PICTURED or lang not in EVERY_STATE[vdir]:
                tab.set_viewport_size({"width": 375, "height": 800})
                if not tab.evaluate("document.documentElement.scrollWidth <= innerWidth"):
                    problems.append(f"{where}: scrolls sideways at 375 px")
                if 375 in pictured:
                    shot(tab, vdir, page_name, state.name, 375, lang)
    assert problems == []


# States that show an error without being named after it.
ERROR_SHOWN = {"meta-failed"}
_MESSAGE_ID = re.compile(r"[A-Z][A-Z0-9_]+")


@functools.cache
def _catalogue(lang: str) -> Mapping[str, str]:
    return load_catalog([STOCK_THEMES / "default" / "messages"], lang).texts


def not_as_named(tab: Page, state: str, lang: str) -> list[str]:
    """What the state shows, against its name: a state named after a message (its last
    part, as in "totp.RES_WRONG_CODE") shows that message; any other shows no error. A reply
    the gallery did not foresee shows "Something went wrong" instead (seen once: a site
    without questions answered by question steps)."""
    named = state.rsplit(".", 1)[-1]
    error = tab.locator("[data-state=error]:visible")
    if not _MESSAGE_ID.fullmatch(named):
        shown = error.all_inner_texts() if state not in ERROR_SHOWN else []
        return [f"shows an error: {text!r}" for text in shown]
    # The page's own copy (the script's texts), else the catalogue's (texts in the markup).
    wanted = tab.evaluate(
        "id => document.querySelector(`#pw-messages [data-msg='${id}']`)?.textContent.trim()",
        named,
    ) or _catalogue(lang).get(named)
    if not wanted:
        return [f"named after {named}, which no catalogue has"]
    # The message's longest literal part: its %1, %2 are filled in on the page.
    part = max(re.split(r"\s*\(?%\d\)?", wanted), key=len).strip()
    if part and part in tab.evaluate("document.body.innerText"):
        return []
    return [f"does not show {named} ({part!r}); its error box: {error.all_inner_texts()}"]


def languages_for(vdir: str, state: str) -> list[str]:
    offered = SITES[vdir]["languages"]
    if state in SAMPLED:
        return list(offered)
    return [lang for lang in offered if lang in EVERY_STATE[vdir]]


def pictured_widths(vdir: str, page_name: str, state: str, lang: str) -> tuple[int, ...]:
    """English and Arabic: every pictured state at both widths; the other languages: the
    reset page's start on a desktop and the menu on a phone."""
    if lang in EVERY_STATE[vdir]:
        return (1280, 375) if state in PICTURED else ()
    if state != "start":
        return ()
    if vdir == "hr":
        return {"reset": (1280,), "index": (375,)}.get(page_name, ())
    return (1280,) if page_name == "reset" else ()


def shot(tab: Page, vdir: str, page_name: str, state: str, width: int, lang: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # English keeps the names the gallery has always had; other languages add their tag.
    tag = "" if lang == "en" else f"-{lang}"
    name = f"{vdir}{tag}-{page_name}-{state}-{width}.png".replace(":", "_")
    tab.screenshot(path=str(SCREENSHOTS / name), full_page=True)
