"""The hidden file ``voiceguard watermark embed`` builds beside OUT, and the ones a killed embed left.

``embed`` writes the marked audio to ``.voiceguard-<8 hex>-<name>`` beside OUT, reads it
back, logs the mark, then renames the file to OUT. While it works, the process holds an
exclusive lock on the file (:class:`StagedFile`); the lock dies with the process. A kill
after the mark was logged leaves a copy the audit names (``mark-changed``/``mark-missing``);
a kill before it leaves a marked file that no record names, which :func:`sweep` (run by the
next ``embed`` into that folder) removes when it carries a mark of this home's keys whose
payload the ledger does not hold.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from guard.errors import GuardError
from guard.home import Home

__all__ = ["StagedFile", "Leftover", "sweep", "STAGED_NAME"]

STAGED_NAME = re.compile(r"\.voiceguard-[0-9a-f]{8}-.+")


class StagedFile:
    """A new hidden file beside ``target``, locked by this process until :meth:`close`, then removed if still there.

    Parameters
    ----------
    target : Path
        The final file; the staged one takes its name and extension after a hidden prefix.
    """

    def __init__(self, target: Path) -> None:
        self.path = target.with_name(f".voiceguard-{secrets.token_hex(4)}-{target.name}")
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        with contextlib.suppress(OSError):  # a file system without locks: the file is simply not locked
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def close(self) -> None:
        """Remove the file unless it was renamed into place, and release its lock."""
        self.path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


@dataclass(frozen=True)
class Leftover:
    """A staged file an interrupted embed left: ``removed`` or kept, and why."""

    path: Path
    removed: bool
    reason: str


def sweep(folder: Path, home: Home) -> list[Leftover]:
    """Remove the marked files that embeds killed before logging their mark left in ``folder``.

    A staged file whose lock another process holds belongs to an embed at work and is not
    touched. Of the others, one carrying this home's mark with a payload the ledger does not
    hold is removed (nothing stands behind it); one whose payload the ledger holds is a logged
    mark whose rename never happened (kept: the audit names it, and it may be moved to its
    OUT); one without this home's mark, or that cannot be read, is kept (another home's, or
    not ours to judge).

    Returns
    -------
    list of Leftover
        Every abandoned staged file found, removed or kept.
    """
    found = []
    for path in sorted(folder.glob(".voiceguard-*-*")):
        if not STAGED_NAME.fullmatch(path.name) or not path.is_file() or path.is_symlink():
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # an embed at work holds it, or the file system has no locks
                continue
            found.append(_judge(path, home))
        finally:
            os.close(fd)
    return found


def _judge(path: Path, home: Home) -> Leftover:
    """Remove ``path`` when it carries this home's mark with a payload no record names; say what was done."""
    from guard import provenance
    from guard.audio import load
    from guard.watermark.verify import verify

    try:
        found = verify(load(path, sample_rate=16000), sample_rate=16000, keys=home.watermark_keys())
    except GuardError as exc:
        return Leftover(path, False, f"unreadable ({exc}); left in place")
    if not found.detected:
        return Leftover(path, False, "carries no mark of this home's keys; left in place")
    if found.payload is None:
        return Leftover(path, False, "carries this home's mark but its payload cannot be read; left in place")
    owner = provenance.payload_owner(home, found.payload)
    if owner is not None:
        return Leftover(path, False, f"its payload {found.payload:08x} is logged ({provenance.describe_owner(owner)}); "
                                     f"left in place: move it to the file its record names, or delete it")
    path.unlink(missing_ok=True)
    return Leftover(path, True, f"carried this home's mark with payload {found.payload:08x}, which no record names "
                                f"(an embed stopped before logging it); removed")
