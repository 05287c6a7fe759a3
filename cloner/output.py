"""Where a clip may be written: a new file in an existing, writable folder outside the data home.

An existing file is kept unless the caller asks to replace it (``--force``): replacing an
earlier clip breaks that clip's audit. Nothing is ever written inside the data home, whose
files (keys, ledger, voices, consent statements) the audit checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from guard.errors import CloneError
from guard.home import Home
from guard.replace import replace_keeping_mode

WRITABLE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm")


def sidecar_path(out_path: Path) -> Path:
    """The C2PA sidecar manifest written beside a clip."""
    return out_path.with_name(out_path.name + ".c2pa")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


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
    if out.suffix.lower() not in WRITABLE_EXTENSIONS:
        raise CloneError(f"{out}: cannot write '{out.suffix}' files; use one of {', '.join(WRITABLE_EXTENSIONS)}")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise CloneError(f"{out}: {parent} is a file, not a folder; choose an output path inside a folder")
    if not parent.is_dir():
        raise CloneError(f"{out}: output folder {parent} does not exist; create it first")
    if _inside(out.resolve(), home.root.resolve()):
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


def staging_folder(out: Path, name: str) -> Path:
    """Create the hidden folder a clip is built in beside ``out``; CloneError naming ``out`` when it cannot."""
    staging = out.parent / name
    try:
        staging.mkdir()
    except OSError as exc:
        raise CloneError(f"{out}: cannot write in {out.parent} ({exc.strerror or exc}); choose a writable "
                         f"folder") from None
    return staging


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
