"""Rotating a home's watermark key: a new key for new marks, logged as ``key.rotated``; older keys stay.

:func:`rotate_key` serves ``voiceguard watermark rotate-key``; the audit checks the key files
against these events (:mod:`guard.ledger.keys`).
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.errors import WatermarkError
from guard.home import WATERMARK_KEY_BYTES, Home, watermark_key_fingerprint, write_private

__all__ = ["KEY_ROTATED", "KeyRotation", "rotate_key"]

KEY_ROTATED = "key.rotated"  # the ledger event of a watermark key added by `rotate-key`
MAX_REASON_CHARS = 200  # spaces collapsed, as a consent revocation's reason


@dataclass(frozen=True)
class KeyRotation:
    """A watermark key added by :func:`rotate_key`: its file, fingerprints, reason and ledger event."""

    key_file: Path
    fingerprint: str
    previous_fingerprint: str
    reason: str
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {"key_file": str(self.key_file), "fingerprint": self.fingerprint,
                "previous_fingerprint": self.previous_fingerprint, "reason": self.reason,
                "ledger_seq": self.ledger_seq}


def rotate_key(home: Home, *, reason: str) -> KeyRotation:
    """Add a new watermark key to ``home`` and log it (``key.rotated``) in one ledger transaction.

    Marks made afterwards use the new key; the older keys stay, so clips marked with them still
    verify. The key file is created under the ledger's write lock and removed again when its
    event is not committed, so no key is left without its record. The event names the file
    and the fingerprints (:func:`guard.home.watermark_key_fingerprint`) of the new key and of
    the key it replaces as current, never a key itself.

    Parameters
    ----------
    reason : str
        Why the key is rotated (kept in the ledger); one line, 1 to :data:`MAX_REASON_CHARS` characters.

    Raises
    ------
    WatermarkError
        An empty or too long reason; a key added by another process meanwhile; a key file that
        cannot be written.
    LedgerError
        The ledger cannot be written (nothing is added then).
    """
    from guard.ledger import Ledger

    reason = _one_line_reason(reason)
    key = secrets.token_bytes(WATERMARK_KEY_BYTES)
    with Ledger(home) as led:
        logged = [str(e.body.get("key_file")) for e in led.events(KEY_ROTATED)]
        path = home.next_watermark_key_path(taken=logged)
        previous = watermark_key_fingerprint(home.watermark_key())
        body = {"key_file": path.name, "fingerprint": watermark_key_fingerprint(key),
                "previous_fingerprint": previous, "reason": reason}

        def add_key() -> None:  # under the write lock: no other rotation lands between this check and the event
            _check_still_current(home, path, previous, logged)
            _write_key(path, key)

        def take_back() -> None:  # the event was not committed: no key without its record
            _remove_if_holds(path, key)

        event = led.append(KEY_ROTATED, body, precondition=add_key, on_abort=take_back)
    return KeyRotation(path, body["fingerprint"], previous, reason, event.seq)


def _one_line_reason(reason: str) -> str:
    """``reason`` with its spaces collapsed; WatermarkError when it is empty or longer than :data:`MAX_REASON_CHARS`."""
    text = " ".join(str(reason).split())
    if not text:
        raise WatermarkError(f"--reason must say why the key is rotated (it is kept in the ledger), given {reason!r}")
    if len(text) > MAX_REASON_CHARS:
        raise WatermarkError(f"--reason is {len(text)} characters long; at most {MAX_REASON_CHARS}")
    return text


def _check_still_current(home: Home, path: Path, previous: str, logged: list[str]) -> None:
    """Refuse when a key was added since ``path`` and ``previous`` were chosen (another rotation meanwhile)."""
    now = watermark_key_fingerprint(home.watermark_key())
    if now != previous or home.next_watermark_key_path(taken=logged) != path:
        raise WatermarkError(f"another watermark key was added to {home.keys_dir} meanwhile (the current key's "
                             f"fingerprint is now {now}); nothing was added or logged: run the command again")


def _write_key(path: Path, key: bytes) -> None:
    """Create the key file ``path`` (0600); WatermarkError when it exists or cannot be written."""
    try:
        created = write_private(path, key)
    except OSError as exc:
        raise WatermarkError(f"{path}: cannot write the new key ({exc.strerror or exc}); nothing was added or "
                             f"logged") from None
    if not created:
        raise WatermarkError(f"{path} was created by another process meanwhile; nothing was added or logged: run "
                             f"the command again")


def _remove_if_holds(path: Path, key: bytes) -> None:
    """Remove ``path`` if it holds ``key`` (this call's file, not one another process made under that name)."""
    with contextlib.suppress(OSError):  # not there (never written), or gone already
        if path.read_bytes() == key:
            path.unlink()
