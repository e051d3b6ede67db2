"""A progress bar for long commands: rich's on a terminal, nothing otherwise. rich is
optional (the server does not need it): without it the command says once that it runs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (work done so far, what is being done): moves the bar and updates its caption.
Update = Callable[[int, str], None]


@contextmanager
def progress_bar(command: str, caption: str, total: int | None = None) -> Iterator[Update | None]:
    """The bar's updater, or None when stderr is not a terminal (or rich is missing).
    Without a `total` the bar only counts."""
    if not sys.stderr.isatty():
        yield None
        return
    try:
        from rich.progress import Progress
    except ImportError:
        print(f"{command}: {caption} (install `rich` for a progress bar)...", file=sys.stderr)
        yield None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task(caption, total=total)

        def update(done: int, what: str) -> None:
            bar.update(task, completed=done, description=what)

        yield update
