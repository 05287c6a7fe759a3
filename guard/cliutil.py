"""Pieces every voiceguard command shares: options, JSON output, messages, progress, errors.

Human text goes to stderr, JSON (one object per line) to stdout. Library errors
(:class:`guard.errors.GuardError`) become a one-line ``Error: ...`` and exit 1 at the command
boundary, in :class:`guard.cli.LazyGroup`; nothing below the CLI imports click.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePath
from typing import Any, TypeVar

import click
import numpy as np

from guard.home import resolve_home
from guard.plaintext import CONTROL, CONTROL_ONE_LINE, printable, undecodable
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


class GivenPath(click.Path):
    """A path argument or option that refuses the empty string, which ``pathlib`` would read as ``.``
    (``voiceguard scan ""`` must not scan the current folder, ``--home ""`` must not make it a home)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path was given; name a file or folder", param, ctx)
        return super().convert(value, param, ctx)




class Text(click.ParamType):
    """Free text typed by a person (a text to speak, a name, a reason, an id): valid UTF-8,
    no control characters.

    Click decodes an argument that is not UTF-8 with ``surrogateescape``, so a byte such as
    0xFF arrives as a lone surrogate (``"\\udcff"``) that fails much later, where the text is
    encoded; this type refuses it on the command line, naming the argument (exit 2). Do not
    use it for file names, which on Linux may be any bytes.

    Parameters
    ----------
    multiline : bool
        Allow tab, newline and carriage return (a text to speak, a reason, a licence).
        Without it (a name, a purpose, an id, a voice) every control character is refused.
    nonblank : bool
        Refuse text that is empty or only spaces (a reason kept in the ledger), as a usage
        error like the others.

    Examples
    --------
    >>> @click.command()
    ... @click.argument("text", type=Text(multiline=True))
    ... def speak(text: str) -> None: ...
    """

    name = "text"

    def __init__(self, *, multiline: bool = False, nonblank: bool = False) -> None:
        self.multiline = multiline
        self.nonblank = nonblank

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if bad := undecodable(value):
            self.fail(f"not valid UTF-8 text ({bad[0]} at character {bad[1]}); give it in UTF-8", param, ctx)
        control = CONTROL if self.multiline else CONTROL_ONE_LINE
        if m := control.search(value):
            wanted = "plain text" if self.multiline else "one line of plain text"
            self.fail(f"control character U+{ord(m.group()):04X} at character {m.start() + 1} is not allowed; "
                      f"give {wanted}", param, ctx)
        if self.nonblank and not value.strip():
            self.fail("is empty; say why (it is kept in the ledger)", param, ctx)
        return value


class FiniteFloat(click.FloatRange):
    """A float option in a range that also refuses NaN and infinity (exit 2).

    ``click.FloatRange`` lets ``nan`` through (every comparison with NaN is false), and
    ``inf`` when a bound is open; a NaN duration or threshold then fails much later, or
    silently flags nothing.

    Parameters
    ----------
    min, max : float, optional
        Bounds, as for ``click.FloatRange``.
    min_open, max_open : bool
        Exclude the bound itself.

    Examples
    --------
    >>> @click.command()
    ... @click.option("--duration", type=FiniteFloat(1.0, 60.0), default=3.0)
    ... def run(duration: float) -> None: ...
    """

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give {self._wanted()}", param, ctx)
        return number

    def _wanted(self) -> str:
        """What to give instead: ``a number with 0 <= x <= 1``, ``a number with x > 0``, ``a number such as 1.5``."""
        low = None if self.min is None else f"{self.min:g} {'<' if self.min_open else '<='} x"
        high = None if self.max is None else f"x {'<' if self.max_open else '<='} {self.max:g}"
        if low and high:
            return f"a number with {low}{high[1:]}"
        if low:
            return f"a number with x {'>' if self.min_open else '>='} {self.min:g}"
        return f"a number with {high}" if high else "a number such as 1.5"


class OutputFolder(click.Path):
    """A folder a benchmark writes its results into, checked when the option is read: a bad ``--out`` is a
    usage error before any work, not after hours of it.

    The check creates the folder (with its parents), the one sure test that it can be made. Folders
    created so are removed again when the command ends with them still empty (a later option was
    refused, the run failed before writing), so only a run that writes leaves a folder behind. The
    removal is tied to the parent command's context (``voiceguard bench``), which is closed even when
    a later option of the subcommand is refused; a command run on its own without a parent removes an
    unused folder only when its body has run.
    """

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; give a folder", param, ctx)
        path = Path(super().convert(value, param, ctx))
        new = [p for p in (path, *path.parents) if not (p.exists() or p.is_symlink())]  # deepest first
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.fail(f"cannot create folder {str(path)!r} ({exc.strerror or exc})", param, ctx)
        if new and ctx is not None:
            (ctx.parent or ctx).call_on_close(functools.partial(_remove_empty, new))
        if not os.access(path, os.W_OK | os.X_OK):
            self.fail(f"folder {str(path)!r} is not writable", param, ctx)
        return path


def cannot_write_in(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (the OS's words), or None when one can.

    The sure test is to create one (and remove it again): checked before long work whose
    result goes there, so that hours of it are not lost to a folder that cannot take it.

    Examples
    --------
    >>> cannot_write_in(Path("/no/such/folder"))
    'No such file or directory'
    """
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".voiceguard-write-test-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty; stop at the first that is not."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (the command wrote into it), or gone
            return


def input_path() -> GivenPath:
    """The type of every file or folder argument a command reads."""
    return GivenPath(path_type=Path)


def _json_ready(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float (numpy's too) replaced by None, numpy made plain, and every
    string (a path's too) valid Unicode: a file-name byte that was not UTF-8 as ``\\xNN`` (:func:`printable`),
    where ``json`` would write a lone surrogate that strict parsers refuse."""
    if isinstance(obj, dict):
        return {_json_ready(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, PurePath):
        obj = str(obj)
    if isinstance(obj, str):
        return printable(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_json(obj: Any, *, indent: int | None = None) -> str:
    """Standard JSON text of ``obj``: NaN and infinities become ``null`` (``json`` would write
    ``NaN``, which no strict parser reads); numpy values and paths become plain ones.

    Examples
    --------
    >>> to_json({"eer": float("nan"), "n": np.int64(3)})
    '{"eer": null, "n": 3}'
    """
    return json.dumps(_json_ready(obj), default=_json_default, sort_keys=False, allow_nan=False, indent=indent)


def emit_json(obj: Any) -> None:
    """Print one JSON object on one line to stdout (always valid JSON: see :func:`to_json`)."""
    click.echo(to_json(obj))


def file_failed(path: str | Path, exc: Exception, *, as_json: bool) -> None:
    """Report a file a multi-file command could not handle: one ``Error:`` line on stderr
    (naming the file), and with ``--json`` an object ``{"file", "error"}`` on stdout, so
    every file named gets its line of output."""
    message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    click.echo(f"Error: {printable(message, controls=True)}", err=True)
    if as_json:
        emit_json({"file": str(path), "error": message})


def say(message: str, *, quiet: bool = False) -> None:
    """Print a line for people on stderr (silent when ``quiet``).

    While a tqdm bar is on screen the line goes through ``tqdm.write``, so that it is not
    printed onto the bar's line.
    """
    if quiet:
        return
    tqdm_std = sys.modules.get("tqdm.std")  # no bar can be open when tqdm was never imported
    if tqdm_std is not None and len(getattr(tqdm_std.tqdm, "_instances", ())) > 0:
        tqdm_std.tqdm.write(message, file=sys.stderr)
    else:
        click.echo(message, err=True)


def progress(items: Iterable[T], *, silent: bool, desc: str = "", total: int | None = None) -> Iterator[T]:
    """Iterate with a tqdm bar on stderr unless ``silent`` (none either where stderr is no terminal:
    :func:`guard.progress.bar`)."""
    if silent:
        yield from items
        return
    yield from bar(items, desc=desc, total=total)


def json_option(func: Callable) -> Callable:
    """``--json``: only JSON on stdout, progress silenced."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per line) on stdout.")(func)


def quiet_option(func: Callable) -> Callable:
    return click.option("-q", "--quiet", is_flag=True, help="No progress or messages on stderr.")(func)


SEED_MAX = 2**32 - 1


def seed_option(func: Callable) -> Callable:
    """``--seed``: 0 to 2**32-1 (numpy refuses a negative seed), a usage error (exit 2) otherwise."""
    return click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True,
                        help="Random seed.")(func)


def home_option(func: Callable) -> Callable:
    """``--home DIR`` on a command; falls back to the group's ``--home``, then the environment."""

    @click.option("--home", "home_dir", type=GivenPath(file_okay=False, path_type=Path), default=None,
                  help="Data home (default: $VOICEGUARD_HOME or ~/.voiceguard).")
    @functools.wraps(func)
    def wrapper(*args: Any, home_dir: Path | None = None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        chosen = home_dir or (ctx.find_root().obj or {}).get("home")
        return func(*args, home_dir=resolve_home(chosen), **kwargs)

    return wrapper
