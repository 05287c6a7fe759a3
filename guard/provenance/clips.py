"""Issuing a generated clip's provenance: the checks, its signed C2PA manifest and its ``clip.generated`` record.

:func:`issue` is called by a generator after it has written and watermarked a clip.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from guard.digest import sha256_file
from guard.errors import ConsentError, ProvenanceError, WatermarkError
from guard.home import Home
from guard.provenance.certs import signer_files
from guard.provenance.checks import _check_target
from guard.provenance.manifest import sign_clip
from guard.provenance.payloads import check_unused
from guard.provenance.records import ProvenanceRecord

__all__ = ["issue"]


def issue(home: Home, *, payload: int, voice_id: str, consent_id: str, text: str, audio_path: Path,
          generator: str, generator_version: str, purpose: str | None = None,
          final_path: Path | None = None, precondition: Callable[[], None] | None = None) -> ProvenanceRecord:
    """Sign a C2PA manifest into a generated clip and log its record as ``clip.generated``.

    Nothing is logged for a clip the home could not stand behind: the consent must exist,
    be for ``voice_id``, be valid now and cover ``purpose``; the audio must carry ``payload``
    under this home's watermark keys; the payload must be unused. The consent and payload
    checks are repeated under the ledger's write lock, so a revocation that lands while the
    clip is signed still stops it.

    Parameters
    ----------
    home : Home
    payload : int in [0, 2**32)
        The watermark payload embedded in the clip (from :func:`new_payload`); must be unused.
    voice_id, consent_id : str
        Whose voice, under which consent.
    text : str
        What the clip says (only its SHA-256 is kept).
    audio_path : Path
        The written, watermarked clip; the manifest is embedded into it (WAV, FLAC, MP3, M4A)
        or written beside it as ``<file>.c2pa``.
    generator, generator_version : str
        The software that made the clip.
    purpose : str, optional
        The purpose the clip was made for; when given the consent must cover it, and the
        audit checks it again.
    final_path : Path, optional
        Where the file will live if the caller renames it after this call (the audit checks
        the stored hash against that path, and a sidecar manifest is recorded beside it, where
        the caller moves it too); default ``audio_path``.
    precondition : callable, optional
        The caller's own last check, run under the ledger's write lock just before the record
        is written (see :meth:`guard.ledger.Ledger.append`); whatever it raises stops the record.

    Returns
    -------
    ProvenanceRecord
        ``audio_sha256`` is the hash of the final file, manifest included.

    Raises
    ------
    ProvenanceError
        Bad arguments, or a payload another clip or a mark uses.
    ConsentError
        Unknown consent, another voice's, not valid now, or not covering ``purpose``.
    WatermarkError
        ``audio_path`` does not carry ``payload`` (checked before anything is signed).
    LedgerError
        The ledger cannot take the record. When this or ``precondition`` fails after the
        manifest was signed, the file carries a manifest of a record that was never logged:
        discard it.
    """
    payload, audio_path = _check_target(home, payload, audio_path, missing="no such audio file to sign")
    for name, value in (("voice_id", voice_id), ("consent_id", consent_id), ("generator", generator),
                        ("generator_version", generator_version)):
        if not isinstance(value, str) or not value:
            raise ProvenanceError(f"{name} must be a non-empty string, given {value!r}")
    if not isinstance(text, str) or not text.strip():
        raise ProvenanceError("text must be a non-empty string")

    def allowed() -> None:
        check_unused(home, payload, fix="take one from new_payload()")
        _check_consent(home, voice_id=voice_id, consent_id=consent_id, purpose=purpose)

    allowed()
    key_fingerprint = _check_marked(home, audio_path, payload)
    chain, key = signer_files(home)
    record_id = f"rec-{secrets.token_hex(8)}"
    manifest = sign_clip(audio_path, chain_pem=chain, key_pem=key, record_id=record_id, payload=payload,
                         generator=generator, generator_version=generator_version, voice_id=voice_id,
                         consent_id=consent_id)
    if manifest != "embedded" and final_path is not None:  # the sidecar moves with the clip
        manifest = str(Path(final_path).resolve().parent / Path(manifest).name)
    record = ProvenanceRecord(record_id, payload, voice_id, consent_id,
                              hashlib.sha256(text.encode("utf-8")).hexdigest(), sha256_file(audio_path), generator,
                              generator_version, datetime.now(timezone.utc), manifest,
                              str(Path(final_path or audio_path).resolve()), purpose, key_fingerprint)
    from guard import ledger

    def still_allowed() -> None:
        allowed()
        if precondition is not None:
            precondition()

    event = ledger.append(home, "clip.generated", record.to_dict(), precondition=still_allowed)
    return dataclasses.replace(record, seq=event.seq)


def _check_consent(home: Home, *, voice_id: str, consent_id: str, purpose: str | None) -> None:
    """ConsentError unless ``consent_id`` is a valid consent for ``voice_id`` covering ``purpose`` now."""
    from guard import consent

    record = consent.get_valid(home, consent_id, voice_id=voice_id, needed_for="a clip's record")
    if purpose is not None and purpose not in record.purposes:
        raise ConsentError(f"purpose {purpose!r} is outside consent {consent_id} (it covers "
                           f"{', '.join(record.purposes)})")


def _check_marked(home: Home, audio_path: Path, payload: int) -> str:
    """The fingerprint of the home's current key (:func:`guard.watermark.rotation.current_key`), under which
    ``audio_path`` must read back with ``payload``; else WatermarkError (a key no rotation logged never marks)."""
    from guard.audio import load
    from guard.watermark import verify
    from guard.watermark.rotation import current_key

    rate = 16000
    current = current_key(home)
    found = verify(load(audio_path, sample_rate=rate), sample_rate=rate, keys=[current.key])
    if found.payload != payload:
        raise WatermarkError(f"{audio_path}: its watermark does not read back with payload {payload:08x} under the "
                             f"home's current key ({found.reason}); only audio marked with that key and that payload "
                             f"gets a record")
    return current.fingerprint
