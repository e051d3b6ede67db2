"""`pwreset preview`: an open page reloads by itself after a designer saves a change."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page

from pwreset.builder import BuildOptions
from pwreset.builder.preview import CSP, BuildId, make_server
from pwreset.builder.watch import watch

pytestmark = pytest.mark.browser


def test_open_page_reloads_after_a_change(page: Page, tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    (instance / "custom" / "messages").mkdir(parents=True)
    (instance / "pwreset.toml").write_text('[sites.hr]\n[build]\noutput = "preview"\n')
    build_id = BuildId()
    server = make_server(instance / "preview", build_id, "127.0.0.1", 0)
    stop = threading.Event()
    built = threading.Event()

    def on_build(sites: list[object]) -> None:
        build_id.built(sites)  # type: ignore[arg-type]
        built.set()

    watcher = threading.Thread(
        target=watch,
        args=(instance / "pwreset.toml", BuildOptions(preview=True, gallery=True)),
        kwargs={"on_build": on_build, "on_error": print, "stop": stop, "interval": 0.1},
    )
    serving = threading.Thread(target=server.serve_forever)
    watcher.start()
    serving.start()
    try:
        assert built.wait(10)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{url}/hr/index.html") as reply:
            assert reply.headers["Content-Security-Policy"] == CSP
        # The reload hook must have read the current build id before the change is saved,
        # or it would take the new id for the one its page was built with.
        with page.expect_response("**/__pwreset__/build-id"):
            page.goto(f"{url}/hr/index.html")
        assert page.get_by_role("heading", level=1).inner_text() == "What would you like to do?"
        page.wait_for_timeout(200)

        (instance / "custom" / "messages" / "en.toml").write_text('MENU_HEADING = "Live!"\n')

        page.get_by_role("heading", name="Live!").wait_for(timeout=10000)
        # The gallery is part of every preview.
        page.goto(f"{url}/hr/gallery/index.html")
        assert page.get_by_role("heading", level=1).inner_text() == "State gallery"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        watcher.join(5)
        serving.join(5)
