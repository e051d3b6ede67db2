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


class InstanceExistsError(Exception):
    """The folder already holds keys; they are never overwritten."""


def create_instance(folder: Path, *, config_text: str | None = None) -> list[Path]:
    """Write `pwreset.toml`, the key pair, the data key, `custom/` and `data/`.

    Existing keys make this refuse before anything is written; an existing configuration
    file is kept as it is.
    """
    keys = folder / "keys"
    key_files = [keys / "server.key", keys / "server.pub", keys / "data.key"]
    present = [p for p in key_files if p.exists()]
    if present:
        raise InstanceExistsError(
            f"{present[0]} already exists; refusing to overwrite keys (move them away first)"
        )
    written: list[Path] = []
    for sub in ("custom", "data", "sites"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True)
    keys.chmod(0o700)
    private = generate_private_key()
    write_private_key(keys / "server.key", private)
    write_public_key(keys / "server.pub", private.public_key())
    write_secret_key(keys / "data.key")
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
