"""Progress bars on stderr: live on a terminal, a line every few seconds in a log file.

On a terminal tqdm redraws ten times a second; redirected to a file (a CI log, ``2> log``)
each redraw would be another carriage-return-joined record, so there the bar is redrawn
every :data:`LOG_INTERVAL_S` seconds with plain ASCII instead, and its last state is left
on a line of its own, so that the next message starts a line instead of following the
cleared bar.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

LOG_INTERVAL_S = 15.0
__all__ = ["LOG_INTERVAL_S", "bar"]


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
        False gives a bar that prints nothing (``quiet`` and ``--json`` runs).

    Returns
    -------
    tqdm.tqdm
        Iterable when ``items`` is given; call ``update(n)`` and ``close()`` otherwise.
    """
    from tqdm import tqdm

    live = sys.stderr.isatty()
    return tqdm(items, desc=desc, total=total, file=sys.stderr, disable=not enabled, leave=not live,
                dynamic_ncols=live, ascii=not live, mininterval=0.1 if live else LOG_INTERVAL_S)
