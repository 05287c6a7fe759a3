"""Per-clip provenance: a record with a unique 32-bit watermark payload, logged and signed into C2PA.

:func:`issue` is called by a generator after it has written and watermarked a clip;
:func:`lookup` maps a payload read from a watermark back to its record; :func:`read_manifest`
reads a file's C2PA manifest for ``scan``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guard.digest import sha256_file
from guard.errors import ProvenanceError
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

    with Ledger(home) as led:
        return [ProvenanceRecord.from_dict(e.body) for e in led.events("clip.generated")]


def _used_payloads(home: Home) -> set[int]:
    return {r.payload for r in _records(home)}


def _check_payload(payload: object) -> int:
    if isinstance(payload, bool) or not isinstance(payload, int) or not 0 <= payload < 2**PAYLOAD_BITS:
        raise ProvenanceError(f"payload must be an integer in [0, 2**{PAYLOAD_BITS}), given payload={payload!r}")
    return payload


def new_payload(home: Home) -> int:
    """A random 32-bit payload that no clip of this home's ledger uses yet."""
    used = _used_payloads(home)
    while True:
        candidate = secrets.randbits(PAYLOAD_BITS)
        if candidate not in used:
            return candidate


def issue(home: Home, *, payload: int, voice_id: str, consent_id: str, text: str, audio_path: Path,
          generator: str, generator_version: str, purpose: str | None = None,
          final_path: Path | None = None) -> ProvenanceRecord:
    """Sign a C2PA manifest into a generated clip and log its record as ``clip.generated``.

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
        The purpose the clip was made for; when given the audit checks it against the consent.
    final_path : Path, optional
        Where the file will live if the caller renames it after this call (the audit checks
        the stored hash against that path); default ``audio_path``.

    Returns
    -------
    ProvenanceRecord
        ``audio_sha256`` is the hash of the final file, manifest included.
    """
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
    if payload in _used_payloads(home):
        raise ProvenanceError(f"payload {payload:08x} is already used by another clip; take one from new_payload()")
    chain, key = signer_files(home)
    record_id = f"rec-{secrets.token_hex(8)}"
    manifest = sign_clip(audio_path, chain_pem=chain, key_pem=key, record_id=record_id, payload=payload,
                         generator=generator, generator_version=generator_version, voice_id=voice_id,
                         consent_id=consent_id)
    record = ProvenanceRecord(record_id, payload, voice_id, consent_id,
                              hashlib.sha256(text.encode("utf-8")).hexdigest(), sha256_file(audio_path), generator,
                              generator_version, datetime.now(timezone.utc), manifest,
                              str(Path(final_path or audio_path).resolve()), purpose)
    from guard import ledger

    ledger.append(home, "clip.generated", record.to_dict())
    return record


def lookup(home: Home, payload: int) -> ProvenanceRecord | None:
    """The record of the clip whose watermark carries ``payload``, or None."""
    payload = _check_payload(payload)
    return next((r for r in _records(home) if r.payload == payload), None)

