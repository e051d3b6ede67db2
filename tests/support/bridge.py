"""A TCP bridge between network namespaces: it listens in one and carries every connection
on to an address in another, byte for byte (TLS passes through untouched).

The tests use it where a process in a namespace of their own must reach something of the
test run's namespace (the server its lab directory) or the other way round (the test's
HTTP client the relay), without a cable to the test run's namespace, which in CI is the
machine's own."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from support.netns import Namespace

_CHUNK = 65536


def _socket_in(namespace: Namespace | None) -> socket.socket:
    """A TCP socket in `namespace`, or in the test run's own when None."""
    if namespace is None:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    return namespace.socket(socket.SOCK_STREAM)


class Bridge:
    def __init__(
        self,
        listen_in: Namespace | None,
        listen: tuple[str, int],
        connect_in: Namespace | None,
        target: tuple[str, int],
    ) -> None:
        self._connect_in = connect_in
        self._target = target
        self._listener = _socket_in(listen_in)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(listen)
        self._listener.listen(64)
        self.address: tuple[str, int] = self._listener.getsockname()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = _socket_in(self._connect_in)
                upstream.connect(self._target)
            except OSError:
                client.close()  # the client sees the connection refused, as it would be
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
            threading.Thread(target=self._carry, args=(client, upstream), daemon=True).start()

    def _carry(self, client: socket.socket, upstream: socket.socket) -> None:
        """Both directions of one connection; its sockets are closed once both ended."""
        back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        back.start()
        self._pump(client, upstream)
        back.join()
        with self._lock:
            self._open -= {client, upstream}
        client.close()
        upstream.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            # One side went away: end both, as the peers would see without a bridge.
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ends, self._open = self._open, set()
        # shutdown() wakes a thread blocked in accept() or recv(); close() alone may not.
        for end in (self._listener, *ends):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self._accepter.join(5)


@contextmanager
def bridge(
    listen_in: Namespace | None,
    listen: tuple[str, int],
    connect_in: Namespace | None,
    target: tuple[str, int],
) -> Iterator[Bridge]:
    """A bridge from `listen` in `listen_in` to `target` in `connect_in` (None: the test
    run's own namespace), closed with its connections at the end."""
    made = Bridge(listen_in, listen, connect_in, target)
    try:
        yield made
    finally:
        made.close()
