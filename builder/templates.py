"""Templates: the Jinja environment of a search path (autoescaped and strict), and template
failures turned into BuildErrors that name the template file, the line and the reason."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import (
    Environment,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layers

# One environment per search path, kept for the life of the process: sites that share a
# theme chain (and have no template overrides of their own) share compiled templates, and
# `--watch` recompiles only the template whose file changed (Jinja checks mtimes).
_ENVIRONMENTS: dict[tuple[tuple[Path, ...], tuple[Path, ...]], Environment] = {}
_MAX_ENVIRONMENTS = 256


def environment_for(layers: Layers) -> Environment:
    """The cached environment of this search path (see `make_environment`)."""
    key = (tuple(layers.template_dirs()), tuple(layers.template_dirs(theme_only=True)))
    env = _ENVIRONMENTS.get(key)
    if env is None:
        if len(_ENVIRONMENTS) >= _MAX_ENVIRONMENTS:
            _ENVIRONMENTS.clear()
        env = _ENVIRONMENTS[key] = make_environment(layers)
    return env


def clear_environments() -> None:
    """Forget every compiled template (a new process's first build)."""
    _ENVIRONMENTS.clear()


def make_environment(layers: Layers) -> Environment:
    """Autoescaped, and strict: an undefined name fails the build instead of rendering
    an empty string into a page."""
    return Environment(
        loader=layers.loader(),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def has_template(env: Environment, name: str) -> bool:
    """Whether some layer provides `name`, without compiling it."""
    assert env.loader is not None
    try:
        env.loader.get_source(env, name)
    except TemplateNotFound:
        return False
    return True


def render_template(env: Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render `name`; any failure becomes a BuildError located in the template at fault.

    LookupError covers the helpers the templates call (`msg`, `asset`), whose unknown ids
    are template mistakes like an undefined variable.
    """
    try:
        return env.get_template(name).render(context)
    except TemplateSyntaxError as exc:
        file = Path(exc.filename) if exc.filename else None
        raise BuildError("template", exc.message or str(exc), file=file, line=exc.lineno) from None
    except TemplateNotFound as exc:
        file, line = _template_frame(exc.__traceback__)
        reason = f"template {exc.name!r} not found in any layer"
        raise BuildError("template", reason, file=file or Path(name), line=line) from None
    except (TemplateError, LookupError, TypeError, ValueError) as exc:
        file, line = _template_frame(exc.__traceback__)
        reason = f"{type(exc).__name__}: {exc}"
        raise BuildError("template", reason, file=file or Path(name), line=line) from None


def _template_frame(tb: TracebackType | None) -> tuple[Path | None, int | None]:
    """The innermost template frame of a traceback.

    Jinja rewrites tracebacks so that each template frame carries the template's file name
    and source line; the innermost one is where the mistake is.
    """
    found: tuple[Path | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and Path(filename).is_file():
            found = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found
