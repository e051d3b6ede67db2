"""The page script, `pwreset.js`, bundled by the build: the contract the pages share with the
relay (field limits and error registry, generated from pwreset.protocol, never copied by
hand), the password rules' evaluator (the server's own `policy_check.js`), then the modules
of `static/script/` in a fixed order, in one strict-mode function.

Each module resolves through the layers like any static file, so a designer overrides one
module (say `custom/static/script/relay.js`) and keeps every other from the theme. The
modules share one scope: each names, in its header, what it provides and what it uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from importlib.util import find_spec
from pathlib import Path, PurePosixPath

from pwreset.builder.errors import BuildError
from pwreset.protocol.codes import ERRORS
from pwreset.protocol.limits import MAX_QUESTIONS, PAGE_FIELDS

SCRIPT = "pwreset.js"
MODULE_FOLDER = "script"
# Bundled in this order; startup.js runs the page, so it comes last.
MODULES = (
    "core.js",
    "language.js",
    "relay.js",
    "passkeys.js",
    "questions.js",
    "password_rules.js",
    "authenticator.js",
    "factor_session.js",
    "flow.js",
    "startup.js",
)

_HEADER = f"""\
/*
 * pwreset page script, bundled by `pwreset build`: the contract (generated), then the
 * modules of static/{MODULE_FOLDER}/: {", ".join(MODULES)}.
 * Override one module with a file of the same name in a layer (docs/themes.md).
 */
"""


def is_module(name: str) -> bool:
    """Whether static file `name` is part of the bundle (and so not copied on its own)."""
    return PurePosixPath(name).parts[0] == MODULE_FOLDER


def bundle_script(statics: Mapping[str, Path], read: Callable[[Path], bytes]) -> bytes:
    """The page script from the site's static files (name -> the winning layer's file).

    A whole `pwreset.js` in a layer (how a script was replaced before it had modules) is
    used as it is.
    """
    if SCRIPT in statics:
        return read(statics[SCRIPT])
    names = [f"{MODULE_FOLDER}/{module}" for module in MODULES]
    for name, path in statics.items():
        if is_module(name) and name not in names:
            raise BuildError(
                "static",
                f"{name} is not a module of the page script (modules: {', '.join(MODULES)})",
                file=path,
            )
    parts = [_HEADER, '(() => {\n"use strict";\n\n', contract_source(), policy_check_source()]
    for name in names:
        if name not in statics:
            raise BuildError("static", f"no layer has {name}, a module of the page script")
        parts += [f"\n/* --- {name} --- */\n", _source(statics[name], read)]
    parts.append("})();\n")
    return "".join(parts).encode("utf-8")


def _source(path: Path, read: Callable[[Path], bytes]) -> str:
    try:
        text = read(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BuildError(
            "static", f"a script module must be UTF-8 text: {exc}", file=path
        ) from None
    # A last line comment must not swallow what the bundle adds after it.
    return text if text.endswith("\n") else text + "\n"


def policy_check_source() -> str:
    """`pwresetBrokenRules`, the page's half of the password rules, as the server ships it
    (pwreset.server.passwords; tests run it against the server's check)."""
    # Found without importing the server's package: the build never runs server code.
    spec = find_spec("pwreset.server.passwords")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).with_name("policy_check.js").read_text(encoding="utf-8")
    return f"\n/* --- password rules: pwreset/server/passwords/policy_check.js --- */\n{source}"


def contract_source() -> str:
    """The contract as script constants: FIELD_LIMITS, MAX_QUESTIONS and ERRORS (code ->
    the message id the page shows, and the relay's HTTP status)."""
    limits = ",\n".join(f"  {json.dumps(k)}: {v}" for k, v in PAGE_FIELDS.items())
    errors = ",\n".join(
        f"  {json.dumps(code)}: {json.dumps({'message': kind.message_id, 'status': kind.status})}"
        for code, kind in ERRORS.items()
    )
    return (
        "/* --- contract: generated from pwreset.protocol (limits.py, codes.py) --- */\n"
        "// The most characters each field of a request may hold.\n"
        f"const FIELD_LIMITS = Object.freeze({{\n{limits}\n}});\n"
        "// The most questions a site asks at enrollment.\n"
        f"const MAX_QUESTIONS = {MAX_QUESTIONS};\n"
        "// Every error code: the message id the page shows, and the relay's HTTP status.\n"
        f"const ERRORS = Object.freeze({{\n{errors}\n}});\n"
    )
