"""The relay as a function (AWS Lambda behind API Gateway, through Mangum): `handler`.

`pwreset.api.function:handler` is the function's entry point; it reads the configuration
named by PWRESET_CONFIG (as `app_from_env`), once per cold start, and serves only the API
(the pages live on a static host). Needs the `function` extra (`pip install pwreset[function]`).

- No long-lived process: the relay's state (rate limit, meta cache, failover order) is made
  by `create_app` and lives as long as the function instance. The app starts nothing in an
  ASGI lifespan, and Mangum would run a lifespan's startup and shutdown around every single
  invocation, so the lifespan is off.
- The client address is the platform's: Mangum puts the event's `requestContext.http.sourceIp`
  (what API Gateway saw as the TCP peer) into the ASGI scope, and the relay believes no
  forwarded header here whatever `[web] trusted_proxies` says (the event's headers are
  whatever the client sent, and the platform is the only proxy).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path
from typing import Any

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from pwreset.api.app import config_path_from_env, create_app
from pwreset.api.settings import RelaySettings
from pwreset.config.loader import load_config

log = logging.getLogger("pwreset.api")


def function_settings(path: Path) -> RelaySettings:
    """The relay's settings from the configuration at `path`, as a function runs them."""
    settings = RelaySettings.from_config(load_config(path), serve_site=False)
    if settings.trusted_proxies or settings.web_user_header:
        log.warning(
            "[web] trusted_proxies and web_user_header are ignored by the function: the "
            "client address is the platform's sourceIp, and no header is believed"
        )
    return dataclasses.replace(settings, trusted_proxies=(), web_user_header="")


def make_handler(path: Path) -> Mangum:
    """The function handler of the relay configured at `path`."""
    # Mangum sends unknown types base64-encoded; errors are text like the answers.
    return Mangum(
        create_app(function_settings(path)),
        lifespan="off",
        text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/problem+json"],
    )


@functools.cache
def _cold_start() -> Mangum:
    return make_handler(config_path_from_env())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The entry point the platform calls; the first call of an instance builds the app."""
    return _cold_start()(event, context)
