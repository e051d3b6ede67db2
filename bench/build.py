"""Benchmark of `pwreset build` (issue 4): 50 sites x 2 languages.

    .venv/bin/python bench/build.py [--sites 50] [--repeat 3]

Builds a generated instance (both stock themes, overrides on some sites) with `build_sites`,
and, in the same run, a bare Jinja2 render of the same pages: a plain `Environment` per
search path over the same templates, rendering the same context and writing the same files,
with none of the builder's work (configuration, catalogues, assets, atomic swap, incremental
state, upgrade record). Prints one line per figure, `name: value unit (baseline ..., ratio
...) [target ...: PASS]`, the median of --repeat runs, and exits 1 when a target fails:

- full build: empty output, cold caches (a new process's first build); ratio <= 1.5
- no-op rebuild: nothing changed (the bare render renders everything again); ratio <= 1
- one template changed: one site's template override edited; ratio <= 1

Everything it writes goes to a temporary folder: it needs no `build/` or other state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment

from pwreset.builder import BuildOptions, build_sites
from pwreset.builder.pages import language_links, page_path
from pwreset.builder.render import SitePlan, plan_site
from pwreset.builder.stamps import clear_caches
from pwreset.builder.templates import clear_environments, make_environment
from pwreset.config.loader import load_config
from pwreset.config.schema import Config

FIGURES = {
    "full": "full build",
    "noop": "no-op rebuild",
    "one": "one template changed rebuild",
}
# The full build may cost half again the bare render (issue 4); a rebuild must beat
# rendering everything again, or incremental builds would not be worth their record.
TARGETS = {"full": 1.5, "noop": 1.0, "one": 1.0}

OVERRIDE = '{% extends "theme:change.html" %}\n{% block heading %}{{ super() }}{% endblock %}\n'


def make_instance(root: Path, sites: int) -> Path:
    lines = []
    for n in range(sites):
        lines += [f"[sites.site{n:02d}]", f'title = "Department {n}"', 'languages = ["en", "de"]']
        if n % 5 == 0:
            lines.append('theme = "contrast"')
        if n % 2 == 0:
            lines.append('domains = ["EXAMPLE", "LAB"]')
        if n % 10 == 3:
            override = root / "sites" / f"site{n:02d}" / "templates" / "change.html"
            override.parent.mkdir(parents=True, exist_ok=True)
            override.write_text(OVERRIDE, encoding="utf-8")
    (root / "custom" / "messages").mkdir(parents=True)
    (root / "custom" / "messages" / "en.toml").write_text('UI_FOOTER = "Call 0123."\n')
    (root / "pwreset.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    age(root, 120)
    return root / "pwreset.toml"


def age(root: Path, seconds: float) -> None:
    """Date the instance's files back, as a designer's saved files are: the build does not
    trust stamps newer than two seconds (see builder/stamps.py)."""
    past = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past))


def cold_caches() -> None:
    clear_environments()
    clear_caches()


class BareRender:
    """The same pages with plain Jinja2: the site plans (layers, catalogues, assets) made
    beforehand (not timed), then one stock Environment per search path, compile, render,
    write."""

    def __init__(self, config: Config) -> None:
        options = BuildOptions()
        self.plans = [plan_site(config, options.layers(config, vdir)) for vdir in config.sites]
        self.environments: dict[Any, Environment] = {}

    def run(self, output: Path, *, warm: bool) -> None:
        if not warm:
            self.environments = {}
        for plan in self.plans:
            env = self._environment(plan)
            folder = output / plan.vdir
            for name, data in plan.assets.files.items():
                _write(folder / name, data)
            for language in plan.languages:
                for page in plan.pages:
                    links = language_links(page, plan.languages, language.folder)
                    html = plan.render(
                        page,
                        language,
                        folder=language.folder,
                        languages=links,
                        alternates=links,
                        environment=env,
                    )
                    _write(folder / page_path(language.folder, page), html.encode("utf-8"))

    def _environment(self, plan: SitePlan) -> Environment:
        key = tuple(plan.layers.template_dirs())
        if key not in self.environments:
            self.environments[key] = make_environment(plan.layers)
        return self.environments[key]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def one_run(sites: int, ours: dict[str, list[float]], bare: dict[str, list[float]]) -> int:
    """Full build, no-op rebuild, one template changed; returns the number of pages."""
    with tempfile.TemporaryDirectory(prefix="pwreset-bench-") as temp:
        root = Path(temp) / "instance"
        root.mkdir()
        config = load_config(make_instance(root, sites))
        baseline = BareRender(config)
        bare_out = Path(temp) / "bare"

        cold_caches()
        ours["full"].append(timed(lambda: build_sites(config)))
        bare["full"].append(timed(lambda: baseline.run(bare_out, warm=False)))
        pages = len(list((root / "site").rglob("*.html")))

        built: list[Any] = []
        ours["noop"].append(timed(lambda: built.extend(build_sites(config))))
        assert not any(site.rebuilt for site in built), "a no-op build rebuilt a site"
        bare["noop"].append(timed(lambda: baseline.run(bare_out, warm=True)))

        override = root / "sites" / "site03" / "templates" / "change.html"
        override.write_text(OVERRIDE.replace("{{ super() }}", "{{ super() }}<p>v2</p>"))
        past = time.time() - 30
        os.utime(override, (past, past))
        built.clear()
        ours["one"].append(timed(lambda: built.extend(build_sites(config))))
        assert [s.vdir for s in built if s.rebuilt] == ["site03"], "rebuilt too much"
        assert "<p>v2</p>" in (root / "site" / "site03" / "de" / "change.html").read_text()
        bare["one"].append(timed(lambda: baseline.run(bare_out, warm=True)))
        return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ours: dict[str, list[float]] = {"full": [], "noop": [], "one": []}
    bare: dict[str, list[float]] = {"full": [], "noop": [], "one": []}
    pages = 0
    for run in range(args.repeat):
        pages = one_run(args.sites, ours, bare)
        print(f"run {run + 1}/{args.repeat} done", file=sys.stderr)

    print(
        f"{args.sites} sites x 2 languages = {pages} pages; median of {args.repeat} runs",
        file=sys.stderr,
    )
    passed = True
    for key, name in FIGURES.items():
        mine, base = statistics.median(ours[key]), statistics.median(bare[key])
        ratio, target = mine / base, TARGETS[key]
        passed &= ratio <= target
        print(
            f"{name}: {mine * 1000:.0f} ms (baseline {base * 1000:.0f} ms, ratio {ratio:.2f})"
            f" [target ratio <= {target:g}: {'PASS' if ratio <= target else 'FAIL'}]"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
