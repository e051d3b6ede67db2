"""Reading `pwreset.toml`: TOML syntax, then the schema, with every problem reported at once."""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pwreset.config.errors import ConfigError, Problem
from pwreset.config.schema import Config


def load_config(path: Path) -> Config:
    """Load and validate `path`; raise ConfigError listing file, key and reason for each problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(path, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(path, "", f"cannot be read: {exc}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(path, "", f"not valid TOML: {exc}")]) from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate already-parsed TOML data as if read from `path`."""
    for reserved in ("base_dir", "source"):
        data.pop(reserved, None)
    try:
        return Config.model_validate(
            {**data, "base_dir": path.resolve().parent, "source": path.resolve()}
        )
    except ValidationError as exc:
        raise ConfigError([_problem(path, err) for err in exc.errors()]) from None


def _problem(path: Path, err: Any) -> Problem:
    loc = tuple(err["loc"])
    key = _key_path(loc)
    reason = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        known = _known_keys(Config, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        reason = "unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
        if not close and known:
            reason += f" (known keys: {', '.join(sorted(known))})"
    elif err["type"] == "missing":
        reason = "required key is missing"
    return Problem(path, key, reason)


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the table found by walking `loc` through the schema."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            if not args:
                return []
            annotation = args[-1]  # list[X] -> X, dict[str, X] -> X
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [n for n in annotation.model_fields if n not in ("base_dir", "source")]
    return []


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
