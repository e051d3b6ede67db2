"""Key files: round trips, modes, refusal to overwrite, clear errors for bad files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pwreset.protocol.keys import (
    KeyFileError,
    Keyring,
    generate_private_key,
    key_id,
    parse_public_key,
    public_key_text,
    read_private_key,
    read_public_key,
    read_secret_key,
    write_private_key,
    write_public_key,
    write_secret_key,
)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _private(path: Path, content: bytes) -> Path:
    """A key file as an admin would leave it: only the owner may read it."""
    path.write_bytes(content)
    path.chmod(0o600)
    return path


def test_private_key_round_trip_with_mode_0600(tmp_path: Path) -> None:
    key = generate_private_key()
    path = tmp_path / "server.key"
    write_private_key(path, key)
    assert _mode(path) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert read_private_key(path).private_bytes_raw() == key.private_bytes_raw()


def test_key_files_keep_their_mode_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_public_key(tmp_path / "server.pub", generate_private_key().public_key())
        write_private_key(tmp_path / "server.key", generate_private_key())
    finally:
        os.umask(old)
    assert _mode(tmp_path / "server.pub") == 0o644
    assert _mode(tmp_path / "server.key") == 0o600


@pytest.mark.parametrize("kind", ["private", "public", "secret"])
def test_existing_key_file_is_never_overwritten(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "key"
    path.write_text("precious\n")
    key = generate_private_key()
    with pytest.raises(FileExistsError):
        if kind == "private":
            write_private_key(path, key)
        elif kind == "public":
            write_public_key(path, key.public_key())
        else:
            write_secret_key(path)
    assert path.read_text() == "precious\n"


def test_missing_private_key_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.key"
    with pytest.raises(KeyFileError, match=r"nope\.key: key file does not exist"):
        read_private_key(path)


def test_directory_instead_of_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="is a directory"):
        read_private_key(tmp_path)


def test_garbage_private_key_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = _private(tmp_path / "server.key", b"hunter2 is not a key\n")
    with pytest.raises(KeyFileError) as caught:
        read_private_key(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not a PEM private key" in message
    assert "hunter2" not in message


def test_private_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ed.key"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _private(path, pem)
    with pytest.raises(KeyFileError, match="not an X25519 private key"):
        read_private_key(path)


def test_encrypted_private_key_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "enc.key"
    pem = generate_private_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    _private(path, pem)
    with pytest.raises(KeyFileError, match="encrypted"):
        read_private_key(path)


def test_public_key_text_round_trip(tmp_path: Path) -> None:
    public = generate_private_key().public_key()
    text = public_key_text(public)
    assert text.startswith("x25519:")
    assert len(text) == len("x25519:") + 43
    assert parse_public_key(f"  {text}\n").public_bytes_raw() == public.public_bytes_raw()
    path = tmp_path / "server.pub"
    write_public_key(path, public)
    assert _mode(path) == 0o644
    assert path.read_text() == text + "\n"
    assert read_public_key(path).public_bytes_raw() == public.public_bytes_raw()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x25519:",
        "ed25519:" + "A" * 43,
        "x25519:" + "A" * 42,
        "x25519:" + "A" * 44,
        "x25519:" + "A" * 42 + "!",
        "x25519:" + "A" * 42 + "B",  # non-canonical trailing bits
        "x25519: " + "A" * 43,
    ],
)
def test_malformed_public_key_text_is_refused(text: str) -> None:
    with pytest.raises(KeyFileError):
        parse_public_key(text)


def test_garbage_public_key_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "server.pub"
    path.write_bytes(b"\xff\xfe not text")
    with pytest.raises(KeyFileError, match=r"server\.pub: not a public key"):
        read_public_key(path)


def test_secret_key_round_trip_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "relay.secret"
    write_secret_key(path)
    assert _mode(path) == 0o600
    secret = read_secret_key(path)
    assert len(secret) == 32
    write_secret_key(tmp_path / "long.secret", size=48)
    assert len(read_secret_key(tmp_path / "long.secret")) == 48


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660], ids=oct)
@pytest.mark.parametrize("kind", ["private", "secret"])
def test_key_files_open_to_group_or_others_are_refused(
    tmp_path: Path, kind: str, mode: int
) -> None:
    """security review, low: a 0644 server.key (or data/relay key) must not load silently;
    the error names the file and the exact chmod that fixes it."""
    path = tmp_path / "my keys" / f"{kind}.key"
    path.parent.mkdir()
    if kind == "private":
        write_private_key(path, generate_private_key())
        read = read_private_key
    else:
        write_secret_key(path)
        read = read_secret_key  # type: ignore[assignment]
    path.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert f"(mode {mode:04o})" in message
    assert message.endswith(f"run: chmod 600 '{path}'")
    path.chmod(0o600)
    read(path)  # fixed as the message says
    path.chmod(0o400)
    read(path)  # read-only for the owner is fine too


def test_public_key_files_may_be_world_readable(tmp_path: Path) -> None:
    path = tmp_path / "server.pub"
    write_public_key(path, generate_private_key().public_key())
    assert _mode(path) == 0o644
    read_public_key(path)


def test_secret_key_too_small_to_write() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        write_secret_key(Path("/nonexistent/never-written"), size=16)


def test_short_or_garbage_secret_key_is_refused(tmp_path: Path) -> None:
    short = _private(tmp_path / "short.secret", b"AAAAAAAAAAAAAAAAAAAAAA\n")  # 16 bytes
    with pytest.raises(KeyFileError, match="16 bytes; at least 32"):
        read_secret_key(short)
    garbage = _private(tmp_path / "garbage.secret", b"this is not base64!\n")
    with pytest.raises(KeyFileError, match=r"garbage\.secret: not a secret key") as caught:
        read_secret_key(garbage)
    assert "this is not" not in str(caught.value)


def test_key_id_is_a_hash_prefix_of_the_public_key() -> None:
    public = generate_private_key().public_key()
    assert key_id(public) == hashlib.sha256(public.public_bytes_raw()).digest()[:8]


def test_keyring_holds_current_and_older_keys() -> None:
    new, old = generate_private_key(), generate_private_key()
    ring = Keyring([new, old])
    assert ring.current is new
    assert ring.ids == [key_id(new.public_key()), key_id(old.public_key())]
    assert ring.get(key_id(old.public_key())) is old
    assert ring.get(b"\0" * 8) is None
    assert new.private_bytes_raw().hex() not in repr(ring)


def test_keyring_refuses_empty_and_duplicate_keys() -> None:
    key = generate_private_key()
    with pytest.raises(ValueError, match="at least one"):
        Keyring([])
    with pytest.raises(ValueError, match="listed twice"):
        Keyring([key, key])
