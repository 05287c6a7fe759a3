"""Pieces every voiceguard command shares: options, JSON output, messages, progress, errors.

Human text goes to stderr, JSON (one object per line) to stdout. Library errors
(:class:`guard.errors.GuardError`) become a one-line ``Error: ...`` and exit 1 at the command
boundary, in :class:`guard.cli.LazyGroup`; nothing below the CLI imports click.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np

from guard.home import resolve_home
from guard.progress import bar

T = TypeVar("T")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class InputPath(click.Path):
    """A path argument that refuses the empty string, which ``pathlib`` would read as ``.``
    (``voiceguard scan ""`` must not scan the current folder)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path was given; name a file or folder", param, ctx)
        return super().convert(value, param, ctx)


def input_path() -> InputPath:
    """The type of every file or folder argument a command reads."""
    return InputPath(path_type=Path)


def emit_json(obj: Any) -> None:
    """Print one JSON object on one line to stdout."""
    click.echo(json.dumps(obj, default=_json_default, sort_keys=False))


def file_failed(path: str | Path, exc: Exception, *, as_json: bool) -> None:
    """Report a file a multi-file command could not handle: one ``Error:`` line on stderr
    (naming the file), and with ``--json`` an object ``{"file", "error"}`` on stdout, so
    every file named gets its line of output."""
    message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    click.echo(f"Error: {message}", err=True)
    if as_json:
        emit_json({"file": str(path), "error": message})


def say(message: str, *, quiet: bool = False) -> None:
    """Print a line for people on stderr (silent when ``quiet``)."""
    if not quiet:
        click.echo(message, err=True)


def progress(items: Iterable[T], *, silent: bool, desc: str = "", total: int | None = None) -> Iterator[T]:
    """Iterate with a tqdm bar on stderr unless ``silent``."""
    if silent:
        yield from items
        return
    yield from bar(items, desc=desc, total=total)


def json_option(func: Callable) -> Callable:
    """``--json``: only JSON on stdout, progress silenced."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per line) on stdout.")(func)


def quiet_option(func: Callable) -> Callable:
    return click.option("-q", "--quiet", is_flag=True, help="No progress or messages on stderr.")(func)


def seed_option(func: Callable) -> Callable:
    return click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")(func)


def home_option(func: Callable) -> Callable:
    """``--home DIR`` on a command; falls back to the group's ``--home``, then the environment."""

    @click.option("--home", "home_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Data home (default: $VOICEGUARD_HOME or ~/.voiceguard).")
    @functools.wraps(func)
    def wrapper(*args: Any, home_dir: Path | None = None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        chosen = home_dir or (ctx.find_root().obj or {}).get("home")
        return func(*args, home_dir=resolve_home(chosen), **kwargs)

    return wrapper
