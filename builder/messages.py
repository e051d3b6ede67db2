"""Message catalogues: every text a page shows, by stable id, merged across the layers.

Two formats, both `messages/<lang>.<ext>` in any layer:

- `<lang>.po`: gettext catalogues (msgid = the message id, msgstr = the text), read with
  Babel. The stock themes ship these, so translators can use their usual tools.
- `<lang>.toml`: `ID = "text"` lines, the simple file a designer edits to reword one message
  in `custom/` or a site's folder. Within one layer it wins over that layer's `.po`.

The same search path as templates decides between layers, the higher layer winning, and
the fallback language (English) fills any id a language lacks.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po

from pwreset.builder.errors import BuildError
from pwreset.builder.stamps import FileCache

FALLBACK_LANGUAGE = "en"
# Ids the page script may need (error and finished texts) carry this prefix; they are
# embedded in the page as hidden markup, since no inline script is allowed.
CLIENT_PREFIX = "RES_"
# Catalogue formats in the order they are applied within one layer (later wins).
FORMATS = ("po", "toml")

_MESSAGE_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_TOML_LINE = re.compile(r"at line (\d+)")

# Parsed catalogue files, keyed by path and checked against mtime and size: fifty sites
# share the stock catalogues, which are parsed once per build (and once per --watch run).
_FILES: FileCache[dict[str, str]] = FileCache()


class UnknownMessageError(LookupError):
    """A template asked for a message id no catalogue defines (a typo fails the build)."""


@dataclass(frozen=True)
class Catalog:
    """The merged texts of one site in one language, and the file each came from."""

    language: str
    texts: Mapping[str, str]
    sources: Mapping[str, Path]

    def text(self, message_id: str, *fill: object) -> str:
        """The text of `message_id`, with `%1`, `%2`, … replaced by `fill` when given (the
        rest are left for the page script to fill in)."""
        try:
            text = self.texts[message_id]
        except KeyError:
            raise UnknownMessageError(f"unknown message id {message_id!r}") from None
        for position, value in enumerate(fill, start=1):
            text = text.replace(f"%{position}", str(value))
        return text

    def client_messages(self, *extra: str) -> list[tuple[str, str]]:
        """The (id, text) pairs the page script looks up, in a stable order: every RES_*
        message, plus the ids in `extra` (texts the script assembles, such as labels)."""
        for message_id in extra:
            self.text(message_id)  # an unknown extra id fails the build like any other
        wanted = set(extra)
        return sorted(
            (k, v) for k, v in self.texts.items() if k.startswith(CLIENT_PREFIX) or k in wanted
        )


def check_language(language: str) -> str:
    if not _LANGUAGE.match(language):
        raise BuildError("messages", f"language {language!r} is not a language tag like 'en'")
    return language


def catalogue_files(message_dirs: Sequence[Path], language: str) -> list[Path]:
    """Every catalogue file that contributes to `language`, lowest precedence first."""
    found: list[Path] = []
    for lang in dict.fromkeys([FALLBACK_LANGUAGE, language]):
        for folder in reversed(message_dirs):
            for ext in FORMATS:
                file = folder / f"{lang}.{ext}"
                if file.is_file():
                    found.append(file)
    return found


def load_catalog(message_dirs: Sequence[Path], language: str) -> Catalog:
    """Merge the catalogues of every folder (highest precedence first) over the fallback
    language, so an untranslated id still shows its English text."""
    check_language(language)
    texts: dict[str, str] = {}
    sources: dict[str, Path] = {}
    for file in catalogue_files(message_dirs, language):
        for key, value in read_catalogue(file).items():
            texts[key] = value
            sources[key] = file
    return Catalog(language, texts, sources)


def read_catalogue(file: Path) -> dict[str, str]:
    """One catalogue file as id -> text; a mistake is a BuildError naming file and line."""
    return _FILES.get(file, _parse)


def message_ids(files: Iterable[Path]) -> set[str]:
    return {key for file in files for key in read_catalogue(file)}


def _parse(file: Path) -> dict[str, str]:
    data = _read_po(file) if file.suffix == ".po" else _read_toml(file)
    for key, value in data.items():
        if not _MESSAGE_ID.match(key):
            raise BuildError(
                "messages", f"{key!r} is not a message id (A-Z, 0-9 and '_')", file=file
            )
        if not isinstance(value, str):
            raise BuildError("messages", f"{key} must be a text in quotes", file=file)
    return data


def _read_toml(file: Path) -> dict[str, str]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise BuildError("messages", f"not valid TOML: {exc}", file=file, line=line) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError("messages", f"cannot be read: {exc}", file=file) from None


def _read_po(file: Path) -> dict[str, str]:
    """A gettext catalogue; untranslated (empty) and fuzzy entries are left out, so the
    fallback language shows instead of an empty box or a guess."""
    try:
        with file.open("rb") as stream:
            catalog = read_po(stream, abort_invalid=True)
    except PoFileError as exc:
        line = getattr(exc, "lineno", None)
        raise BuildError("messages", f"not a valid .po file: {exc}", file=file, line=line) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError("messages", f"cannot be read: {exc}", file=file) from None
    texts: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue
        if isinstance(message.string, str) and message.string:
            texts[message.id] = message.string
    return texts
