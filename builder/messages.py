"""Message catalogues: `messages/<lang>.toml` in any layer, `ID = "text"`, merged per id.

A designer rewords one message by putting just that id in `custom/messages/en.toml` (or a
site's own folder); the same search path as templates decides, the higher layer winning.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pwreset.builder.errors import BuildError

FALLBACK_LANGUAGE = "en"
# Ids the page script may need (error and finished texts) carry this prefix; they are
# embedded in the page as hidden markup, since no inline script is allowed.
CLIENT_PREFIX = "RES_"

_MESSAGE_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_TOML_LINE = re.compile(r"at line (\d+)")


class UnknownMessageError(LookupError):
    """A template asked for a message id no catalogue defines (a typo fails the build)."""


@dataclass(frozen=True)
class Catalog:
    """The merged texts of one site in one language, and the file each came from."""

    language: str
    texts: Mapping[str, str]
    sources: Mapping[str, Path]

    def text(self, message_id: str) -> str:
        try:
            return self.texts[message_id]
        except KeyError:
            raise UnknownMessageError(f"unknown message id {message_id!r}") from None

    def client_messages(self) -> list[tuple[str, str]]:
        """The (id, text) pairs the page script looks up, in a stable order."""
        return sorted((k, v) for k, v in self.texts.items() if k.startswith(CLIENT_PREFIX))


def load_catalog(message_dirs: Sequence[Path], language: str) -> Catalog:
    """Merge `<lang>.toml` of every folder (highest precedence first) over the fallback
    language, so an untranslated id still shows its English text."""
    if not _LANGUAGE.match(language):
        raise BuildError("messages", f"language {language!r} is not a language tag like 'en'")
    texts: dict[str, str] = {}
    sources: dict[str, Path] = {}
    languages = dict.fromkeys([FALLBACK_LANGUAGE, language])
    for lang in languages:
        for folder in reversed(message_dirs):
            file = folder / f"{lang}.toml"
            if file.is_file():
                for key, value in _read(file).items():
                    texts[key] = value
                    sources[key] = file
    return Catalog(language, texts, sources)


def _read(file: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise BuildError("messages", f"not valid TOML: {exc}", file=file, line=line) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError("messages", f"cannot be read: {exc}", file=file) from None
    for key, value in data.items():
        if not _MESSAGE_ID.match(key):
            raise BuildError(
                "messages", f"{key!r} is not a message id (A-Z, 0-9 and '_')", file=file
            )
        if not isinstance(value, str):
            raise BuildError("messages", f"{key} must be a text in quotes", file=file)
    return data
