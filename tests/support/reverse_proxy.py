"""nginx or Caddy running a configuration of `pwreset deploy` on loopback, as the
unprivileged `nobody` (as root) in a folder of their own, and an HTTPS client that connects
from another loopback address (127.0.0.2), so the relay can tell the client from the proxy."""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The test client's address: not the proxy's (127.0.0.1), which is in trusted_proxies.
CLIENT_IP = "127.0.0.2"
PROXY_IP = "127.0.0.1"
UNPRIVILEGED_USER = "nobody"

_NGINX_MAIN = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""


@contextmanager
def public_folder() -> Iterator[Path]:
    """A folder `nobody` can read (pytest's own are private to root): the site, the test
    certificate and the proxies' run-time files go there."""
    folder = Path(tempfile.mkdtemp(prefix="pwreset-proxy-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def give_to_proxy(*paths: Path) -> None:
    """Let the proxy's account read `paths` (the private key is 0600)."""
    if os.geteuid() != 0:
        return
    account = pwd.getpwnam(UNPRIVILEGED_USER)
    for path in paths:
        os.chown(path, account.pw_uid, account.pw_gid)


@contextmanager
def run_proxy(kind: str, config_text: str, folder: Path, port: int) -> Iterator[None]:
    """Run nginx (`config_text` is its server blocks) or Caddy (a Caddyfile) until it
    answers TLS on `port`; its output is in `folder`/output.log."""
    folder.mkdir(mode=0o755)
    if kind == "nginx":
        (folder / "site.conf").write_text(config_text)
        (folder / "nginx.conf").write_text(_NGINX_MAIN.format(folder=folder))
        argv = ["nginx", "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf")]
    else:
        (folder / "Caddyfile").write_text(config_text)
        argv = ["caddy", "run", "--adapter", "caddyfile", "--config", str(folder / "Caddyfile")]
    give_to_proxy(folder)
    # Caddy keeps its state (certificates, locks) under $HOME / XDG folders.
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "XDG_DATA_HOME": str(folder),
           "XDG_CONFIG_HOME": str(folder)}  # fmt: skip
    root = os.geteuid() == 0
    log = folder / "output.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            user=UNPRIVILEGED_USER if root else None,
            group=pwd.getpwnam(UNPRIVILEGED_USER).pw_gid if root else None,
            extra_groups=[] if root else None,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection((PROXY_IP, port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, f"{kind} exited: {log.read_text()}"
                assert time.monotonic() < deadline, f"{kind} did not listen: {log.read_text()}"
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ClientConnection(http.client.HTTPSConnection):
    """HTTPS to the proxy on 127.0.0.1 for the name `localhost`, from CLIENT_IP."""

    def __init__(self, port: int, ca_file: Path) -> None:
        super().__init__(
            "localhost", port, timeout=10, context=ssl.create_default_context(cafile=ca_file)
        )

    def connect(self) -> None:
        sock = socket.create_connection(
            (PROXY_IP, self.port), timeout=self.timeout, source_address=(CLIENT_IP, 0)
        )
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
