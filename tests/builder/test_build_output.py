"""What `build_sites` writes: one folder per site, its pages, and fingerprinted assets."""

from __future__ import annotations

import hashlib
import re

import pytest
from builder_support import Document, Instance

from pwreset.builder import BuildError, build_sites
from pwreset.builder.pages import site_pages

TWO_SITES = """
[sites.hr]
title = "HR self-service"
domains = ["EXAMPLE", "LAB"]

[sites.it]
title = "IT self-service"
api_base = "https://api.example.org/it/api/v1/"
"""


def test_every_site_gets_its_pages_and_fingerprinted_assets(instance: Instance) -> None:
    built = build_sites(instance.config(TWO_SITES))

    assert [site.vdir for site in built] == ["hr", "it"]
    for site in built:
        assert site.path == instance.output / site.vdir
        assert site.pages == (
            "index.html",
            "enroll.html",
            "reset.html",
            "unlock.html",
            "change.html",
            "error.html",
        )
        for page in site.pages:
            doc = Document(instance.read(f"{site.vdir}/{page}"))
            css = doc.find("link", rel="stylesheet").attrs["href"]
            js = next(e for e in doc.find_all("script")).attrs["src"]
            assert re.fullmatch(r"assets/pwreset\.[0-9a-f]{8}\.css", css)
            assert re.fullmatch(r"assets/pwreset\.[0-9a-f]{8}\.js", js)
            for url in (css, js):
                data = (site.path / url).read_bytes()
                assert url.split(".")[-2] == hashlib.sha256(data).hexdigest()[:8]
                assert url in site.assets


def test_pages_are_html5_with_language_api_base_and_no_referrer(instance: Instance) -> None:
    build_sites(instance.config(TWO_SITES.replace('title = "IT', 'language = "de"\ntitle = "IT')))

    hr = instance.read("hr/change.html")
    it = Document(instance.read("it/change.html"))
    assert hr.startswith("<!doctype html>")
    assert Document(hr).find("html").attrs["lang"] == "en"
    assert it.find("html").attrs["lang"] == "de"
    assert Document(hr).find("meta", name="pwreset-api").attrs["content"] == "/hr/api/v1"
    # A configured base is used as it is (without the trailing slash).
    api = it.find("meta", name="pwreset-api").attrs["content"]
    assert api == "https://api.example.org/it/api/v1"
    for doc in (Document(hr), it):
        assert doc.find("meta", name="referrer").attrs["content"] == "no-referrer"
        assert "width=device-width" in doc.find("meta", name="viewport").attrs["content"]


def test_menu_links_the_enabled_flows(instance: Instance) -> None:
    build_sites(instance.config(TWO_SITES))

    doc = Document(instance.read("hr/index.html"))
    links = [a.attrs["href"] for a in doc.find_all("a", class_="pw-menu__item")]
    assert links == ["enroll.html", "reset.html", "unlock.html", "change.html"]
    assert len(doc.find_all("h1")) == 1


def test_the_menu_follows_the_sites_order_and_hides_what_is_off(instance: Instance) -> None:
    build_sites(instance.config('[sites.hr]\nflows = ["change", "reset"]\n'))

    doc = Document(instance.read("hr/index.html"))
    links = [a.attrs["href"] for a in doc.find_all("a", class_="pw-menu__item")]
    assert links == ["change.html", "reset.html"]
    assert not (instance.output / "hr" / "unlock.html").exists()
    assert not (instance.output / "hr" / "enroll.html").exists()
    # Without enroll, nothing links to it (the invitation and the re-enroll advice).
    for page in ("change.html", "reset.html"):
        assert "enroll.html" not in instance.read(f"hr/{page}")


def test_a_hidden_flow_is_neither_linked_nor_built(instance: Instance) -> None:
    build_sites(instance.config("[sites.kiosk]\nflows = []\n"))

    index = instance.read("kiosk/index.html")
    assert "change.html" not in index
    assert "No self-service options" in index
    assert not (instance.output / "kiosk" / "change.html").exists()


def test_only_flows_with_a_page_reach_the_menu() -> None:
    pages = site_pages("hr", ["unlock", "change"], lambda name: name == "change.html")

    assert [page.name for page in pages] == ["index", "change"]


def test_domain_is_a_drop_down_when_the_site_lists_domains(instance: Instance) -> None:
    build_sites(instance.config(TWO_SITES))

    listed = Document(instance.read("hr/change.html"))
    select = listed.find("select", name="domain")
    options = [o for o in select.children if o.tag == "option"]
    assert [o.attrs["value"] for o in options] == ["EXAMPLE", "LAB"]
    assert "selected" in options[0].attrs and "selected" not in options[1].attrs
    assert not listed.find_all("input", name="domain")

    typed = Document(instance.read("it/change.html"))
    assert typed.find("input", name="domain").attrs["type"] == "text"
    assert not typed.find_all("select")


def test_change_form_is_labelled_and_autocompletes(instance: Instance) -> None:
    build_sites(instance.config(TWO_SITES))

    doc = Document(instance.read("hr/change.html"))
    controls = [*doc.find_all("input"), *doc.find_all("select")]
    labelled = {label.attrs["for"] for label in doc.find_all("label")}
    assert {c.attrs["id"] for c in controls} <= labelled
    autocomplete = {c.attrs["name"]: c.attrs.get("autocomplete") for c in controls}
    assert autocomplete["username"] == "username"
    assert autocomplete["old_password"] == "current-password"
    assert autocomplete["new_password"] == "new-password"
    assert autocomplete["confirm_password"] == "new-password"
    assert len(doc.find_all("h1")) == 1
    error = doc.by_id("pw-error")
    assert (error.attrs["role"], error.attrs["data-state"]) == ("alert", "error")
    finished = doc.by_id("pw-finished")
    assert (finished.attrs["role"], finished.attrs["data-state"]) == ("status", "finished")
    ok = [a for a in doc.find_all("a", class_="pw-button") if a.text.strip() == "OK"]
    assert [a.attrs["href"] for a in ok] == ["index.html"]


@pytest.mark.parametrize(
    "message_id",
    [
        "RES_EMPTY_FIELD_USERNAME",
        "RES_EMPTY_FIELD_DOMAIN",
        "RES_EMPTY_FIELD_OLD_PASSWORD",
        "RES_EMPTY_FIELD_NEW_PASSWORD",
        "RES_PASSWORDS_DIFFER",
        "RES_FINISHED_CHANGE",
        "RES_FINISHED_CHANGE_INVITE",
        "RES_WRONG_PASSWORD",
        "RES_POLICY_TOO_SHORT",
        "RES_POLICY_HISTORY",
        "RES_POLICY_COMPLEXITY",
        "RES_POLICY_TOO_YOUNG",
        "RES_POLICY_REJECTED",
        "RES_LOCKED_OUT_AD",
        "RES_ACCOUNT_DISABLED",
        "RES_NOT_PERMITTED",
        "RES_UNKNOWN_DOMAIN",
        "RES_DIRECTORY_UNREACHABLE",
        "RES_DIRECTORY_REFUSED",
        "RES_REQUEST_FAILED",
        "RES_SERVER_ERROR",
        "RES_STORAGE_FULL",
        "RES_BAD_REQUEST",
        "RES_RATE_LIMITED",
        "RES_FIELD_TOO_LONG",
        "RES_FLOW_DISABLED",
        "RES_UNKNOWN_SITE",
    ],
)
def test_change_page_carries_the_messages_it_shows(instance: Instance, message_id: str) -> None:
    build_sites(instance.config(TWO_SITES), only=["hr"])

    assert Document(instance.read("hr/change.html")).message(message_id)


def test_only_builds_the_named_sites(instance: Instance) -> None:
    built = build_sites(instance.config(TWO_SITES), only=["it"])

    assert [site.vdir for site in built] == ["it"]
    assert not (instance.output / "hr").exists()


def test_an_unknown_site_name_is_refused(instance: Instance) -> None:
    with pytest.raises(BuildError) as caught:
        build_sites(instance.config(TWO_SITES), only=["hrr"])

    assert caught.value.code == "unknown_site"
    assert caught.value.site == "hrr"
    assert "did you mean 'hr'" in str(caught.value)
    assert not instance.output.exists()


def test_rebuilding_replaces_the_site_and_leaves_no_temporary_folders(
    instance: Instance,
) -> None:
    config = instance.config(TWO_SITES)
    build_sites(config)
    (instance.output / "hr" / "stale.html").write_text("old", encoding="utf-8")

    build_sites(config)

    assert not (instance.output / "hr" / "stale.html").exists()
    assert sorted(p.name for p in instance.output.iterdir()) == ["hr", "it"]


def test_a_site_without_questions_has_no_question_anywhere(instance: Instance) -> None:
    """[factors] questions = false for one site: its reset and unlock pages have no
    question step and no questions on the choose step, its enroll page asks none (its
    account fields open the other factors' enroll session); the other site keeps them."""
    config = instance.config(TWO_SITES + "\n[factors.sites.it]\nquestions = false\n")
    build_sites(config)
    for page in ("reset.html", "unlock.html"):
        kept, dropped = instance.read(f"hr/{page}"), instance.read(f"it/{page}")
        assert 'data-pw-step="question"' in kept and 'value="questions"' in kept
        assert 'data-pw-step="choose"' in dropped and 'value="passkey"' in dropped
        assert 'data-pw-step="question"' not in dropped and 'value="questions"' not in dropped
    assert "data-pw-questions" in instance.read("hr/enroll.html")
    enroll = instance.read("it/enroll.html")
    assert "data-pw-questions" not in enroll and "data-pw-enroll" not in enroll
    assert "data-pw-factors-only" in enroll and "data-pw-factors-start" in enroll
