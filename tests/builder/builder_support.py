"""Helpers for the builder tests: a throwaway instance folder and a small HTML reader."""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from pwreset.builder import BuildOptions, BuiltSite
from pwreset.builder.watch import watch
from pwreset.config.loader import parse_config
from pwreset.config.schema import Config


@dataclass
class Instance:
    """An instance folder under tmp_path: `pwreset.toml`, overrides, themes, `site/`."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def config(self, toml: str) -> Config:
        path = self.write("pwreset.toml", toml)
        return parse_config(tomllib.loads(toml), path)

    @property
    def output(self) -> Path:
        return self.root / "site"

    def read(self, relative: str) -> str:
        return (self.output / relative).read_text(encoding="utf-8")

    def snapshot(self) -> dict[str, bytes]:
        """Every file under site/ (including leftovers of an aborted build) with its bytes."""
        return {
            p.relative_to(self.output).as_posix(): p.read_bytes()
            for p in sorted(self.output.rglob("*"))
            if p.is_file()
        }


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class Document(HTMLParser):
    """Every element of a page, in document order, with the text directly inside it."""

    _VOID = {"meta", "link", "img", "input", "br", "hr", "source", "area", "base", "col"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if self._open:
            self._open[-1].children.append(element)
        if tag not in self._VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].text += data

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        """Elements with these attributes (`class_` matches one class of several)."""
        return [
            e
            for e in self.elements
            if e.tag == tag and all(_has(e, k, v) for k, v in attrs.items())
        ]

    def find(self, tag: str, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        return next(e for e in self.elements if e.attrs.get("id") == element_id)

    def message(self, message_id: str) -> str:
        """The text the page carries for a RES_* id (in the hidden #pw-messages block)."""
        return self.find("p", data_msg=message_id).text.strip()


def _has(element: Element, key: str, value: str) -> bool:
    name = key.rstrip("_").replace("_", "-")
    if name == "class":
        return value in element.attrs.get("class", "").split()
    return element.attrs.get(name) == value


def wait_for(condition: Callable[[], object], timeout: float = 10) -> None:
    """Poll `condition` until it holds (a build in another thread, a server's answer)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@dataclass
class Watch:
    """What `watch` reported so far: each build's sites, and each error."""

    builds: list[list[BuiltSite]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)


@contextmanager
def watching(instance: Instance, options: BuildOptions) -> Iterator[Watch]:
    """`pwreset build --watch` on the instance, polling every 50 ms, for the block's length."""
    seen = Watch()
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(instance.root / "pwreset.toml", options),
        kwargs={
            "on_build": seen.builds.append,
            "on_error": seen.errors.append,
            "stop": stop,
            "interval": 0.05,
        },
    )
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(5)
