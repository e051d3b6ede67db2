"""Loopback ports: find a free one, or prove the fixed ones a daemon needs are free."""

from __future__ import annotations

import socket

from pwreset_lab.errors import LabError

LOOPBACK = "127.0.0.1"


def free_port(avoid: set[int] | None = None) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port: int = sock.getsockname()[1]
        # The kernel may hand out a just-released port again; callers wanting two need two.
        if port not in (avoid or set()):
            return port


def require_free(tcp: list[int], udp: list[int], who: str) -> None:
    """Raise LabError naming the first port on 127.0.0.1 that is already taken."""
    for kind, ports in ((socket.SOCK_STREAM, tcp), (socket.SOCK_DGRAM, udp)):
        for port in ports:
            with socket.socket(socket.AF_INET, kind) as sock:
                # SO_REUSEADDR so a port in TIME_WAIT after a previous lab counts as free,
                # exactly as it will for the daemon, which sets the same option.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((LOOPBACK, port))
                except OSError as exc:
                    proto = "tcp" if kind == socket.SOCK_STREAM else "udp"
                    raise LabError(
                        f"{who} needs {proto} port {port} on {LOOPBACK}, but it is in use "
                        f"({exc.strerror}); stop whatever listens there (`ss -lntup`)"
                    ) from exc
