"""The command line's consoles and its two ways out: print laid-out text, or fail."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console

from artifactual import console as render

from artifactual.errors import ArtifactualError

__all__ = ["console", "err_console", "show", "fail", "say", "progress"]

console = Console()
err_console = Console(stderr=True)


def show(text: str) -> None:
    """Print pre-laid-out plain text (tables from :mod:`artifactual.console`) as it is."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def fail(exc: ArtifactualError) -> None:
    err_console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


def say(lines: list[str]) -> None:
    """Print plain lines (no rich markup or highlighting)."""
    for line in lines:
        console.print(line, markup=False, highlight=False)


@contextmanager
def progress(quiet: bool) -> Iterator:
    """Yields a ``(description, completed, total)`` callback: a rich bar on a terminal,
    periodic plain lines in a non-TTY log."""
    with render.progress(err_console, quiet=quiet) as update:
        yield update
