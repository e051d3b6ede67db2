"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, capturing every message it accepts.

Three modes, as a mail relay offers them: "plain" (no TLS), "starttls" (TLS required before
MAIL, `require_starttls=True`) and "tls" (implicit TLS from the first byte, like port 465).
The certificates come from a throwaway CA made with `cryptography` at test time, so the
client can check the server certificate against a CA file exactly as in production.
Optional AUTH (LOGIN and PLAIN) against a dict of user -> password.

    tls = make_test_tls(tmp_path)
    with SmtpServer("starttls", tls=tls, users={"relay": "s3cret"}) as server:
        ...send to server.host, server.port with tls.ca_file...
        [mail] = server.messages
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Mode = Literal["plain", "starttls", "tls"]
HOST = "127.0.0.1"


# -- certificates ------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one throwaway CA and a server certificate it signed for 127.0.0.1 and
    localhost. `ca_file` is what the client trusts."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_test_tls(
    folder: Path,
    name: str = "pwreset test CA",
    hosts: tuple[str, ...] = ("localhost", HOST),
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> TlsFiles:
    """A CA and a server certificate for `hosts` (DNS names or IP addresses) in `folder`
    (created); a client certificate with `usage=ExtendedKeyUsageOID.CLIENT_AUTH`. EC P-256
    keeps this fast; the extensions are the ones strict verification expects (key ids, EKU,
    SANs)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([_san(host) for host in hosts]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# -- the server --------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedMail:
    """One accepted message: the SMTP envelope and the message as delivered."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    authenticated_as: str | None
    over_tls: bool


@dataclass
class _Recorder:
    """aiosmtpd handler: keeps every message; the DATA reply is sent only after this runs,
    so a client's send has been captured by the time it returns."""

    messages: list[CapturedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        transport = server.transport
        parsed = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = CapturedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            # SMTP lines end in CRLF; parsed with Python's own line ends, so tests compare
            # contents with "\n" as written.
            message=parsed,
            authenticated_as=login,
            over_tls=session.ssl is not None
            or (transport is not None and transport.get_extra_info("sslcontext") is not None),
        )
        with self.lock:
            self.messages.append(mail)
        return "250 Message accepted"


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """aiosmtpd's threaded Controller on a free port of 127.0.0.1; use as a context manager
    or call start() / stop()."""

    def __init__(
        self,
        mode: Mode = "plain",
        *,
        tls: TlsFiles | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        if mode != "plain" and tls is None:
            raise ValueError(f"mode {mode!r} needs tls files (make_test_tls)")
        self.mode: Mode = mode
        self.tls = tls
        self.users = dict(users or {})
        self.host = HOST
        self.port = free_tcp_port()
        self.auth_attempts: list[str] = []
        self._running = False
        self._recorder = _Recorder()
        kwargs: dict[str, Any] = {"authenticator": self._authenticate}
        if mode == "starttls":
            assert tls is not None
            kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        elif mode == "tls":
            assert tls is not None
            kwargs["ssl_context"] = tls.server_context()
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; the connection is
            # TLS from the first byte here, so AUTH may go ahead.
            kwargs["auth_require_tls"] = False
        self._controller = Controller(self._recorder, hostname=HOST, port=self.port, **kwargs)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd then sends the 535 reply itself.
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        self.auth_attempts.append(login)
        expected = self.users.get(login)
        ok = expected is not None and data.password.decode("utf-8", "replace") == expected
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    @property
    def messages(self) -> list[CapturedMail]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[CapturedMail]:
        """The first `count` messages, waiting for them if needed."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")
            time.sleep(0.02)
        return self.messages

    def start(self) -> SmtpServer:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop listening (idempotent, so a test may stop a server to make it unreachable)."""
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# What a fixture that starts servers on demand returns: start(mode, users=...) -> server.
ServerFactory = Callable[..., SmtpServer]
