"""Server X25519 keys and the relay's shared secret: generation, key ids, files, rotation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shlex
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from .errors import KeyFileError

__all__ = [
    "KEY_ID_SIZE",
    "MIN_SECRET_SIZE",
    "KeyFileError",
    "Keyring",
    "generate_private_key",
    "key_id",
    "parse_public_key",
    "public_key_text",
    "read_private_key",
    "read_public_key",
    "read_secret_key",
    "write_private_key",
    "write_public_key",
    "write_secret_key",
]

KEY_ID_SIZE = 8
MIN_SECRET_SIZE = 32
_PUBLIC_PREFIX = "x25519:"
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def generate_private_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def key_id(public_key: X25519PublicKey) -> bytes:
    """First 8 bytes of SHA-256 over the raw public key: names the key in every datagram."""
    return hashlib.sha256(public_key.public_bytes_raw()).digest()[:KEY_ID_SIZE]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes | None:
    """Strict urlsafe base64 (padding optional); None if `text` is not exactly that."""
    if not _B64URL.fullmatch(text):
        return None
    bare = text.rstrip("=")
    try:
        data = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        return None
    # Re-encoding rejects non-canonical trailing bits, so one key has exactly one spelling.
    return data if _b64encode(data) == bare else None


def _create_file(path: Path, content: bytes, mode: int) -> None:
    """Write a new file; never replace one. O_EXCL makes the existence check atomic and
    the mode is set at creation, so a secret is never briefly readable by others."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed a public file's mode
        os.write(fd, content)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)  # we created it: leave no half-written key behind
        raise
    os.close(fd)


def _read_file(path: Path, *, private: bool = False) -> bytes:
    """The file's bytes; a `private` one (a private or secret key) must be 0600 or tighter."""
    try:
        with path.open("rb") as file:
            if private:
                _check_private_mode(path, os.fstat(file.fileno()).st_mode)
            return file.read()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file does not exist") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: is a directory, not a key file") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None


def _check_private_mode(path: Path, mode: int) -> None:
    """Refuse a key that group or others may read or write: whoever can read it can open
    every datagram or record, and whoever can write it can swap in a key of their own."""
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: the key file is readable or writable by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {shlex.quote(str(path))}"
        )


def write_private_key(path: Path, key: X25519PrivateKey) -> None:
    """PEM PKCS8, unencrypted, mode 0600. Raises FileExistsError rather than overwrite."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _create_file(path, pem, 0o600)


def read_private_key(path: Path) -> X25519PrivateKey:
    data = _read_file(path, private=True)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"{path}: the private key is encrypted; pwreset needs it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        # The library's message is dropped on purpose: it may quote the file.
        raise KeyFileError(f"{path}: not a PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError(f"{path}: holds a {type(key).__name__}, not an X25519 private key")
    return key


def public_key_text(key: X25519PublicKey) -> str:
    """`x25519:` + urlsafe base64 (no padding) of the raw 32 bytes, for config and files."""
    return _PUBLIC_PREFIX + _b64encode(key.public_bytes_raw())


def parse_public_key(text: str) -> X25519PublicKey:
    text = text.strip()
    if not text.startswith(_PUBLIC_PREFIX):
        raise KeyFileError(f"a public key must start with {_PUBLIC_PREFIX!r}")
    raw = _b64decode(text[len(_PUBLIC_PREFIX) :])
    if raw is None or len(raw) != 32:
        raise KeyFileError("a public key must be 'x25519:' and 32 bytes in urlsafe base64")
    return X25519PublicKey.from_public_bytes(raw)


def write_public_key(path: Path, key: X25519PublicKey) -> None:
    """The text form plus a newline, mode 0644. Raises FileExistsError rather than overwrite."""
    _create_file(path, (public_key_text(key) + "\n").encode("ascii"), 0o644)


def read_public_key(path: Path) -> X25519PublicKey:
    data = _read_file(path)
    try:
        return parse_public_key(data.decode("ascii"))
    except (UnicodeDecodeError, KeyFileError):
        raise KeyFileError(f"{path}: not a public key of the form 'x25519:<base64>'") from None


def write_secret_key(path: Path, size: int = 32) -> None:
    """`size` random bytes as urlsafe base64 text, mode 0600; never overwrites."""
    if size < MIN_SECRET_SIZE:
        raise ValueError(f"a secret key needs at least {MIN_SECRET_SIZE} bytes, not {size}")
    _create_file(path, (_b64encode(os.urandom(size)) + "\n").encode("ascii"), 0o600)


def read_secret_key(path: Path) -> bytes:
    data = _read_file(path, private=True)
    try:
        secret = _b64decode(data.decode("ascii").strip())
    except UnicodeDecodeError:
        secret = None
    if secret is None:
        raise KeyFileError(f"{path}: not a secret key (expected urlsafe base64 text)")
    if len(secret) < MIN_SECRET_SIZE:
        raise KeyFileError(
            f"{path}: the secret key is {len(secret)} bytes; at least {MIN_SECRET_SIZE} needed"
        )
    return secret


class Keyring:
    """The server's private keys by key id. The first is current; the others are still
    accepted so relays can move to a new public key one by one during a rotation."""

    def __init__(self, private_keys: Sequence[X25519PrivateKey]) -> None:
        if not private_keys:
            raise ValueError("a keyring needs at least one private key")
        self._keys: dict[bytes, X25519PrivateKey] = {}
        for key in private_keys:
            kid = key_id(key.public_key())
            if kid in self._keys:
                raise ValueError(f"the key with id {kid.hex()} is listed twice")
            self._keys[kid] = key
        self._current = private_keys[0]

    def get(self, key_id: bytes) -> X25519PrivateKey | None:
        return self._keys.get(key_id)

    @property
    def current(self) -> X25519PrivateKey:
        return self._current

    @property
    def ids(self) -> list[bytes]:
        return list(self._keys)

    def __repr__(self) -> str:
        return f"Keyring(ids=[{', '.join(kid.hex() for kid in self._keys)}])"
