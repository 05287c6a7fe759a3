"""Where a clip may be written: a new file in an existing, writable folder outside the data home.

An existing file is kept unless the caller asks to replace it (``--force``): replacing an
earlier clip breaks that clip's audit. Nothing is ever written inside the data home, whose
files (keys, ledger, voices, consent statements) the audit checks.

A clip is built in a hidden staging folder beside it (``.voiceguard-<12 hex>``), locked by
the process building it, and renamed into place after its record is in the ledger. A process
killed between the two leaves a recorded clip there; :func:`cloner.recover.recover` (run by
every ``voiceguard clone`` into that folder) finishes the rename.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from guard.errors import CloneError
from guard.home import Home
from guard.provenance.manifest import sidecar_path
from guard.replace import replace_keeping_mode

WRITABLE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm")
STAGING_PREFIX = ".voiceguard-"
LOCK_NAME = ".lock"
STAGING_NAME = re.compile(re.escape(STAGING_PREFIX) + "[0-9a-f]{12}")


def check_output(out_path: Path, *, home: Home, overwrite: bool = False) -> Path:
    """Check that a clip may be written at ``out_path``; return it.

    Parameters
    ----------
    out_path : Path
        The clip to write; its extension picks the format (:data:`WRITABLE_EXTENSIONS`).
    home : Home
        The data home: no path inside it (after following links) is accepted.
    overwrite : bool
        Replace an existing file (never one inside the home, never a folder).

    Raises
    ------
    CloneError
        Naming ``out_path`` and what to change.
    """
    out = Path(out_path)
    if not out.suffix:
        stem = out.name.rstrip(".")
        example = f" (e.g. {out.with_name(stem + WRITABLE_EXTENSIONS[0])})" if stem else ""
        raise CloneError(f"{out} has no file extension, which picks the format; use one of "
                         f"{', '.join(WRITABLE_EXTENSIONS)}{example}")
    if out.suffix.lower() not in WRITABLE_EXTENSIONS:
        raise CloneError(f"{out}: cannot write '{out.suffix}' files; use one of {', '.join(WRITABLE_EXTENSIONS)}")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise CloneError(f"{out}: {parent} is a file, not a folder; choose an output path inside a folder")
    if not parent.is_dir():
        raise CloneError(f"{out}: output folder {parent} does not exist; create it first")
    if home.contains(out):
        raise CloneError(f"{out}: is inside the data home {home.root}, whose files the audit checks; write clips "
                         f"outside it")
    if out.is_dir():
        raise CloneError(f"{out} is a folder; give a file name such as {out / 'clip.wav'}")
    for path in (out, sidecar_path(out)):
        if (path.exists() or path.is_symlink()) and not overwrite:
            raise CloneError(f"{path} already exists; choose another name, or pass --force to replace it")
    if not os.access(parent, os.W_OK):
        raise CloneError(f"{out}: cannot write in {parent} (permission denied); choose a writable folder")
    return out


@dataclass
class Staging:
    """A hidden folder beside a clip's final name, locked by this process until :meth:`discard` or :meth:`keep`."""

    path: Path
    fd: int

    def discard(self) -> None:
        """Remove the folder and what is in it, then let go of the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.fd)

    def keep(self) -> None:
        """Leave the folder (a recorded clip that could not be placed) for :func:`cloner.recover.recover`; let go of the lock."""
        os.close(self.fd)


def lock(folder: Path, *, wait: bool) -> int | None:
    """An open, exclusively locked ``folder/.lock``, or None when another process holds it or the folder is gone.

    The lock dies with its process, so a folder whose lock can be taken belongs to no clone at work.
    On a file system without locks a waiting caller (the clone) gets the file unlocked, and a
    recovery (``wait=False``) gets None: such folders are never taken for abandoned.
    """
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as exc:  # BlockingIOError: a clone at work holds it
        if wait and not isinstance(exc, BlockingIOError):
            return fd
        os.close(fd)
        return None
    if os.fstat(fd).st_nlink == 0:  # a recovery removed the folder between our open and our lock
        os.close(fd)
        return None
    return fd


def staging_folder(out: Path, name: str | None = None) -> Staging:
    """Create and lock the hidden folder a clip is built in beside ``out``; CloneError naming ``out`` when it cannot.

    Parameters
    ----------
    out : Path
        The clip's final name; the folder goes in ``out.parent``.
    name : str, optional
        The folder's name (default: ``.voiceguard-`` and 12 random hex digits, which :func:`cloner.recover.recover` looks for).
    """
    for _ in range(3):  # a recovery may remove a folder we made before we lock it: make another
        staging = out.parent / (name or f"{STAGING_PREFIX}{secrets.token_hex(6)}")
        try:
            staging.mkdir()
        except FileExistsError:
            if name is None:
                continue
            raise CloneError(f"{out}: {staging} already exists; remove it") from None
        except OSError as exc:
            raise CloneError(f"{out}: cannot write in {out.parent} ({exc.strerror or exc}); choose a writable "
                             f"folder") from None
        try:
            fd = lock(staging, wait=True)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CloneError(f"{out}: cannot write in {out.parent} ({exc.strerror or exc}); choose a writable "
                             f"folder") from None
        if fd is not None:
            return Staging(staging, fd)
    raise CloneError(f"{out}: cannot keep a staging folder in {out.parent}; try again")


def reserve(out: Path) -> None:
    """Take the name ``out`` with an empty file, atomically; CloneError when something is there already."""
    try:
        os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        raise CloneError(f"{out} appeared while the clip was made; nothing was replaced, choose another "
                         f"name") from None


def release(out: Path) -> None:
    """Give back a name taken by :func:`reserve` that no clip filled (only while it is still the empty file)."""
    try:
        if out.stat().st_size == 0:
            out.unlink()
    except FileNotFoundError:
        pass


def place(staged: Path, out: Path, *, overwrite: bool) -> None:
    """Move the finished file to ``out``; without ``overwrite``, refuse a file that appeared meanwhile."""
    if overwrite:
        replace_keeping_mode(staged, out)
        return
    try:
        os.link(staged, out)  # fails, atomically, when out exists
    except FileExistsError:
        raise CloneError(f"{out} appeared while the clip was made; nothing was replaced, choose another "
                         f"name") from None
    except OSError:  # a file system without hard links
        if out.exists():
            raise CloneError(f"{out} appeared while the clip was made; choose another name") from None
        os.replace(staged, out)
        return
    staged.unlink()
