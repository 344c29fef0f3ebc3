"""One progress bar (rich, on stderr) for commands that run more than a few seconds.

``bar(total, description)`` is a context manager yielding ``advance(n=1, text=None)``.
The bar is drawn only when stderr is a terminal (never in pipes, ``make`` logs
or CI) and is removed when done; otherwise ``advance`` does nothing. rich is
imported only when a bar is drawn, so importing this module costs nothing.
"""
from __future__ import annotations

import contextlib
import os
import sys

ENV_OFF = "A2AD_NO_PROGRESS"  # set to any value to turn bars off on a terminal too


def enabled() -> bool:
    """Whether a bar may be drawn: stderr is a terminal and ``A2AD_NO_PROGRESS`` is unset or empty."""
    return not os.environ.get(ENV_OFF) and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


@contextlib.contextmanager
def bar(total: int, description: str, show: bool | None = None, completed: int = 0):
    """Yield ``advance(n=1, text=None)``; ``show=False`` (e.g. ``--no-progress``) turns the bar off, ``show=True``
    never turns it on where :func:`enabled` says no; ``completed``: steps already done (a resumed sweep)."""
    if not (enabled() if show is None else show and enabled()):
        yield lambda n=1, text=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # auto_refresh=False: no refresh thread, so `verify` can fork its worker pool while the bar is up
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, auto_refresh=False) as prog:
        task = prog.add_task(description, total=total, completed=completed)
        prog.refresh()

        def advance(n: int = 1, text: str | None = None) -> None:
            prog.update(task, advance=n, description=f"{description}: {text}" if text else None)
            prog.refresh()
        yield advance
