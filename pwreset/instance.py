"""Creating an instance folder: configuration, keys, and the folders users edit."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pwreset.protocol.keys import (
    generate_private_key,
    write_private_key,
    write_public_key,
    write_secret_key,
)

_GITIGNORE = """\
# Secrets and data stay out of version control; overrides, themes and .pwreset/overrides.json
# (what each override shadows, for `pwreset themes check`) belong in it.
keys/
data/
site/
site-preview/
.pwreset/cache/
"""


# Relays authenticate with this pre-shared key: `[server]` and `[web] relay_key_file`.
RELAY_KEY = Path("keys/relay.key")


class InstanceExistsError(Exception):
    """The folder already holds keys; they are never overwritten."""


def _private_dir(path: Path) -> None:
    """0700 whatever the umask: keys and data are for the server's account alone."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def create_instance(folder: Path, *, config_text: str | None = None) -> list[Path]:
    """Write `pwreset.toml`, the key pair, the data key, the relay key, `custom/` and `data/`.

    Existing keys make this refuse before anything is written; an existing configuration
    file is kept as it is.
    """
    keys = folder / "keys"
    key_files = [keys / "server.key", keys / "server.pub", keys / "data.key", folder / RELAY_KEY]
    present = [p for p in key_files if p.exists()]
    if present:
        raise InstanceExistsError(
            f"{present[0]} already exists; refusing to overwrite keys (move them away first)"
        )
    written: list[Path] = []
    for sub in ("custom", "sites"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _private_dir(folder / "data")
    _private_dir(keys)
    private = generate_private_key()
    write_private_key(keys / "server.key", private)
    write_public_key(keys / "server.pub", private.public_key())
    write_secret_key(keys / "data.key")
    write_secret_key(folder / RELAY_KEY)
    written += key_files
    ignore = folder / ".gitignore"
    if not ignore.exists():
        # An instance is worth keeping in version control, but never its keys or data.
        ignore.write_text(_GITIGNORE, encoding="utf-8")
        written.append(ignore)
    config = folder / "pwreset.toml"
    if not config.exists():
        text = config_text
        if text is None:
            text = resources.files("pwreset.config").joinpath("sample.toml").read_text("utf-8")
        config.write_text(text, encoding="utf-8")
        written.append(config)
    return written


def create_relay_key(folder: Path) -> Path:
    """Write only `keys/relay.key`, for an instance made before relays had to authenticate.
    Raises InstanceExistsError rather than replace a key relays may already hold."""
    path = folder / RELAY_KEY
    if path.exists():
        raise InstanceExistsError(f"{path} already exists; refusing to overwrite it")
    _private_dir(path.parent)
    write_secret_key(path)
    return path
