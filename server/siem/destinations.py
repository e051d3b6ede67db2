"""Where exported rows go: a syslog receiver over UDP (RFC 5426), TCP (RFC 6587, octet
counting) or TLS (RFC 5425), or a file of JSON lines. `send` is called from one sender
thread only, may block for up to the timeout, and raises OSError when the row did not go:
the sender then tries again later (see `sender`)."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pwreset.config.schema import parse_address
from pwreset.config.siem_settings import SyslogSettings
from pwreset.server.siem.messages import Exported, SyslogFormat, json_line

# RFC 5426 3.2: what every receiver takes in one datagram. A longer message goes without its
# free-text MSG (the structured data holds every field).
UDP_MAX = 2048


class DestinationError(Exception):
    """Destinations that cannot be set up: each `[siem]` key at fault, and why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.problems = [(key, reason)]


class Destination(Protocol):
    name: str  # for the log: "syslog tls://host:port", "json file /path"

    def send(self, item: Exported) -> None: ...

    def close(self) -> None: ...


class SyslogConnection:
    def __init__(
        self, settings: SyslogSettings, resolve: Callable[[Path], Path], hostname: str
    ) -> None:
        self.host, self.port = parse_address(settings.address)
        self.transport = settings.transport
        self.timeout = settings.timeout
        self.name = f"syslog {settings.transport}://{settings.address}"
        self.format = SyslogFormat(settings, hostname)
        self._tls = _tls_context(settings, resolve) if settings.transport == "tls" else None
        self._server_name = settings.server_name or self.host
        self._sock: socket.socket | None = None

    def send(self, item: Exported) -> None:
        message = self.format.message(item)
        try:
            sock = self._sock or self._connect()
            if self.transport == "udp":
                if len(message) > UDP_MAX:
                    message = message[: message.index(b"\xef\xbb\xbf")].rstrip()
                sock.send(message)
            else:
                if _closed_by_peer(sock, self.timeout):
                    sock = self._reconnect()
                sock.sendall(b"%d %s" % (len(message), message))
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def _reconnect(self) -> socket.socket:
        self.close()
        return self._connect()

    def _connect(self) -> socket.socket:
        if self.transport == "udp":
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.connect((self.host, self.port))
        else:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            if self._tls is not None:
                try:
                    sock = self._tls.wrap_socket(sock, server_hostname=self._server_name)
                except OSError:
                    sock.close()
                    raise
        sock.settimeout(self.timeout)
        self._sock = sock
        return sock


def _closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """Whether a TCP receiver hung up: its FIN is readable. Checked before each message, so
    a connection the receiver closed between two messages loses neither (the first write
    into a half-closed connection succeeds and is lost). A receiver sends nothing, so what
    is read here (a TLS session ticket) is nothing to keep."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


def _tls_context(settings: SyslogSettings, resolve: Callable[[Path], Path]) -> ssl.SSLContext:
    """TLS 1.2 or later, the receiver's certificate checked against `ca_file` (or the
    system's CAs) and its name; a client certificate when one is configured."""
    ca = resolve(settings.ca_file) if settings.ca_file else None
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    except OSError as exc:  # ssl.SSLError is one
        raise DestinationError(
            "syslog.ca_file", f"{ca}: not a usable CA file ({_why(exc)})"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.cert_file and settings.key_file:
        cert, key = resolve(settings.cert_file), resolve(settings.key_file)
        try:
            context.load_cert_chain(cert, key)
        except OSError as exc:
            reason = f"{cert} with {key}: not a usable certificate and key ({_why(exc)})"
            raise DestinationError("syslog.cert_file", reason) from None
    return context


def _why(exc: OSError) -> str:
    return exc.strerror or getattr(exc, "reason", None) or type(exc).__name__


class JsonLinesFile:
    """Appends one JSON line per row, flushed; reopened when the file was rotated away."""

    def __init__(self, path: Path, hostname: str) -> None:
        if not path.parent.is_dir():
            raise DestinationError("json_file", f"{path}: the folder {path.parent} does not exist")
        self.path = path
        self.name = f"json file {path}"
        self.hostname = hostname
        self._file: int | None = None
        self._inode: tuple[int, int] | None = None

    def send(self, item: Exported) -> None:
        line = json_line(item, self.hostname)
        try:
            fd = self._open()
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.close(self._file)
            self._file = None

    def _open(self) -> int:
        try:
            stat = self.path.stat()
            current: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            current = None
        if self._file is not None and current == self._inode:
            return self._file
        self.close()  # rotated (renamed or removed): a new file under the name
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        stat = os.fstat(fd)
        self._file, self._inode = fd, (stat.st_dev, stat.st_ino)
        return fd
