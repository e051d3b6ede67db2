"""How long a cold start of the relay as a function takes: from the first import to the first
answered request, `pwreset.api.function:handler` against a bare Starlette app with one route,
both behind Mangum.

    .venv/bin/python bench/coldstart.py [--starts 7]

Each cold start is a fresh Python process (what a function platform starts), the two sides
alternating so both see the same machine. The clock starts before the first import and stops
when the handler has answered an API Gateway HTTP API (v2) event: for the relay, a `change`
with no fields (refused by the relay's validation, so no backend is needed) after reading its
configuration and keys from PWRESET_CONFIG; for the baseline, a GET of its one route.
Interpreter start-up, the same for both, is left out.

One line per figure: `name: value unit (baseline ..., ratio ...)`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pwreset.instance import create_instance

# A site relaying to a server that is never asked: the measured request stops at validation.
CONFIG = """
[web]
server = "127.0.0.1:9"
relay_key_file = "keys/relay.key"

[sites.pwreset]
flows = ["change"]
"""

RELAY = """
import time
start = time.perf_counter()
from pwreset.api.function import handler
answer = handler(EVENT, None)
elapsed = time.perf_counter() - start
assert answer["statusCode"] == 400, answer
print(elapsed)
"""

BARE = """
import time
start = time.perf_counter()
from mangum import Mangum
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hello(request):
    return JSONResponse({"hello": "world"})

handler = Mangum(Starlette(routes=[Route("/hello", hello)]), lifespan="off")
answer = handler(EVENT, None)
elapsed = time.perf_counter() - start
assert answer["statusCode"] == 200, answer
print(elapsed)
"""


def event(method: str, path: str, body: str | None = None) -> dict[str, object]:
    """An API Gateway HTTP API (v2) event, with what Mangum reads of it."""
    built: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-forwarded-proto": "https"},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.23",
            },
            "requestId": "bench",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        built["body"] = body
    return built


def cold_start(code: str, sample: dict[str, object], env: dict[str, str]) -> float:
    """Seconds from the first import to the answer, in a fresh interpreter."""
    # The event is parsed before the clock starts, as the platform hands it over parsed.
    program = f"import json\nEVENT = json.loads({json.dumps(sample)!r})\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=7, help="cold starts of each (default 7)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        create_instance(instance, config_text=CONFIG)
        env = {**os.environ, "PWRESET_CONFIG": str(instance / "pwreset.toml")}
        relay_event = event("POST", "/pwreset/api/v1/change", "{}")
        bare_event = event("GET", "/hello")
        relay: list[float] = []
        bare: list[float] = []
        for _ in range(args.starts):
            relay.append(cold_start(RELAY, relay_event, env) * 1000)
            bare.append(cold_start(BARE, bare_event, env) * 1000)
    for name, pick in (("median", statistics.median), ("max", max)):
        mine, base = pick(relay), pick(bare)
        print(f"cold start to first answer {name}: {mine:.0f} ms "
              f"(baseline {base:.0f} ms, ratio {mine / base:.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
