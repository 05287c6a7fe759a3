"""C2PA manifests through c2pa-python: sign a clip (embedded where the format allows) and read one back.

The manifest says the clip was made by a trained model (action ``c2pa.created``,
digitalSourceType ``trainedAlgorithmicMedia``), binds it softly to our watermark and its
payload (``c2pa.soft-binding``), and carries the provenance record id
(``org.voiceguard.provenance``). WAV, FLAC, MP3 and M4A carry it inside the file; other
formats get a sidecar ``<file>.c2pa``.

Reading checks every hash and signature. Whether the signer is *who it should be* needs a
trust anchor: :func:`read_manifest` takes one (a home's ``keys/c2pa-ca.pem``) and then says
whether the signing certificate chains to it; without one the signer is not checked.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.errors import ProvenanceError

SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
SOFT_BINDING_ALG = "org.voiceguard.watermark.v1"
RECORD_LABEL = "org.voiceguard.provenance"
EMBEDDED = "embedded"
_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".mp4": "audio/mp4"}
# Expected for a home's local chain: it is in no public trust list, yet every hash and signature is checked.
_UNTRUSTED = "signingCredential.untrusted"
_TRUSTED = "signingCredential.trusted"


def sidecar_path(path: Path) -> Path:
    """The C2PA sidecar manifest beside ``path`` (formats that cannot embed one): ``<file>.c2pa``."""
    return path.with_name(path.name + ".c2pa")


def _c2pa() -> Any:
    import c2pa

    return c2pa


def sign_clip(path: Path, *, chain_pem: bytes, key_pem: bytes, record_id: str, payload: int, generator: str,
              generator_version: str, voice_id: str, consent_id: str) -> str:
    """Sign ``path`` in place (embedded manifest) or beside it (sidecar); return ``"embedded"`` or the sidecar path."""
    c2pa = _c2pa()
    path = Path(path)
    mime = _MIME.get(path.suffix.lower())
    manifest = {
        "claim_generator_info": [{"name": generator, "version": generator_version}],
        "title": path.name,
        "format": mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        "assertions": [
            {"label": "c2pa.actions",
             "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE,
                                   "softwareAgent": {"name": generator, "version": generator_version}}]}},
            {"label": "c2pa.soft-binding",
             "data": {"alg": SOFT_BINDING_ALG, "blocks": [{"scope": {}, "value": f"{payload:08x}"}]}},
            {"label": RECORD_LABEL,
             "data": {"record_id": record_id, "payload": f"{payload:08x}", "voice_id": voice_id,
                      "consent_id": consent_id}},
        ],
    }
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain_pem, key_pem, None))
        with c2pa.Builder(manifest) as builder:
            if mime:
                tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.c2pa{path.suffix}")
                try:
                    builder.sign_file(path, tmp, signer)
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
                return EMBEDDED
            builder.set_no_embed()
            with open(path, "rb") as src:
                data = builder.sign(signer, "application/octet-stream", src, io.BytesIO())
            side = sidecar_path(path)
            side.write_bytes(data)
            return str(side.resolve())
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"{path}: cannot sign a C2PA manifest: {exc}") from None


@dataclass(frozen=True)
class ManifestReport:
    """What a file's C2PA manifest says and whether it validates.

    Attributes
    ----------
    valid : bool
        Every hash and signature checks out (says nothing about who signed).
    failures : list of str
        ``"code: explanation"`` of each validation failure (an untrusted signer is not one).
    payload, record_id, voice_id, consent_id : str or None
        What the ``org.voiceguard.provenance`` assertion claims.
    trusted : bool
        The signing certificate chains to the trust anchors the manifest was read with.
    generator, source_type : str or None
        The claim generator and the ``c2pa.actions`` digitalSourceType.
    where : str
        ``"embedded"`` or the sidecar's path.
    signer_checked : bool
        Trust anchors were given, so ``trusted`` False means "signed by someone else".
    signed_by : str or None
        The signing certificate's common name and issuer, as the manifest reports them.
    soft_binding : str or None
        The value of the ``c2pa.soft-binding`` block of our watermark algorithm.
    """

    valid: bool
    failures: list[str]
    payload: str | None
    record_id: str | None
    voice_id: str | None = None
    consent_id: str | None = None
    trusted: bool = False
    generator: str | None = None
    source_type: str | None = None
    where: str = EMBEDDED
    signer_checked: bool = False
    signed_by: str | None = None
    soft_binding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "failures": self.failures, "payload": self.payload,
                "record_id": self.record_id, "voice_id": self.voice_id, "consent_id": self.consent_id,
                "trusted": self.trusted, "generator": self.generator, "digital_source_type": self.source_type,
                "manifest": self.where, "signer_checked": self.signer_checked, "signed_by": self.signed_by,
                "soft_binding": self.soft_binding}


def _context(trust_anchors: str | bytes | None) -> Any:
    """A reader context that verifies the signer against ``trust_anchors`` (None: the default context)."""
    if trust_anchors is None:
        return None
    c2pa = _c2pa()
    pem = trust_anchors.decode("ascii", "replace") if isinstance(trust_anchors, bytes) else trust_anchors
    try:
        return c2pa.Context.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": pem}})
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"the C2PA trust anchors are not usable PEM certificates: {exc}") from None


def _open(path: Path, context: Any) -> tuple[dict, str] | None:
    c2pa = _c2pa()
    try:
        with c2pa.Reader(str(path), context=context) as reader:
            return json.loads(reader.json()), EMBEDDED
    except c2pa.C2paError as exc:
        if "NotFound" not in type(exc).__name__ and "NotSupported" not in type(exc).__name__ \
                and "JUMBF" not in str(exc):
            raise ProvenanceError(f"{path}: C2PA manifest cannot be read: {exc}") from None
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        with open(path, "rb") as stream, c2pa.Reader("application/octet-stream", stream, side.read_bytes(),
                                                  context=context) as reader:
            return json.loads(reader.json()), str(side)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"{side}: C2PA sidecar cannot be read: {exc}") from None


def read_manifest(path: str | os.PathLike[str], *, trust_anchors: str | bytes | None = None) -> ManifestReport | None:
    """The active C2PA manifest of ``path`` (embedded or sidecar), or None when there is none.

    Parameters
    ----------
    path : path-like
        An audio file; a sidecar ``<file>.c2pa`` is read when nothing is embedded.
    trust_anchors : str or bytes or None
        PEM certificates (a home's ``keys/c2pa-ca.pem``) the signer must chain to for
        ``trusted``; None leaves the signer unchecked (``signer_checked = False``).

    Returns
    -------
    ManifestReport or None
        ``valid`` is true when every hash and signature checks out; a signer outside the
        trust anchors is reported as ``trusted = False``, not as a failure.

    Raises
    ------
    ProvenanceError
        ``path`` is missing, its manifest cannot be read, or ``trust_anchors`` is not PEM.

    Examples
    --------
    >>> ca = Path("~/.voiceguard/keys/c2pa-ca.pem").expanduser().read_text()  # doctest: +SKIP
    >>> read_manifest("clip.wav", trust_anchors=ca).trusted  # doctest: +SKIP
    True
    """
    p = Path(path)
    if not p.is_file():
        raise ProvenanceError(f"{p}: no such file")
    context = _context(trust_anchors)
    try:
        opened = _open(p, context)
    finally:
        if context is not None:
            context.close()
    if opened is None:
        return None
    store, where = opened
    status = store.get("validation_results", {}).get("activeManifest", {})
    failures = [f"{f.get('code')}: {f.get('explanation', '')}" for f in status.get("failure", [])
                if f.get("code") != _UNTRUSTED]
    failures += [f"{f.get('code')}: {f.get('explanation', '')}" for f in store.get("validation_status", [])
                 if f.get("code") != _UNTRUSTED and not str(f.get("code", "")).endswith((".match", ".trusted"))
                 and f"{f.get('code')}: {f.get('explanation', '')}" not in failures]
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    ours: dict[str, Any] = {}
    source_type = binding = None
    for a in manifest.get("assertions", []):
        label, data = str(a.get("label", "")), a.get("data") or {}
        if label == RECORD_LABEL:
            ours = data
        if label.startswith("c2pa.actions"):
            for action in data.get("actions", []):
                source_type = action.get("digitalSourceType", source_type)
        if label.startswith("c2pa.soft-binding") and data.get("alg") == SOFT_BINDING_ALG:
            binding = next((b.get("value") for b in data.get("blocks", []) if b.get("value")), binding)
    gen = (manifest.get("claim_generator_info") or [{}])[0]
    # trusted only on positive evidence: the reader found the signer in the anchors and raised no
    # signing-credential failure (revoked, expired, untrusted)
    trusted = (trust_anchors is not None and any(f.get("code") == _TRUSTED for f in status.get("success", []))
               and not any(str(f.get("code", "")).startswith("signingCredential.") for f in status.get("failure", [])))
    valid = not failures and store.get("validation_state") in ("Valid", "Trusted")
    sig = manifest.get("signature_info") or {}
    signed_by = (f"{sig.get('common_name') or '?'} (issued by {sig.get('issuer') or '?'})"
                 if sig.get("common_name") or sig.get("issuer") else None)
    return ManifestReport(valid, failures, ours.get("payload"), ours.get("record_id"), ours.get("voice_id"),
                          ours.get("consent_id"), trusted, gen.get("name"), source_type, where,
                          signer_checked=trust_anchors is not None, signed_by=signed_by, soft_binding=binding)
