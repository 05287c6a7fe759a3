"""Rotating a home's watermark key: a new key for new marks, logged as ``key.rotated``; older keys stay.

:func:`rotate_key` serves ``voiceguard watermark rotate-key``; :func:`current_key` is the key
new marks are made with: the one the last ``key.rotated`` event added, else the home's first
key (made by ``init``, ``watermark-0000.key``). A key file no event names (a rotation killed
before its commit leaves one; so does a file copied in) is never used to mark. The audit
checks the key files against these events (:mod:`guard.ledger.keys`).
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.errors import HomeError, WatermarkError
from guard.home import (
    WATERMARK_KEY_BYTES,
    Home,
    watermark_key_fingerprint,
    watermark_key_name,
    write_private,
)

if TYPE_CHECKING:
    from guard.ledger import Ledger

__all__ = ["KEY_ROTATED", "KeyRotation", "rotate_key", "CurrentKey", "current_key", "logged_current"]

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


@dataclass(frozen=True)
class LoggedKey:
    """What the ledger says the current watermark key is: its file, fingerprint and the event that added it.

    ``fingerprint`` and ``event_seq`` are None for the home's first key, which no event names.
    """

    path: Path
    fingerprint: str | None
    event_seq: int | None

    def origin(self) -> str:
        """``"added by ledger event 7"`` or ``"made by init"``."""
        return f"added by ledger event {self.event_seq}" if self.event_seq is not None else "made by init"


@dataclass(frozen=True)
class CurrentKey:
    """The key new marks are made with, read from its file and checked against the ledger."""

    path: Path
    key: bytes
    fingerprint: str
    event_seq: int | None


def logged_current(home: Home) -> LoggedKey:
    """The current watermark key as the ledger names it (its file need not exist); see :func:`current_key`."""
    from guard.ledger import open_ledger

    with open_ledger(home) as led:
        return _rotation_state(home, led)[0]


def _rotation_state(home: Home, led: Ledger) -> tuple[LoggedKey, list[str]]:
    """From one read of ``led``'s rotations: the current key as they name it, and the key file names they used."""
    rotations = list(led.events(KEY_ROTATED))
    names = [str(e.body.get("key_file")) for e in rotations]
    if not rotations:
        return LoggedKey(home.keys_dir / watermark_key_name(0), None, None), names
    last = rotations[-1]
    current = LoggedKey(home.keys_dir / str(last.body.get("key_file")), str(last.body.get("fingerprint")), last.seq)
    return current, names


def current_key(home: Home) -> CurrentKey:
    """The key new marks are made with: the one the last ``key.rotated`` event added, else the home's first key.

    Raises
    ------
    HomeError
        That key's file is missing or unreadable, or no longer holds the key whose fingerprint
        was logged: marks made now could not be tied to the ledger's keys (restore it from a
        backup, or add a logged key with ``voiceguard watermark rotate-key``).
    """
    logged = logged_current(home)
    if logged.event_seq is None:
        _check_no_unlogged_keys(home)
        fix = "restore it from a backup (clips marked with it cannot be verified without it)"
    else:
        fix = ("restore it from a backup, or add a new key with `voiceguard watermark rotate-key --reason TEXT` "
               "(clips marked with the lost key cannot be verified without it)")
    try:
        key = logged.path.read_bytes()
    except OSError as exc:
        state = "is missing" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror or exc})"
        raise HomeError(f"the current watermark key {logged.path} ({logged.origin()}) {state}; {fix}") from None
    if len(key) != WATERMARK_KEY_BYTES:
        raise HomeError(f"the current watermark key {logged.path} ({logged.origin()}) is {len(key)} bytes, not "
                        f"{WATERMARK_KEY_BYTES}; {fix}")
    found = watermark_key_fingerprint(key)
    if logged.fingerprint is not None and found != logged.fingerprint:
        raise HomeError(f"the current watermark key {logged.path} holds another key (fingerprint {found}) than the "
                        f"one {logged.origin()} (fingerprint {logged.fingerprint}); {fix}")
    return CurrentKey(logged.path, key, found, logged.event_seq)


def _check_no_unlogged_keys(home: Home) -> None:
    """HomeError when a home whose ledger logs no rotation holds watermark keys besides init's.

    Which of them marks is then unknown: keys added with the library before rotations were
    logged (the newest marked last), or a ``rotate-key`` stopped before its commit (never
    used). Neither init's key (perhaps retired) nor an unlogged one is used; one logged
    rotation settles it, and the older keys stay and verify.
    """
    extra = [p.name for p in home.watermark_key_paths() if p.name != watermark_key_name(0)]
    if extra:
        raise HomeError(f"{home.keys_dir} holds watermark key(s) {', '.join(sorted(extra))} besides init's, and the "
                        f"ledger logs no key rotation, so which key marks is unknown (keys added before rotations "
                        f"were logged, or a stopped `rotate-key`); run `voiceguard watermark rotate-key --reason "
                        f"TEXT` to add a logged key that marks from then on (the older keys stay and still verify)")


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
    HomeError
        No rotation was logged yet and the home's first key cannot be read (its fingerprint is
        what the event names as replaced).
    LedgerError
        The ledger cannot be written (nothing is added then).
    """
    from guard.ledger import Ledger

    reason = _one_line_reason(reason)
    key = secrets.token_bytes(WATERMARK_KEY_BYTES)
    with Ledger(home) as led:
        replaced, logged = _rotation_state(home, led)
        path = home.next_watermark_key_path(taken=logged)
        # the key it replaces as the ledger knows it (a lost current key is still named truly);
        # with no rotation logged, the newest key file: init's, or the last one added before
        # rotations were logged
        previous = replaced.fingerprint or _newest_key_fingerprint(home)
        body = {"key_file": path.name, "fingerprint": watermark_key_fingerprint(key),
                "previous_fingerprint": previous, "reason": reason}

        def add_key() -> None:  # under the write lock: no other rotation lands between this check and the event
            _check_still_current(home, led, path, replaced)
            _write_key(path, key)

        def take_back() -> None:  # the event was not committed: no key without its record
            _remove_if_holds(path, key)

        event = led.append(KEY_ROTATED, body, precondition=add_key, on_abort=take_back)
    return KeyRotation(path, body["fingerprint"], previous, reason, event.seq)


def _newest_key_fingerprint(home: Home) -> str:
    """The fingerprint of ``home``'s newest key file; HomeError naming init's key when none can be read."""
    try:
        return watermark_key_fingerprint(home.watermark_key())
    except (HomeError, OSError):
        raise HomeError(f"no watermark key of {home.keys_dir} can be read, and the ledger logs no rotation: restore "
                        f"keys/{watermark_key_name(0)} from a backup (clips marked with it cannot be verified "
                        f"without it); `voiceguard init` in a new folder starts a home with a new key") from None


def _one_line_reason(reason: str) -> str:
    """``reason`` with its spaces collapsed; WatermarkError when it is empty or longer than :data:`MAX_REASON_CHARS`."""
    text = " ".join(str(reason).split())
    if not text:
        raise WatermarkError(f"--reason must say why the key is rotated (it is kept in the ledger), given {reason!r}")
    if len(text) > MAX_REASON_CHARS:
        raise WatermarkError(f"--reason is {len(text)} characters long; at most {MAX_REASON_CHARS}")
    return text


def _check_still_current(home: Home, led: Ledger, path: Path, replaced: LoggedKey) -> None:
    """Refuse when a key was added since ``path`` and ``replaced`` were chosen (another rotation meanwhile)."""
    now, logged = _rotation_state(home, led)
    if now != replaced or home.next_watermark_key_path(taken=logged) != path:
        raise WatermarkError(f"another watermark key was added to {home.keys_dir} meanwhile (the current key is now "
                             f"{now.path.name}); nothing was added or logged: run the command again")


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
