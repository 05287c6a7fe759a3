"""Put a finished file in place of another, atomically, keeping the replaced file's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["replace_keeping_mode"]


def replace_keeping_mode(staged: Path, target: Path) -> None:
    """Rename ``staged`` over ``target`` (same file system), with ``target``'s permission bits if it exists.

    A writer that truncates a file in place keeps its mode; one that renames a new file over
    it would otherwise leave the new file's default mode (a private 0600 clip would become
    world-readable under a 022 umask).

    Parameters
    ----------
    staged : Path
        The finished file, in the same folder as ``target`` (or at least on its file system).
    target : Path
        Where it goes; a link is replaced by the file, so resolve links first to write through.
    """
    try:
        mode = stat.S_IMODE(os.stat(target, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISLNK(os.lstat(target).st_mode):
        os.chmod(staged, mode)
    os.replace(staged, target)
