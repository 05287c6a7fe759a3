"""Logging a mark: audio this home watermarked that is no generated clip, as an ``audio.marked`` record.

``voiceguard watermark embed`` marks any recording with the home's key; :func:`record_mark`
logs each such mark as a :class:`~guard.provenance.records.MarkRecord`, which names no voice
and no consent.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from guard.digest import sha256_file
from guard.errors import ProvenanceError
from guard.home import FINGERPRINT_HEX_DIGITS, Home
from guard.provenance.checks import _check_target
from guard.provenance.payloads import check_unused
from guard.provenance.records import MARK_KIND, MarkRecord

__all__ = ["record_mark"]


def record_mark(home: Home, *, payload: int, audio_path: Path, source_sha256: str, strength: float,
                final_path: Path | None = None, key_fingerprint: str | None = None) -> MarkRecord:
    """Log that this home marked audio with ``payload`` (``audio.marked``); call it before the file takes its place.

    The payload is checked unused (by clips and by earlier marks) again under the ledger's
    write lock, so two marks made at once cannot share one. Nothing here reads the mark back:
    the caller has checked that ``audio_path`` carries ``payload`` under the home's key.

    Parameters
    ----------
    home : Home
    payload : int in [0, 2**32)
        The payload embedded in the file (from :func:`new_payload`, or chosen and unused).
    audio_path : Path
        The marked file as written (its SHA-256 is logged), perhaps under a staging name.
    source_sha256 : str
        SHA-256 (hex) of the audio that was marked.
    strength : float in (0, 1]
        The strength it was marked with.
    final_path : Path, optional
        Where the file will live once the caller renames it (the logged path, which the audit
        checks); default ``audio_path``.
    key_fingerprint : str, optional
        The fingerprint of the watermark key it was marked with
        (:func:`guard.watermark.rotation.current_key`), so the audit can tell when it is lost.

    Returns
    -------
    MarkRecord
        With ``seq``, the ledger event's sequence number.

    Raises
    ------
    ProvenanceError
        Bad arguments, or a payload a clip or a mark already uses (naming which).
    LedgerError
        The ledger cannot take the record (missing, read-only, damaged).
    """
    payload, audio_path = _check_target(home, payload, audio_path, missing="no such marked file to record")
    digest = str(source_sha256).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ProvenanceError(f"source_sha256 must be 64 hex digits (a SHA-256), given {source_sha256!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 < strength <= 1.0:
        raise ProvenanceError(f"strength must be within (0, 1], given strength={strength!r}")
    from guard.ledger.rows import is_hex

    if key_fingerprint is not None and not is_hex(key_fingerprint, FINGERPRINT_HEX_DIGITS):
        raise ProvenanceError(f"key_fingerprint must be {FINGERPRINT_HEX_DIGITS} lower-case hex digits, given "
                              f"{key_fingerprint!r}")
    check_unused(home, payload)  # before the lock too: a clear refusal without waiting for writers
    record = MarkRecord(f"mark-{secrets.token_hex(8)}", payload, sha256_file(audio_path),
                        str(Path(final_path or audio_path).resolve()), digest, float(strength),
                        datetime.now(timezone.utc), key_fingerprint)
    from guard import ledger

    event = ledger.append(home, MARK_KIND, record.to_dict(),
                          precondition=lambda: check_unused(home, payload))
    return MarkRecord.from_dict(event.body, seq=event.seq)
