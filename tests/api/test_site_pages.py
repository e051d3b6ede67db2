"""The pages `pwreset web --serve-site` serves (pwreset.api.site_pages): a visitor who has not
chosen a language is sent to the pages in their browser's language, on the relay built from a
real instance and its built site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.builder import build_sites
from pwreset.config import load_config
from pwreset.instance import create_instance

CONFIG = """
[web]
server = "127.0.0.1:9"

[sites.hr]
languages = ["en", "fr", "pt"]
domains = ["EXAMPLE"]

[sites.it]
"""
FRENCH = {"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"}
OUTSIDE = {"Sec-Fetch-Site": "none"}  # typed, a bookmark, or a link in a mail client
PAGE_SCRIPT = {"Sec-Fetch-Site": "same-origin"}  # the switch, a link, the page's own move


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pages")
    create_instance(root, config_text=CONFIG)
    build_sites(load_config(root / "pwreset.toml"))
    return root


@pytest.fixture
def client(instance: Path) -> Iterator[TestClient]:
    settings = RelaySettings.from_config(load_config(instance / "pwreset.toml"), serve_site=True)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def negotiated(reply) -> bool:
    return reply.headers.get("vary") == "Accept-Language, Sec-Fetch-Site" and (
        reply.headers.get("cache-control") == "private, no-cache"
    )


def test_the_sites_address_answers_in_the_browsers_language(client: TestClient) -> None:
    reply = client.get("/hr/", headers=FRENCH)
    assert reply.status_code == 302
    assert reply.headers["location"] == "/hr/fr/"
    assert negotiated(reply)
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    page = client.get(reply.headers["location"], headers=FRENCH)
    assert '<html lang="fr"' in page.text


def test_a_page_opened_from_outside_keeps_its_deep_link(client: TestClient) -> None:
    for fetch_site in ("none", "cross-site", "same-site"):
        reply = client.get(
            "/hr/reset.html?username=jsmith&domain=EXAMPLE",
            headers={"Accept-Language": "pt-BR,pt;q=0.9", "Sec-Fetch-Site": fetch_site},
        )
        assert reply.status_code == 302, fetch_site
        assert reply.headers["location"] == "/hr/pt/reset.html?username=jsmith&domain=EXAMPLE"
        assert negotiated(reply)


def test_the_main_language_or_none_offered_serves_the_page_with_vary(client: TestClient) -> None:
    for language in ("en-GB,en;q=0.9,fr;q=0.8", "fi-FI, sv;q=0.8", ""):
        reply = client.get("/hr/", headers={"Accept-Language": language})
        assert reply.status_code == 200
        assert '<html lang="en"' in reply.text
        assert negotiated(reply)  # another browser gets a redirect at the same address


def test_the_page_script_and_the_pages_links_are_never_redirected(client: TestClient) -> None:
    """The page script applies a remembered choice by moving to its page: the server must
    not send it back (an explicit choice wins, and no redirect loop)."""
    for path in ("/hr/reset.html", "/hr/index.html", "/hr/"):
        reply = client.get(path, headers={**FRENCH, **PAGE_SCRIPT})
        assert reply.status_code == 200, path
        assert '<html lang="en"' in reply.text
    # A browser that sends no Sec-Fetch-Site: only the site's address is decided here.
    assert client.get("/hr/reset.html", headers=FRENCH).status_code == 200
    assert client.get("/hr/", headers=FRENCH).status_code == 302


def test_a_link_naming_the_language_is_left_to_the_page(client: TestClient) -> None:
    reply = client.get("/hr/reset.html?lang=pt", headers={**FRENCH, **OUTSIDE})
    assert reply.status_code == 200
    assert '<html lang="en"' in reply.text


def test_other_requests_are_served_as_before(client: TestClient) -> None:
    french = {**FRENCH, **OUTSIDE}
    for path in ("/hr/fr/reset.html", "/hr/pt/"):
        reply = client.get(path, headers=french)
        assert reply.status_code == 200 and "vary" not in reply.headers, path
    assert client.head("/hr/", headers=french).status_code == 302
    assert client.post("/hr/", headers=french).status_code == 405
    # A site in one language has nothing to negotiate.
    reply = client.get("/it/", headers=french)
    assert reply.status_code == 200 and "vary" not in reply.headers
    # The API is untouched.
    api = client.post("/hr/api/v1/nothing", headers=french, json={})
    assert api.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/hr//evil.example/",
        "/hr//evil.example/reset.html",
        "/hr/%2F%2Fevil.example%2Freset.html",
        "/hr/%5C%5Cevil.example/",
        "/hr/..%2F..%2Fetc%2Fpasswd.html",
        "/hr/reset.html/..%2F..%2F",
    ],
)
def test_no_request_is_redirected_off_the_site(client: TestClient, path: str) -> None:
    reply = client.get(path, headers={**FRENCH, **OUTSIDE, "Host": "evil.example"})
    assert reply.status_code == 404


def test_a_language_not_built_yet_is_not_redirected_to(instance: Path) -> None:
    """`languages` gained a tag but the site was not rebuilt: the main page, not a 404."""
    grown = instance / "grown.toml"
    grown.write_text((instance / "pwreset.toml").read_text().replace('"pt"]', '"pt", "sv"]'))
    settings = RelaySettings.from_config(load_config(grown), serve_site=True)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        reply = client.get("/hr/", headers={"Accept-Language": "sv"})
        assert reply.status_code == 200
        assert '<html lang="en"' in reply.text


@pytest.mark.parametrize("path", ["/hr", "/hr/fr", "/it"])
def test_a_folder_without_its_slash_is_redirected_on_this_host_whatever_host_is_claimed(
    client: TestClient, path: str
) -> None:
    # Starlette's own redirect is built from the Host header: a forged one would send the
    # browser (or poison a cache) towards another host.
    reply = client.get(path, headers={"Host": "evil.example"})
    assert reply.status_code in (307, 308)
    assert reply.headers["location"] == path + "/"
    followed = client.get(reply.headers["location"], headers={**FRENCH, **PAGE_SCRIPT})
    assert followed.status_code == 200


def test_a_folder_redirect_keeps_the_query_and_never_leaves_the_site(client: TestClient) -> None:
    reply = client.get("/hr?domain=EXAMPLE", headers={"Host": "evil.example"})
    assert reply.headers["location"] == "/hr/?domain=EXAMPLE"
    # A path that starts with two slashes must not become a protocol-relative address.
    sneaky = client.get("//evil.example/..//hr", headers={"Host": "evil.example"})
    assert not sneaky.headers.get("location", "/").startswith("//")
