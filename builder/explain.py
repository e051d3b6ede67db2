"""`pwreset build --explain SITE NAME`: every layer of a site's search path, the file each
has for NAME, and which one wins (like Flask's template-loading explanation and Datasette's
"templates considered").

NAME is a template (`change.html`), a static file (`logo.svg`) or a message id
(`RES_WRONG_ANSWER`, shown for each of the site's languages).
"""

from __future__ import annotations

import re
from pathlib import Path

from pwreset.builder.layers import AssetKind, Layers
from pwreset.builder.links import confined
from pwreset.builder.messages import FORMATS, read_catalogue

_MESSAGE_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EXTENDS = re.compile(r"""{%-?\s*extends\s+["']([^"']+)["']""")


def kind_of(name: str) -> AssetKind:
    if _MESSAGE_ID.match(name):
        return "messages"
    return "templates" if name.endswith(".html") else "static"


def explain(layers: Layers, name: str, languages: list[str]) -> tuple[str, bool]:
    """The explanation as text, and whether some layer has NAME."""
    chain = " extends ".join(repr(theme.name) for theme in layers.themes)
    what = kind_of(name)
    lines = [f"site {layers.site!r}, theme {chain}: {what} {name!r}", ""]
    if what == "messages":
        found = False
        for lang in languages:
            lines.append(f"[{lang}]")
            found |= _message_rows(layers, name, lang, lines)
        return "\n".join(lines), found
    winner: Path | None = None
    for number, (layer, path, present) in enumerate(layers.candidates(what, name), start=1):
        if present and winner is None:
            # NAME may be a dot file, which the layer check does not walk.
            winner, status = confined(path, layer.root), "WINS"
        else:
            status = "shadowed" if present else "-"
        lines.append(f"  {number}. {status:<9}{layer.kind} {layer.name!r}: {path}")
    if winner is None:
        lines.append("  no layer has this file")
    elif what == "templates":
        match = _EXTENDS.search(winner.read_text(encoding="utf-8", errors="replace"))
        if match:
            lines.append(f"  the winner extends {match.group(1)!r}")
    return "\n".join(lines), winner is not None


def _message_rows(layers: Layers, message_id: str, lang: str, lines: list[str]) -> bool:
    won = False
    number = 0
    for layer in layers.layers:
        if layer.messages is None:
            continue
        # Within one layer the later format wins (a .toml override over the .po).
        for ext in reversed(FORMATS):
            file = layer.messages / f"{lang}.{ext}"
            number += 1
            texts = read_catalogue(file) if file.is_file() else {}
            if message_id in texts:
                status = "shadowed" if won else "WINS"
                won = True
                lines.append(f"  {number}. {status:<9}{layer.kind} {layer.name!r}: {file}")
                lines.append(f"{'':14}{texts[message_id]!r}")
            else:
                lines.append(f"  {number}. {'-':<9}{layer.kind} {layer.name!r}: {file}")
    if not won:
        lines.append(f"  no catalogue has {message_id} in {lang!r} (English is the fallback)")
    return won
