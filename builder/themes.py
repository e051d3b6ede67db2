"""Theme descriptions: `theme.toml` (name, the theme it extends, declared options) and the
chain of themes a site's selected theme pulls in."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from pwreset.builder.errors import BuildError
from pwreset.builder.links import confined
from pwreset.builder.stamps import FileCache

# Stock themes ship inside the package; users never edit them (DESIGN.md, upgrade safety).
STOCK_THEMES = Path(str(files("pwreset.themes")))

_Fail = Callable[[str], BuildError]

_THEME_KEYS = {"name", "extends", "description", "options"}
_OPTION_KEYS = {"default", "css", "help"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CSS_PROPERTY = re.compile(r"^--[a-z][a-z0-9-]{0,63}$")
# Option values end up inside a `:root{}` rule; refusing these characters keeps a value from
# closing the rule or the stylesheet and smuggling in other CSS.
_CSS_UNSAFE = re.compile(r"[;{}<>\\\r\n]")


@dataclass(frozen=True)
class ThemeOption:
    """A declared theme option; `css` names the custom property it sets, if any."""

    name: str
    default: str
    css: str | None = None
    help: str = ""


@dataclass(frozen=True)
class Theme:
    """One `theme.toml`, as written: options it declares, and defaults it changes."""

    name: str
    root: Path
    extends: str | None
    description: str
    declared: Mapping[str, ThemeOption]
    # New defaults for options an ancestor declares (`primary = "#b00"` under [options]).
    defaults: Mapping[str, str]


_THEMES: FileCache[Theme] = FileCache()


def find_theme(name: str, search: Sequence[Path]) -> Path | None:
    """The folder of theme `name`: the first search folder that has `<name>/theme.toml`."""
    if not _NAME.match(name):
        return None
    for folder in search:
        if (folder / name / "theme.toml").is_file():
            return folder / name
    return None


def resolve_chain(name: str, search: Sequence[Path]) -> tuple[Theme, ...]:
    """The selected theme followed by every theme it extends, nearest first."""
    chain: list[Theme] = []
    wanted: str | None = name
    while wanted is not None:
        if any(t.name == wanted for t in chain):
            path = " -> ".join([*(t.name for t in chain), wanted])
            raise BuildError(
                "theme_cycle", f"themes extend each other in a cycle: {path}", theme=name
            )
        root = find_theme(wanted, search)
        if root is None:
            looked = ", ".join(str(folder) for folder in search)
            what = f"unknown theme {wanted!r}"
            if chain:
                what += f" (extended by theme {chain[-1].name!r})"
            raise BuildError("unknown_theme", f"{what}; looked in {looked}", theme=name)
        theme = load_theme(root)
        chain.append(theme)
        wanted = theme.extends
    return tuple(chain)


def option_values(chain: Sequence[Theme]) -> dict[str, ThemeOption]:
    """Every option of the chain with its effective default; nearer themes win."""
    options: dict[str, ThemeOption] = {}
    for theme in reversed(chain):
        options.update(theme.declared)
        for key, value in theme.defaults.items():
            if key not in options:
                raise BuildError(
                    "theme_config",
                    f"option {key!r} is not declared by this theme or the themes it extends",
                    theme=theme.name,
                    file=theme.root / "theme.toml",
                )
            options[key] = ThemeOption(key, value, options[key].css, options[key].help)
    return options


def with_site_options(
    options: Mapping[str, ThemeOption], overrides: Mapping[str, str], vdir: str
) -> dict[str, ThemeOption]:
    """The theme's options with a site's own values (`[sites.<vdir>.options]`) on top."""
    merged = dict(options)

    def fail(reason: str) -> BuildError:
        return BuildError("site_options", reason, site=vdir)

    for key, value in overrides.items():
        if key not in merged:
            known = ", ".join(sorted(merged))
            raise fail(
                f"sites.{vdir}.options.{key}: the theme has no such option (options: {known})"
            )
        option = merged[key]
        merged[key] = ThemeOption(key, _checked_value(key, value, fail), option.css, option.help)
    return merged


def load_theme(root: Path) -> Theme:
    """Read and check `root/theme.toml`; every mistake names the file, and a link out of
    the theme's folder is refused before it is read (or found in the cache)."""
    return _THEMES.get(confined(root / "theme.toml", root), lambda _file: _load_theme(root))


def _load_theme(root: Path) -> Theme:
    file = root / "theme.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BuildError("theme_config", f"cannot be read: {exc}", file=file) from None

    def fail(reason: str) -> BuildError:
        return BuildError("theme_config", reason, theme=root.name, file=file)

    unknown = sorted(set(data) - _THEME_KEYS)
    if unknown:
        raise fail(f"unknown keys {unknown} (known: {sorted(_THEME_KEYS)})")
    name = data.get("name", root.name)
    if name != root.name:
        raise fail(f"name = {name!r} does not match the folder name {root.name!r}")
    extends = data.get("extends") or None
    if extends is not None and not isinstance(extends, str):
        raise fail("extends must be a theme name")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description must be text")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise fail("[options] must be a table")
    declared: dict[str, ThemeOption] = {}
    defaults: dict[str, str] = {}
    for key, spec in options.items():
        if not _OPTION_NAME.match(key):
            raise fail(f"option name {key!r} must be lower-case letters, digits and '_'")
        if isinstance(spec, str):
            defaults[key] = _checked_value(key, spec, fail)
        elif isinstance(spec, dict):
            declared[key] = _declared_option(key, spec, fail)
        else:
            raise fail(f"options.{key} must be a value or a table with default/css/help")
    return Theme(name, root, extends, description, declared, defaults)


def _declared_option(key: str, spec: dict[str, Any], fail: _Fail) -> ThemeOption:
    unknown = sorted(set(spec) - _OPTION_KEYS)
    if unknown:
        raise fail(f"options.{key}: unknown keys {unknown} (known: {sorted(_OPTION_KEYS)})")
    default = spec.get("default")
    if not isinstance(default, str):
        raise fail(f"options.{key}.default must be text")
    css = spec.get("css")
    if css is not None and not (isinstance(css, str) and _CSS_PROPERTY.match(css)):
        raise fail(f"options.{key}.css must be a custom property name like '--pw-primary'")
    help_text = spec.get("help", "")
    if not isinstance(help_text, str):
        raise fail(f"options.{key}.help must be text")
    return ThemeOption(key, _checked_value(key, default, fail), css, help_text)


def _checked_value(key: str, value: str, fail: _Fail) -> str:
    if _CSS_UNSAFE.search(value):
        raise fail(f"options.{key} = {value!r} may not contain ; {{ }} < > \\ or line breaks")
    return value
