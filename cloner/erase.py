"""Erase an enrolled voice (model, kept recordings) from the home and log it as ``voice.deleted``.

The speaker's recordings and the model trained on them are biometric data: they can be erased
at any time, revoked consent or not. What stays is the evidence of the past: the consent
record and its statement recording, the ledger's events, and the clips already written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloner.authorize import unknown_voice
from cloner.voice import check_voice_id, voice_folder
from guard.errors import CloneError
from guard.home import Home
from guard.ledger.files import deletion_aside, voice_leftovers

if TYPE_CHECKING:
    from guard.ledger.events import Event


@dataclass(frozen=True)
class DeletedVoice:
    """What :func:`delete_voice` did.

    ``removed`` lists the files this call erased, as paths relative to the home; ``resumed`` is
    True when the deletion had been logged before (``event_seq``, ``deleted_at`` and ``reason``
    are that event's) and this call only removed what was left of the voice.
    """

    voice_id: str
    consent_id: str
    event_seq: int
    deleted_at: str
    reason: str
    removed: tuple[str, ...]
    resumed: bool

    def to_dict(self) -> dict:
        return {**asdict(self), "removed": list(self.removed)}


def _history(home: Home, voice_id: str) -> tuple[list[Event], Event | None]:
    """``voice_id``'s ``voice.enrolled`` events and its first ``voice.deleted`` event, from the verified log."""
    from guard.ledger import open_ledger

    with open_ledger(home) as ledger:
        events = [e for e in ledger.verified_events() if e.body.get("voice_id") == voice_id]
    enrolled = [e for e in events if e.kind == "voice.enrolled"]
    return enrolled, next((e for e in events if e.kind == "voice.deleted"), None)


def _files(home: Home, roots: list[Path]) -> list[str]:
    """Every file under ``roots``, as a path relative to the home (``voices/amy/model.pt``)."""
    found = []
    for root in roots:
        paths = [root] if root.is_symlink() or not root.is_dir() else sorted(root.rglob("*"))
        found += [p.relative_to(home.root).as_posix() for p in paths if p.is_symlink() or not p.is_dir()]
    return sorted(found)


def _check_removable(home: Home, voice_id: str, roots: list[Path]) -> None:
    """CloneError naming the first folder whose entries cannot be removed here (before anything is logged).

    A link among them is refused too: removing it would leave the speaker's data it leads to in
    place while the log says the voice was erased, and erasing what lies outside the home is
    not this command's to do.
    """
    folders = [home.voices_dir] if roots else []
    for root in roots:
        entries = [root] + (sorted(root.rglob("*")) if root.is_dir() and not root.is_symlink() else [])
        link = next((p for p in entries if p.is_symlink()), None)
        if link is not None:
            raise CloneError(f"cannot delete voice {voice_id!r}: {link} is a link (to {os.readlink(link)}), so "
                             f"removing it would leave the data it leads to; nothing was deleted or logged. Delete "
                             f"or move that data by hand, remove the link, and run it again")
        if root.is_dir():
            folders += [root] + sorted(p for p in root.rglob("*") if p.is_dir())
    for folder in folders:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CloneError(f"cannot delete voice {voice_id!r}: {folder} is not writable here (a read-only file "
                             f"system or no permission); nothing was deleted or logged. Run it where the home "
                             f"can be written")


def _remove(voice_id: str, roots: list[Path], seq: int) -> None:
    """Remove ``roots``; CloneError naming what stayed (the deletion is logged as event ``seq`` already)."""
    failed = []
    for root in roots:
        try:
            if root.is_dir() and not root.is_symlink():
                shutil.rmtree(root)
            else:
                root.unlink(missing_ok=True)
        except OSError as exc:
            failed.append(f"{exc.filename or root} ({exc.strerror or exc})")
    if failed:
        raise CloneError(f"the deletion of voice {voice_id!r} is logged (ledger event {seq}) and its clones are "
                         f"refused, but {'; '.join(failed)} could not be removed; fix that and run `voiceguard voices "
                         f"delete {voice_id} --reason TEXT` again to finish")


def delete_voice(home: Home, voice_id: str, *, reason: str) -> DeletedVoice:
    """Erase an enrolled voice's model and enrollment recordings from the home, and log it as ``voice.deleted``.

    The voice's folder (``voices/<voice_id>/``: model, ``voice.json``, kept recordings and
    transcripts), and hidden leftovers of a stopped enrollment or deletion, are removed; the
    ``voice.deleted`` event names the voice, the consent it was enrolled under, ``reason`` and
    the files removed. It is allowed at any time, whatever the consent's status, and does not
    change that status (revoke the consent too if the speaker withdrew it). Kept: the consent
    record and its statement recording in ``consents/`` (the evidence of the consent the voice's
    earlier clips were made under), the ledger's events and the clips already written. After
    it, clones of the voice are refused (:mod:`cloner.authorize`) and its id is never enrolled
    again; the audit expects the files gone.

    The event is written first, the folder having been moved to a hidden name under the ledger's
    write lock, so that no clone is recorded after the deletion and a stop at any point leaves
    either nothing done or a logged deletion with files left: calling this again removes them
    (``resumed``; nothing more is logged and ``reason`` is not used). A voice whose files were
    already removed by hand can be deleted too: the event then records that nothing was left.

    Parameters
    ----------
    home : Home
    voice_id : str
        A voice enrolled in this home's ledger.
    reason : str
        Why it is erased (one line, kept in the ledger).

    Returns
    -------
    DeletedVoice

    Raises
    ------
    CloneError
        Unknown voice; a voice folder the ledger never enrolled; a voice already deleted with
        nothing left of it; folders that cannot be written here (nothing is deleted or logged);
        or files that could not be removed after the deletion was logged (the message says to
        run it again).
    ParameterError, ConsentError
        A malformed voice id, or an empty reason.
    LedgerError
        The ledger cannot be read or written (nothing is deleted or logged).
    """
    from guard import ledger
    from guard.consent.record import one_line

    voice_id = check_voice_id(voice_id)
    reason = one_line(reason, "reason")
    enrolled, deleted = _history(home, voice_id)
    left = voice_leftovers(home, voice_id)
    if deleted is not None:
        if not left:
            raise CloneError(f"voice {voice_id!r} was already deleted at {deleted.time.isoformat()} (ledger event "
                             f"{deleted.seq}); nothing of it is left in {home.voices_dir}")
        _check_removable(home, voice_id, left)
        removed = _files(home, left)
        _remove(voice_id, left, deleted.seq)
        return DeletedVoice(voice_id, str(deleted.body.get("consent_id")), deleted.seq, deleted.time.isoformat(),
                            str(deleted.body.get("reason")), tuple(removed), resumed=True)
    folder = voice_folder(home, voice_id)
    if not enrolled:
        if folder in left:
            raise CloneError(f"{folder} has no enrollment record in the ledger of {home.root}: it is not a voice this "
                             f"home enrolled, so no deletion can be logged for it; remove the folder by hand if "
                             f"nothing needs it")
        raise CloneError(f"{unknown_voice(home, voice_id)}; `voiceguard voices list` shows them")
    consent_id = str(enrolled[0].body.get("consent_id"))
    _check_removable(home, voice_id, left)
    removed = _files(home, left)
    aside = deletion_aside(home, voice_id)
    moved: list[Path] = []

    def move_aside() -> None:
        # under the ledger's write lock: from the moment the deletion lands the voice is neither listed nor
        # loadable, and a clone's record, checked under the same lock, is refused
        _, again = _history(home, voice_id)
        if again is not None:
            raise CloneError(f"voice {voice_id!r} was deleted by another process meanwhile (ledger event {again.seq})")
        if folder in left:
            try:
                os.rename(folder, aside)
            except OSError as exc:
                raise CloneError(f"cannot delete voice {voice_id!r}: {folder} cannot be moved aside "
                                 f"({exc.strerror or exc}); nothing was deleted or logged") from None
            moved.append(aside)

    def move_back() -> None:  # the event was not committed: the voice stays as it was
        if moved:
            with contextlib.suppress(OSError):
                os.rename(aside, folder)

    event = ledger.log_deletion(home, voice_id=voice_id, consent_id=consent_id, reason=reason, removed=removed,
                                precondition=move_aside, on_abort=move_back)
    _remove(voice_id, moved + [p for p in left if p != folder], event.seq)
    return DeletedVoice(voice_id, consent_id, event.seq, event.time.isoformat(), reason, tuple(removed), resumed=False)
