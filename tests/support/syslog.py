"""A syslog receiver for tests, on 127.0.0.1: UDP (RFC 5426), TCP with octet counting
(RFC 6587) or TLS (RFC 5425, optionally asking for a client certificate), and a strict RFC
5424 parser for what it receives: a message that does not parse fails the test.

    with SyslogReceiver("tls", tls=make_test_tls(tmp_path / "tls")) as receiver:
        ...configure [siem.syslog] address = receiver.address...
        [message] = receiver.wait_for(lambda m: m.msgid == "ENROLLED")
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from support.smtp import TlsFiles

Transport = Literal["udp", "tcp", "tls"]

_HEADER = re.compile(
    rb"<(?P<pri>[0-9]{1,3})>(?P<version>[1-9][0-9]{0,2}) (?P<timestamp>\S+) (?P<hostname>\S+) "
    rb"(?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_SD_NAME = re.compile(rb"[!#-<>-\\^-~]{1,32}")  # printable, no '=', ' ', ']', '"'
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SyslogMessage:
    pri: int
    version: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    sd: dict[str, dict[str, str]]
    msg: str
    raw: bytes

    @property
    def facility(self) -> int:
        return self.pri // 8

    @property
    def severity(self) -> int:
        return self.pri % 8

    def param(self, name: str, sd_id: str = "pwreset@32473") -> str | None:
        return self.sd.get(sd_id, {}).get(name)


def parse(raw: bytes) -> SyslogMessage:
    """RFC 5424 section 6, strictly; AssertionError naming what is wrong."""
    header = _HEADER.match(raw)
    assert header, f"not an RFC 5424 header: {raw[:80]!r}"
    timestamp = header["timestamp"].decode()
    assert _TIMESTAMP.fullmatch(timestamp), f"not an RFC 3339 timestamp: {timestamp}"
    rest = raw[header.end() :]
    sd: dict[str, dict[str, str]] = {}
    if rest.startswith(b"-"):
        rest = rest[1:]
    else:
        while rest.startswith(b"["):
            element, rest = _element(rest[1:])
            sd_id, params = element
            assert sd_id not in sd, f"SD-ID {sd_id} twice"
            sd[sd_id] = params
    msg = b""
    if rest:
        assert rest.startswith(b" "), f"no space before MSG: {rest[:20]!r}"
        msg = rest[1:]
    if msg.startswith(_BOM):
        msg = msg[len(_BOM) :]
    for field in ("hostname", "app", "procid", "msgid"):
        assert header[field].isascii() and header[field].decode().isprintable()
    assert len(header["app"]) <= 48 and len(header["procid"]) <= 128
    assert len(header["msgid"]) <= 32 and len(header["hostname"]) <= 255
    return SyslogMessage(
        pri=int(header["pri"]),
        version=int(header["version"]),
        timestamp=timestamp,
        hostname=header["hostname"].decode(),
        app_name=header["app"].decode(),
        procid=header["procid"].decode(),
        msgid=header["msgid"].decode(),
        sd=sd,
        msg=msg.decode("utf-8"),
        raw=raw,
    )


def _element(data: bytes) -> tuple[tuple[str, dict[str, str]], bytes]:
    """One SD-ELEMENT after its '[': (SD-ID, params) and what follows its ']'."""
    name = _SD_NAME.match(data)
    assert name, f"bad SD-ID: {data[:40]!r}"
    sd_id, data = name.group().decode(), data[name.end() :]
    params: dict[str, str] = {}
    while data.startswith(b" "):
        param = _SD_NAME.match(data, 1)
        assert param, f"bad PARAM-NAME: {data[:40]!r}"
        assert data[param.end() : param.end() + 2] == b'="', f"bad param: {data[:40]!r}"
        value, i = bytearray(), param.end() + 2
        while data[i : i + 1] != b'"':
            assert i < len(data), "unterminated PARAM-VALUE"
            if data[i : i + 1] == b"\\" and data[i + 1 : i + 2] in (b'"', b"\\", b"]"):
                i += 1
            else:
                assert data[i : i + 1] != b"]", "an unescaped ] in a PARAM-VALUE"
            value += data[i : i + 1]
            i += 1
        params[param.group().decode()] = value.decode("utf-8")
        data = data[i + 1 :]
    assert data.startswith(b"]"), f"SD-ELEMENT not closed: {data[:40]!r}"
    return (sd_id, params), data[1:]


class SyslogReceiver:
    """Listens on 127.0.0.1 (`port`, or a free one) and keeps every message, parsed."""

    def __init__(
        self,
        transport: Transport,
        *,
        tls: TlsFiles | None = None,
        client_ca: Path | None = None,
        port: int = 0,
    ) -> None:
        self.transport = transport
        self.messages: list[SyslogMessage] = []
        # What did not parse, or was framed wrongly: wait_for fails the test with it.
        self.errors: list[str] = []
        self.connections = 0
        self._cond = threading.Condition()
        self._context: ssl.SSLContext | None = None
        if transport == "tls":
            assert tls is not None
            self._context = tls.server_context()
            if client_ca is not None:
                self._context.verify_mode = ssl.CERT_REQUIRED
                self._context.load_verify_locations(client_ca)
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self._sock = socket.socket(socket.AF_INET, kind)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._closed = False
        self._open: list[socket.socket] = []
        if transport != "udp":
            self._sock.listen()
        target = self._datagrams if transport == "udp" else self._accept
        threading.Thread(target=target, daemon=True).start()

    def __enter__(self) -> SyslogReceiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        for sock in [self._sock, *self._open]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def wait_for(
        self, match: Callable[[SyslogMessage], bool], count: int = 1, timeout: float = 10.0
    ) -> list[SyslogMessage]:
        """The first `count` messages that `match`, waiting up to `timeout` for them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                assert not self.errors, self.errors
                found = [m for m in self.messages if match(m)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} messages; got {self.messages}"
                self._cond.wait(left)

    def _keep(self, raw: bytes) -> None:
        try:
            message = parse(raw)
        except AssertionError as exc:
            self._error(f"{exc} in {raw!r}")
            return
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def _error(self, what: str) -> None:
        with self._cond:
            self.errors.append(what)
            self._cond.notify_all()

    def _datagrams(self) -> None:
        while not self._closed:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            self._keep(data)

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._stream, args=(conn,), daemon=True).start()

    def _stream(self, conn: socket.socket) -> None:
        try:
            if self._context is not None:
                conn = self._context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        self._open.append(conn)
        with self._cond:
            self.connections += 1
        buffer = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                if buffer:
                    self._error(f"a partial frame at the end: {buffer[:40]!r}")
                return
            buffer += data
            # RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG
            while b" " in buffer:
                length, _, rest = buffer.partition(b" ")
                if not length.isdigit() or length.startswith(b"0"):
                    self._error(f"not octet-counting framing: {buffer[:20]!r}")
                    return
                if len(rest) < int(length):
                    break
                self._keep(rest[: int(length)])
                buffer = rest[int(length) :]
