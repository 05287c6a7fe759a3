"""Per-clip provenance: a record with a unique 32-bit watermark payload, logged and signed into C2PA.

:func:`issue` is called by a generator after it has written and watermarked a clip;
:func:`lookup` maps a payload read from a watermark back to its record; :func:`read_manifest`
reads a file's C2PA manifest for ``scan``.

The home's key also marks audio that is no generated clip (``voiceguard watermark embed``,
any recording): :func:`record_mark` logs each such mark as ``audio.marked`` (a
:class:`MarkRecord`, which names no voice and no consent). A payload names one piece of
audio: :func:`new_payload`, :func:`issue` and :func:`record_mark` refuse one that a clip or a
mark already uses, and :func:`payload_owner` says which.
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

__all__ = ["ProvenanceRecord", "MarkRecord", "ManifestReport", "new_payload", "issue", "lookup", "lookup_mark",
           "payload_owner", "check_unused", "describe_owner", "record_mark", "read_manifest", "on_init",
           "PAYLOAD_BITS", "MARK_KIND"]

PAYLOAD_BITS = 32
MARK_KIND = "audio.marked"  # the ledger event of a mark made with `voiceguard watermark embed`


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


@dataclass(frozen=True)
class MarkRecord:
    """What the ledger's ``audio.marked`` event says about audio marked with ``voiceguard watermark embed``.

    Unlike a clip's record it names no voice and no consent: the audio may be anyone's
    recording, and the record says only that this home marked it, when, and into which file.

    Attributes
    ----------
    record_id : str
        ``mark-`` and 16 hex digits.
    payload : int in [0, 2**32)
    audio_sha256 : str
        SHA-256 (hex) of the marked file as written.
    audio_path : str
        Where the marked file was written (resolved).
    source_sha256 : str
        SHA-256 (hex) of the file that was marked.
    strength : float in (0, 1]
    created_at : datetime
    seq : int or None
        The ledger event's sequence number (not part of the event's body).
    """

    record_id: str
    payload: int
    audio_sha256: str
    audio_path: str
    source_sha256: str
    strength: float
    created_at: datetime
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event body (``seq`` is the event's, not the body's)."""
        return {"record_id": self.record_id, "payload": f"{self.payload:08x}", "audio_sha256": self.audio_sha256,
                "audio_path": self.audio_path, "source_sha256": self.source_sha256, "strength": self.strength,
                "created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, seq: int | None = None) -> MarkRecord:
        try:
            return cls(str(d["record_id"]), int(str(d["payload"]), 16), str(d["audio_sha256"]), str(d["audio_path"]),
                       str(d["source_sha256"]), float(d["strength"]), datetime.fromisoformat(d["created_at"]), seq)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProvenanceError(f"malformed mark record ({type(exc).__name__}: {exc})") from None


def _records(home: Home) -> list[ProvenanceRecord]:
    from guard.ledger import Ledger

    with Ledger(home) as led:  # checked against the signed tree head: an edited record is refused, not believed
        return [ProvenanceRecord.from_dict(e.body) for e in led.verified_events("clip.generated")]


def _marks(home: Home) -> list[MarkRecord]:
    from guard.ledger import Ledger

    with Ledger(home) as led:  # the same verified (and cached) log as _records reads
        return [MarkRecord.from_dict(e.body, seq=e.seq) for e in led.verified_events(MARK_KIND)]


def _used_payloads(home: Home) -> set[int]:
    """Every payload a clip or a mark of this home's ledger uses."""
    return {r.payload for r in _records(home)} | {m.payload for m in _marks(home)}


def _check_payload(payload: object) -> int:
    if isinstance(payload, bool) or not isinstance(payload, (int, np.integer)) or not 0 <= payload < 2**PAYLOAD_BITS:
        raise ProvenanceError(f"payload must be an integer in [0, 2**{PAYLOAD_BITS}), given payload={payload!r}")
    return int(payload)


def _check_target(home: object, payload: object, audio_path: object, *, missing: str) -> tuple[int, Path]:
    """The payload and the path of a record's audio, checked: ProvenanceError on a bad home, payload or file."""
    if not isinstance(home, Home):
        raise ProvenanceError(f"home must be a guard.home.Home (guard.home.open_home(path)), given {type(home).__name__}")
    payload = _check_payload(payload)
    path = Path(str(audio_path))
    if not path.is_file():
        raise ProvenanceError(f"{path}: {missing}")
    return payload, path


def new_payload(home: Home) -> int:
    """A random 32-bit payload that no clip and no mark of this home's ledger uses yet."""
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


def lookup_mark(home: Home, payload: int) -> MarkRecord | None:
    """The record of the audio marked (``voiceguard watermark embed``) with ``payload``, or None."""
    payload = _check_payload(payload)
    return next((m for m in _marks(home) if m.payload == payload), None)


def payload_owner(home: Home, payload: int) -> ProvenanceRecord | MarkRecord | None:
    """The clip record, else the mark record, whose watermark carries ``payload``; None when neither uses it.

    A ledger holding both for one payload fails the audit (``duplicate-payload``); the clip is
    returned then.
    """
    return lookup(home, payload) or lookup_mark(home, payload)


def describe_owner(owner: ProvenanceRecord | MarkRecord) -> str:
    """``"generated clip record rec-... (voice amy)"`` or ``"marked audio record mark-... (ledger event 4, ...)"``."""
    if isinstance(owner, MarkRecord):
        return (f"marked audio record {owner.record_id} (ledger event {owner.seq}: {owner.audio_path}, marked on "
                f"{owner.created_at.date().isoformat()})")
    return f"generated clip record {owner.record_id} (voice {owner.voice_id})"


def check_unused(home: Home, payload: int, *, fix: str = "") -> None:
    """ProvenanceError unless no clip and no mark of ``home``'s ledger uses ``payload``.

    The message names the user, then ``fix`` (what the caller should do instead) when given.
    """
    owner = payload_owner(home, payload)
    if owner is not None:
        raise ProvenanceError(f"payload {payload:08x} is already used by {describe_owner(owner)}"
                              + (f"; {fix}" if fix else ""))


def record_mark(home: Home, *, payload: int, audio_path: Path, source_sha256: str, strength: float,
                final_path: Path | None = None) -> MarkRecord:
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
    check_unused(home, payload)  # before the lock too: a clear refusal without waiting for writers
    record = MarkRecord(f"mark-{secrets.token_hex(8)}", payload, sha256_file(audio_path),
                        str(Path(final_path or audio_path).resolve()), digest, float(strength),
                        datetime.now(timezone.utc))
    from guard import ledger

    event = ledger.append(home, MARK_KIND, record.to_dict(), precondition=lambda: check_unused(home, payload))
    return MarkRecord.from_dict(event.body, seq=event.seq)
