"""A stand-in directory on an ldap:// port that records what arrives on the wire.

It reads each LDAP message's protocolOp tag (BindRequest 0x60, ExtendedRequest 0x77, ...)
and notes whether it came in clear or inside TLS, so a test can prove that no password
ever travelled in clear. It answers StartTLS (or refuses it), binds and searches.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIND_REQUEST = 0x60
UNBIND_REQUEST = 0x42
SEARCH_REQUEST = 0x63
EXTENDED_REQUEST = 0x77
START_TLS_OID = b"1.3.6.1.4.1.1466.20037"
_SUCCESS, _REFERRAL, _INVALID_CREDENTIALS, _UNAVAILABLE = 0, 10, 49, 52

StartTls = Literal["accept", "refuse", "break"]


@dataclass(frozen=True)
class Seen:
    transport: Literal["clear", "tls"]
    tag: int


@dataclass
class LdapListener:
    """On ldap:// (`ldaps` false), `start_tls` says how StartTLS goes: `accept` succeeds;
    `refuse` is answered with `unavailable`; `break` is answered with success, then the TLS
    handshake is cut off. Binds are turned down, unless `referral` is set: then binds
    succeed and every search is answered with a referral to that URL."""

    folder: Path
    start_tls: StartTls = "accept"
    ldaps: bool = False
    referral: str | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cert_file, key_file = _certificate(self.folder)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(self.cert_file, key_file)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        scheme = "ldaps" if self.ldaps else "ldap"
        return f"{scheme}://127.0.0.1:{self._sock.getsockname()[1]}"

    def binds(self, transport: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.tag == BIND_REQUEST and s.transport == transport)

    def __enter__(self) -> LdapListener:
        self._spawn(self._accept_loop)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._sock.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        sock: socket.socket = conn
        transport: Literal["clear", "tls"] = "clear"
        try:
            if self.ldaps:
                sock = self._tls.wrap_socket(conn, server_side=True)
                transport = "tls"
            while True:
                message = _read_message(sock)
                if message is None:
                    return
                msgid, tag, op = message
                with self._lock:
                    self.seen.append(Seen(transport, tag))
                if tag == EXTENDED_REQUEST and START_TLS_OID in op and transport == "clear":
                    if self.start_tls == "refuse":
                        sock.sendall(_response(msgid, 0x78, _UNAVAILABLE))
                        continue
                    sock.sendall(_response(msgid, 0x78, _SUCCESS))
                    if self.start_tls == "break":
                        sock.sendall(b"this is not a TLS handshake\r\n")
                        return
                    sock = self._tls.wrap_socket(conn, server_side=True)
                    transport = "tls"
                elif tag == BIND_REQUEST:
                    code = _INVALID_CREDENTIALS if self.referral is None else _SUCCESS
                    sock.sendall(_response(msgid, 0x61, code))
                elif tag == SEARCH_REQUEST and self.referral is not None:
                    referral = _tlv(0xA3, _tlv(0x04, self.referral.encode()))
                    sock.sendall(_response(msgid, 0x65, _REFERRAL, referral))
                elif tag == UNBIND_REQUEST:
                    return
        except (OSError, ValueError):
            return
        finally:
            sock.close()


def _read_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_message(sock: socket.socket) -> tuple[bytes, int, bytes] | None:
    """(messageID TLV, protocolOp tag, protocolOp and controls) of the next LDAPMessage."""
    head = _read_exact(sock, 2)
    if head is None:
        return None
    if head[0] != 0x30:
        raise ValueError("not an LDAPMessage")
    length = head[1]
    if length & 0x80:
        raw = _read_exact(sock, length & 0x7F)
        if raw is None:
            return None
        length = int.from_bytes(raw, "big")
    body = _read_exact(sock, length)
    if body is None or len(body) < 3 or body[0] != 0x02:
        raise ValueError("no messageID")
    end = 2 + body[1]
    return body[:end], body[end], body[end:]


def _tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 0x80
    return bytes([tag, len(value)]) + value


def _response(msgid: bytes, tag: int, code: int, extra: bytes = b"") -> bytes:
    result = _tlv(0x0A, bytes([code])) + _tlv(0x04, b"") + _tlv(0x04, b"") + extra
    return _tlv(0x30, msgid + _tlv(tag, result))


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "listener.crt", folder / "listener.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file
