"""The ledger records a watermark payload can name: a generated clip's and a marked recording's.

:class:`ProvenanceRecord` is the body of a ``clip.generated`` event, :class:`MarkRecord` the
body of an ``audio.marked`` (:data:`MARK_KIND`) event; both carry a :data:`PAYLOAD_BITS`-bit
payload, written as 8 hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from guard.errors import ProvenanceError

__all__ = ["ProvenanceRecord", "MarkRecord", "PAYLOAD_BITS", "MARK_KIND"]

PAYLOAD_BITS = 32
MARK_KIND = "audio.marked"  # the ledger event of a mark made with `voiceguard watermark embed`


@dataclass(frozen=True)
class ProvenanceRecord:
    """What the ledger's ``clip.generated`` event says about one clip.

    ``key_fingerprint`` names the home's watermark key the clip's mark reads under
    (:func:`guard.home.watermark_key_fingerprint`; None in records logged before it was kept),
    so the audit can tell when that key is lost. ``seq`` is the ledger event's sequence number
    when the record was read from the ledger or logged by :func:`~guard.provenance.clips.issue`
    (None otherwise); it is not part of the event's body and takes no part in comparisons.
    """

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
    key_fingerprint: str | None = None
    seq: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The event body (``seq`` is the event's, not the body's)."""
        return {"record_id": self.record_id, "payload": f"{self.payload:08x}", "voice_id": self.voice_id,
                "consent_id": self.consent_id, "text_sha256": self.text_sha256, "audio_sha256": self.audio_sha256,
                "generator": self.generator, "generator_version": self.generator_version,
                "created_at": self.created_at.isoformat(), "manifest": self.manifest, "audio_path": self.audio_path,
                "purpose": self.purpose, "key_fingerprint": self.key_fingerprint}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, seq: int | None = None) -> ProvenanceRecord:
        try:
            return cls(str(d["record_id"]), int(str(d["payload"]), 16), str(d["voice_id"]), str(d["consent_id"]),
                       str(d["text_sha256"]), str(d["audio_sha256"]), str(d["generator"]),
                       str(d["generator_version"]), datetime.fromisoformat(d["created_at"]), str(d["manifest"]),
                       d.get("audio_path"), d.get("purpose"), d.get("key_fingerprint"), seq)
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
    key_fingerprint : str or None
        The fingerprint of the watermark key it was marked with (None in records logged before
        it was kept).
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
    key_fingerprint: str | None = None
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event body (``seq`` is the event's, not the body's)."""
        return {"record_id": self.record_id, "payload": f"{self.payload:08x}", "audio_sha256": self.audio_sha256,
                "audio_path": self.audio_path, "source_sha256": self.source_sha256, "strength": self.strength,
                "created_at": self.created_at.isoformat(), "key_fingerprint": self.key_fingerprint}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, seq: int | None = None) -> MarkRecord:
        try:
            return cls(str(d["record_id"]), int(str(d["payload"]), 16), str(d["audio_sha256"]), str(d["audio_path"]),
                       str(d["source_sha256"]), float(d["strength"]), datetime.fromisoformat(d["created_at"]),
                       d.get("key_fingerprint"), seq)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProvenanceError(f"malformed mark record ({type(exc).__name__}: {exc})") from None
