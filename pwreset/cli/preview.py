"""`pwreset preview`: build for a designer (state gallery, live reload), serve, and rebuild
on every change."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from pwreset.cli.options import add_config_option
from pwreset.config.schema import parse_address


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "preview", help="serve the sites with the state gallery, reloading on every change"
    )
    add_config_option(parser)
    parser.add_argument("--listen", default="127.0.0.1:8000", help="host:port (127.0.0.1:8000)")
    parser.add_argument("--site", action="append", metavar="NAME", help="only this site")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.builder import BuildError, BuildOptions
    from pwreset.builder.preview import BuildId, make_server
    from pwreset.builder.watch import watch
    from pwreset.config import load_config

    config = load_config(args.config)
    # Its own output folder: a preview build must never replace the production site.
    output = config.path(config.build.output).with_name(config.build.output.name + "-preview")
    config = config.model_copy(update={"build": config.build.model_copy(update={"output": output})})
    options = BuildOptions(preview=True, gallery=True)
    host, port = parse_address(args.listen)
    build_id = BuildId()
    try:
        server = make_server(output, build_id, host, port)
    except BuildError as exc:
        print(f"pwreset preview: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def built(sites: list[Any]) -> None:
        build_id.built(sites)
        for site in sites:
            if site.rebuilt:
                url = f"http://{host}:{server.server_address[1]}/{site.vdir}/"
                print(f"built {site.vdir}: {url}  (gallery: {url}gallery/)", flush=True)

    def failed(exc: Exception) -> None:
        print(f"pwreset preview: {exc}", file=sys.stderr, flush=True)

    watcher = threading.Thread(
        target=watch,
        args=(args.config, options),
        kwargs={"only": args.site, "on_build": built, "on_error": failed, "stop": stop},
        daemon=True,
    )
    watcher.start()
    print(f"pwreset preview: serving {output} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        watcher.join(5)
    return 0
