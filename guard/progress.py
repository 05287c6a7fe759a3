"""Progress bars on stderr, drawn only on a terminal.

Every long command draws its bars through :func:`bar` (directly, or through
:func:`guard.cliutil.progress`), so this one rule serves them all. Redirected to a file
(``scan ... 2> scan.txt``, a CI log) a bar is no help: its redraws are carriage-return-joined
records in the middle of the table and messages the file is kept for, so there it is off.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["bar", "on_terminal"]


def on_terminal() -> bool:
    """Whether stderr is a terminal, the one place a bar is drawn."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def bar(items: Iterable | None = None, *, desc: str, total: int | None = None, enabled: bool = True) -> Any:
    """A tqdm bar on stderr over ``items`` (or one updated by hand when ``items`` is None).

    Parameters
    ----------
    items : iterable, optional
    desc : str
        What is being done, shown before the bar.
    total : int, optional
        Number of steps (default: ``len(items)`` when it has one).
    enabled : bool
        False gives a bar that prints nothing (``quiet`` and ``--json`` runs). A bar also
        prints nothing when stderr is not a terminal (:func:`on_terminal`).

    Returns
    -------
    tqdm.tqdm
        Iterable when ``items`` is given; call ``update(n)`` and ``close()`` otherwise.
    """
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, file=sys.stderr, disable=not (enabled and on_terminal()),
                leave=False, dynamic_ncols=True, ascii=False, mininterval=0.1)
