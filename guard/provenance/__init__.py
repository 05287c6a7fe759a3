"""Per-clip provenance: a record with a unique 32-bit watermark payload, logged and signed into C2PA.

:func:`issue` is called by a generator after it has written and watermarked a clip;
:func:`lookup` maps a payload read from a watermark back to its record; :func:`read_manifest`
reads a file's C2PA manifest for ``scan``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from guard.digest import sha256_file
from guard.errors import ConsentError, ProvenanceError, WatermarkError
from guard.home import Home
from guard.provenance.certs import create_chain, signer_files
from guard.provenance.manifest import ManifestReport, read_manifest, sign_clip

__all__ = ["ProvenanceRecord", "ManifestReport", "new_payload", "issue", "lookup", "read_manifest", "on_init",
           "PAYLOAD_BITS"]

PAYLOAD_BITS = 32


def on_init(home: Home) -> list[Path]:
    """Create the local C2PA certificate chain under ``keys/`` (private keys 0600); idempotent."""
    return create_chain(home)


@dataclass(frozen=True)
class ProvenanceRecord:
    """What the ledger's ``clip.generated`` event says about one clip."""

    record_id: str
    payload: int
    voice_id: str
    consent_id: str
    text_sha256: str
    audio_sha256: str
    generator: str
    generator_version: str
    created_at: datetime
    manifest: str  # "embedded" or the sidecar's path
    audio_path: str | None = None
    purpose: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "payload": f"{self.payload:08x}", "voice_id": self.voice_id,
                "consent_id": self.consent_id, "text_sha256": self.text_sha256, "audio_sha256": self.audio_sha256,
                "generator": self.generator, "generator_version": self.generator_version,
                "created_at": self.created_at.isoformat(), "manifest": self.manifest, "audio_path": self.audio_path,
                "purpose": self.purpose}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProvenanceRecord:
        try:
            return cls(str(d["record_id"]), int(str(d["payload"]), 16), str(d["voice_id"]), str(d["consent_id"]),
                       str(d["text_sha256"]), str(d["audio_sha256"]), str(d["generator"]),
                       str(d["generator_version"]), datetime.fromisoformat(d["created_at"]), str(d["manifest"]),
                       d.get("audio_path"), d.get("purpose"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProvenanceError(f"malformed provenance record ({type(exc).__name__}: {exc})") from None


def _records(home: Home) -> list[ProvenanceRecord]:
    from guard.ledger import Ledger

    with Ledger(home) as led:  # checked against the signed tree head: an edited record is refused, not believed
        return [ProvenanceRecord.from_dict(e.body) for e in led.verified_events("clip.generated")]


def _used_payloads(home: Home) -> set[int]:
    return {r.payload for r in _records(home)}


def _check_payload(payload: object) -> int:
    if isinstance(payload, bool) or not isinstance(payload, (int, np.integer)) or not 0 <= payload < 2**PAYLOAD_BITS:
        raise ProvenanceError(f"payload must be an integer in [0, 2**{PAYLOAD_BITS}), given payload={payload!r}")
    return int(payload)


def new_payload(home: Home) -> int:
    """A random 32-bit payload that no clip of this home's ledger uses yet."""
    used = _used_payloads(home)
    while True:
        candidate = secrets.randbits(PAYLOAD_BITS)
        if candidate not in used:
            return candidate


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
        Bad arguments, or a payload another clip uses.
    ConsentError
        Unknown consent, another voice's, not valid now, or not covering ``purpose``.
    WatermarkError
        ``audio_path`` does not carry ``payload`` (checked before anything is signed).
    LedgerError
        The ledger cannot take the record. When this or ``precondition`` fails after the
        manifest was signed, the file carries a manifest of a record that was never logged:
        discard it.
    """
    if not isinstance(home, Home):
        raise ProvenanceError(f"home must be a guard.home.Home (guard.home.open_home(path)), given {type(home).__name__}")
    payload = _check_payload(payload)
    audio_path = Path(audio_path)
    if not audio_path.is_file():
        raise ProvenanceError(f"{audio_path}: no such audio file to sign")
    for name, value in (("voice_id", voice_id), ("consent_id", consent_id), ("generator", generator),
                        ("generator_version", generator_version)):
        if not isinstance(value, str) or not value:
            raise ProvenanceError(f"{name} must be a non-empty string, given {value!r}")
    if not isinstance(text, str) or not text.strip():
        raise ProvenanceError("text must be a non-empty string")

    def allowed() -> None:
        if payload in _used_payloads(home):
            raise ProvenanceError(f"payload {payload:08x} is already used by another clip; take one from new_payload()")
        _check_consent(home, voice_id=voice_id, consent_id=consent_id, purpose=purpose)

    allowed()
    _check_marked(home, audio_path, payload)
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
                              str(Path(final_path or audio_path).resolve()), purpose)
    from guard import ledger

    def still_allowed() -> None:
        allowed()
        if precondition is not None:
            precondition()

    ledger.append(home, "clip.generated", record.to_dict(), precondition=still_allowed)
    return record


def _check_consent(home: Home, *, voice_id: str, consent_id: str, purpose: str | None) -> None:
    """ConsentError unless ``consent_id`` is a valid consent for ``voice_id`` covering ``purpose`` now."""
    from guard import consent

    record = consent.get_valid(home, consent_id, voice_id=voice_id, needed_for="a clip's record")
    if purpose is not None and purpose not in record.purposes:
        raise ConsentError(f"purpose {purpose!r} is outside consent {consent_id} (it covers "
                           f"{', '.join(record.purposes)})")


def _check_marked(home: Home, audio_path: Path, payload: int) -> None:
    """WatermarkError unless the file at ``audio_path`` reads back with ``payload`` under this home's keys."""
    from guard.audio import load
    from guard.watermark import verify

    rate = 16000
    found = verify(load(audio_path, sample_rate=rate), sample_rate=rate, keys=home.watermark_keys())
    if found.payload != payload:
        raise WatermarkError(f"{audio_path}: its watermark does not read back with payload {payload:08x} "
                             f"({found.reason}); only audio marked with this home's key and that payload gets a "
                             f"record")


def lookup(home: Home, payload: int) -> ProvenanceRecord | None:
    """The record of the clip whose watermark carries ``payload``, or None."""
    payload = _check_payload(payload)
    return next((r for r in _records(home) if r.payload == payload), None)

