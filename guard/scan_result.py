"""One scanned file's result: the row and its JSON, the section of a part that did not run, and error rows."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from guard.plaintext import file_bytes_hex, printable
from guard.scan_overview import Overview


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _printable_values(obj: Any) -> Any:
    """``obj`` with :func:`printable` applied to every string in it (dicts and lists walked)."""
    if isinstance(obj, str):
        return printable(obj)
    if isinstance(obj, dict):
        return {k: _printable_values(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_printable_values(v) for v in obj]
    return obj


def not_checked(part: str, why: str) -> dict:
    """The section of a part that did not run: all values null, ``reason`` says why."""
    if part == "watermark":
        return {"detected": None, "payload": None, "p_value": None, "segments": [], "reason": why, "speed": None}
    return {"score": None, "p_synthetic": None, "segments": [], "warning": why}


@dataclass
class ScanResult:
    """What the scan found in one file; :meth:`to_dict` gives the contract's JSON keys."""

    file: str
    verdict: str
    reason: str
    watermark: dict | None = None
    provenance: dict | None = None
    manifest: dict | None = None
    detector: dict | None = None
    duration_s: float | None = None
    error: str | None = None
    overview: Overview | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The row as JSON-ready values; strings made valid Unicode (:func:`printable`), so a file name
        that is not UTF-8 shows its bytes as ``\\xNN``; ``file_bytes_hex`` then holds the name's exact
        bytes (hex), since a name may also hold those four characters literally, and is null otherwise."""
        row = _printable_values({"file": self.file, "verdict": self.verdict, "reason": self.reason,
                                 "watermark": self.watermark, "provenance": self.provenance, "manifest": self.manifest,
                                 "detector": self.detector, "duration_s": self.duration_s, "error": self.error})
        return {**row, "file_bytes_hex": file_bytes_hex(self.file)}


def _error_row(name: str, message: str) -> ScanResult:
    return ScanResult(name, "error", message, error=message)


def unreadable_text(name: str, exc: OSError) -> str:
    """The one-line reason of a file that could not be read: the file, why, and what to do.

    Parameters
    ----------
    name : str
        The file scanned.
    exc : OSError
        What reading it raised; its ``filename``, when another file's, is named too.

    Examples
    --------
    >>> import errno
    >>> unreadable_text("in/a.ogg", PermissionError(errno.EACCES, "Permission denied", "in/a.ogg"))
    'in/a.ogg: cannot be read (permission denied); make it readable for this user (chmod u+r) and scan it again'
    """
    other = exc.filename is not None and os.fsdecode(exc.filename) != name
    where = f"{name}: reading {os.fsdecode(exc.filename)}" if other else name
    if isinstance(exc, PermissionError):
        return f"{where}: cannot be read (permission denied); make it readable for this user (chmod u+r) and scan it again"
    why = exc.strerror.lower() if exc.strerror else _one_line(exc)
    return f"{where}: cannot be read ({why}); check the file (or copy it off a failing disk) and scan it again"
