"""Walk a folder tree for its files: folder links are followed once, unreadable folders named.

``Path.rglob`` (Python 3.11) neither follows a link to a folder nor says when it cannot read
a folder, so the files under either were dropped without a word. :func:`walk` lists every
entry under a folder that is not itself a folder, follows links to folders, walks each folder
once (a link loop, or a second link to a folder already walked, is noted and not walked again)
and names each folder it cannot list. Folders reached without a link are walked before those
reached through one, so a file is named by its own path where it has one.

Examples
--------
>>> found = walk("corpus/")  # doctest: +SKIP
>>> found.entries[:2], found.problems()  # doctest: +SKIP
([PosixPath('corpus/a.wav'), PosixPath('corpus/linked/b.wav')], [])
>>> files = files_under("corpus/", warn=print)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Walk:
    """What :func:`walk` found under one folder.

    Attributes
    ----------
    entries : list of Path
        Every entry that is not a folder (files, links to files, links that lead nowhere,
        pipes), sorted, each named through the folders and links that led to it.
    unreadable : list of (Path, str)
        Each folder that could not be listed, with the system's reason in lower case (``"permission denied"``).
    repeated : list of (Path, Path)
        Each way into a folder already walked (a link loop, or a second link to one folder),
        with the path the folder was walked by.
    """

    entries: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    repeated: list[tuple[Path, Path]] = field(default_factory=list)

    def unreadable_lines(self) -> list[str]:
        """One line per folder that could not be read, naming it and why."""
        return [f"{folder}: folder cannot be read ({why}); the files in it are left out" for folder, why in self.unreadable]

    def repeated_lines(self) -> list[str]:
        """One line per folder reached a second time, naming both paths."""
        return [f"{again}: leads to {first}, a folder already walked (a link loop, or a second link to it); "
                f"its files are taken once, under {first}" for again, first in self.repeated]

    def problems(self) -> list[str]:
        """Every unreadable folder and every folder reached twice, one line each."""
        return self.unreadable_lines() + self.repeated_lines()


def warn_stderr(message: str) -> None:
    """The default ``warn``: one line on stderr, where people's text goes."""
    print(f"warning: {message}", file=sys.stderr)


def walk(folder: str | os.PathLike[str]) -> Walk:
    """List the entries under ``folder`` (recursively), following links to folders once.

    Parameters
    ----------
    folder : path-like
        The folder to walk; when it cannot be listed, it is itself the one unreadable folder.

    Returns
    -------
    Walk
        ``entries`` sorted; ``unreadable`` and ``repeated`` sorted by path.
    """
    found = Walk()
    walked: dict[tuple[int, int], Path] = {}
    starts = [Path(folder)]
    while starts:  # the folders reached without a link first, then those behind one more link
        behind_links: list[Path] = []
        for start in sorted(starts):
            _walk_without_links(start, found, walked, behind_links)
        starts = behind_links
    found.entries.sort()
    found.unreadable.sort()
    found.repeated.sort()
    return found


def files_under(folder: str | os.PathLike[str], *, warn: Warn | None = None) -> list[Path]:
    """The entries under ``folder`` that are not folders, sorted; each problem of the walk told to ``warn``.

    Parameters
    ----------
    folder : path-like
    warn : callable, optional
        Told, one line each, of every unreadable folder and every folder reached twice
        (default: a line on stderr); never silent.
    """
    found = walk(folder)
    for line in found.problems():
        (warn or warn_stderr)(line)
    return found.entries


def _walk_without_links(start: Path, found: Walk, walked: dict[tuple[int, int], Path], behind_links: list[Path]) -> None:
    """Walk ``start`` and the folders under it reached without a link; links to folders go to ``behind_links``."""
    stack = [start]
    while stack:
        folder = stack.pop()
        listing = _enter(folder, found, walked)
        for entry in listing:
            path = folder / entry.name
            if not _is_folder(entry):
                found.entries.append(path)
            else:
                (behind_links if entry.is_symlink() else stack).append(path)


def _enter(folder: Path, found: Walk, walked: dict[tuple[int, int], Path]) -> list[os.DirEntry]:
    """The entries of ``folder``, or none when it was walked before (noted) or cannot be read (noted)."""
    try:
        stat = folder.stat()
        identity = (stat.st_dev, stat.st_ino)
        if identity in walked:
            found.repeated.append((folder, walked[identity]))
            return []
        walked[identity] = folder
        with os.scandir(folder) as listing:
            return list(listing)
    except OSError as exc:
        found.unreadable.append((folder, (exc.strerror or type(exc).__name__).lower()))
        return []


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows a link: a link to a folder is a folder to walk
    except OSError:  # a link loop, or a name the system will not look up: an entry, not a folder
        return False
