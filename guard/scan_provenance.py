"""The provenance part of a scan: the ledger's record of a watermark payload, and the file's C2PA manifest.

A file's C2PA manifest never changes the verdict, and never lends it credibility: anyone can
sign a manifest that claims a consented voice. It is read once, with the home's own CA
(``keys/c2pa-ca.pem``) as the only trust anchor, and the reason says whether it is valid,
whether it was signed by this home or by another signer, and where its claims contradict the
watermark payload that was read or the ledger record found for it (``manifest.conflicts``).
"""

from __future__ import annotations

import os
from typing import Any

from guard.errors import GuardError
from guard.scan_result import _one_line
from guard.scan_verdict import as_datetime


class ProvenanceChecks:
    """The provenance and manifest parts of :class:`~guard.scan.Scanner`.

    They read the scanner's ``home`` (its ledger, consents and CA; None without one) and the
    ``trust_anchors`` it loaded from that CA.
    """

    def _load_trust_anchors(self) -> tuple[str | None, str | None]:
        """The home's C2PA CA (PEM text) that a manifest's signer must chain to, or None and why not."""
        from cryptography import x509

        from guard.provenance.certs import CA_CERT

        if self.home is None:
            return None, "no voiceguard home"
        path = self.home.keys_dir / CA_CERT
        try:
            pem = path.read_text(encoding="ascii")
            x509.load_pem_x509_certificates(pem.encode("ascii"))
        except FileNotFoundError:
            return None, f"{path} is missing"
        except (OSError, UnicodeError, ValueError) as exc:
            return None, f"{path} is not a readable PEM certificate ({type(exc).__name__})"
        return pem, None

    def _lookup(self, verification: Any) -> dict | None:
        if verification is None or not verification.detected or verification.payload is None:
            return None
        return self._lookup_payload(int(verification.payload))

    def _lookup_payload(self, payload: int) -> dict | None:
        """The provenance record of ``payload`` with its consent's status then and now (None: no record).

        ``kind`` says what the ledger logged the payload for: ``"clip"`` (a generated clip,
        ``clip.generated``) or ``"mark"`` (audio marked with ``voiceguard watermark embed``,
        ``audio.marked``: no voice, no consent, ``valid`` False); ``seq`` is the record's
        ledger event in both; None when the lookup failed (``error`` says why).
        """
        from guard.consent import get as get_consent
        from guard.provenance import MarkRecord, payload_owner

        if self.home is None:
            return None
        try:
            record = payload_owner(self.home, payload)
        except GuardError as exc:  # e.g. a damaged ledger: say so on this row, keep scanning
            return {"record_id": None, "voice_id": None, "consent_id": None, "created_at": None, "valid": False,
                    "consent_status_at_generation": None, "consent_status_now": None,
                    "error": f"ledger lookup failed: {_one_line(exc)}", "kind": None, "seq": None}
        if record is None:
            return None
        if isinstance(record, MarkRecord):  # audio the home marked: nobody's voice or consent stands behind it
            return {"record_id": record.record_id, "voice_id": None, "consent_id": None,
                    "created_at": record.created_at.isoformat(), "valid": False,
                    "consent_status_at_generation": None, "consent_status_now": None, "kind": "mark",
                    "seq": record.seq}
        rec = record.to_dict()
        created_at = as_datetime(rec.get("created_at"))
        try:
            consent = get_consent(self.home, rec["consent_id"])
            at_generation = consent.status(at=created_at) if created_at else None
            now = consent.status(at=None)
        except GuardError as exc:
            at_generation = now = f"unknown ({_one_line(exc)})"
        return {"record_id": rec.get("record_id"), "voice_id": rec.get("voice_id"),
                "consent_id": rec.get("consent_id"), "created_at": rec.get("created_at"),
                "valid": at_generation == "valid",
                "consent_status_at_generation": at_generation, "consent_status_now": now, "kind": "clip",
                "seq": record.seq}

    def _manifest(self, path: str | os.PathLike[str]) -> dict | None:
        from guard.provenance import read_manifest

        try:
            report = read_manifest(path, trust_anchors=self.trust_anchors)
        except GuardError as exc:
            return {"valid": False, "failures": [_one_line(exc)], "trusted": False,
                    "signer_checked": False}
        return None if report is None else report.to_dict()
