"""A file's C2PA manifest held against what a scan found: its claims' contradictions, and its part of the reason.

A manifest never changes the verdict and never lends it credibility: anyone can sign one
(every home has a signing chain). It is shown for what it is: valid or not, signed by this
home or another signer, and where its claims contradict the watermark that was read or the
ledger record found for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _hex(value: Any) -> str:
    """A payload as 8 lower-case hex digits when it is one, else as given (a forged manifest may hold anything)."""
    text = str(value).strip().lower()
    try:
        return f"{int(text, 16):08x}"
    except ValueError:
        return text


def manifest_conflicts(manifest: dict, watermark: dict, provenance: dict | None) -> list[tuple[str, str]]:
    """Where a manifest's claims contradict the watermark that was read and the ledger record found for it.

    Parameters
    ----------
    manifest : dict
        :meth:`guard.provenance.manifest.ManifestReport.to_dict`; a claim that is absent
        (None) contradicts nothing.
    watermark : dict
        The scan's watermark section; ``detected`` None (not checked) compares nothing, and a
        mark whose payload could not be read compares nothing either.
    provenance : dict or None
        The ledger record of the watermark's payload; compared only when one was found.

    Returns
    -------
    list of (against, detail)
        ``against`` is ``"watermark"``, ``"ledger record"`` or ``"itself"``; ``detail`` reads
        like ``"manifest payload 11111111, watermark 708f1029"``.

    Examples
    --------
    >>> manifest_conflicts({"payload": "11111111"}, {"detected": True, "payload": "708f1029"}, None)
    [('watermark', 'manifest payload 11111111, watermark 708f1029')]
    """
    found: list[tuple[str, str]] = []
    claims: dict[str, str] = {}  # claimed payload -> where the manifest claims it
    for name, key in (("payload", "payload"), ("soft binding", "soft_binding")):
        if manifest.get(key) is not None:
            claims.setdefault(_hex(manifest[key]), name)
    if len(claims) > 1:
        (payload, _), (binding, _) = claims.items()
        found.append(("itself", f"manifest soft binding {binding}, manifest payload {payload}"))
    detected, mark = watermark.get("detected"), watermark.get("payload")
    if detected is False and claims:
        # Another signer's claim may name a mark of a key this home lacks, but anyone can sign
        # such a claim (every home has a signing chain): it stays unconfirmed, so it is listed.
        value, name = next(iter(claims.items()))
        elsewhere = " with this home's keys (another operator's mark is found only with their key)"
        found.append(("watermark", f"manifest {name} {value}, no voiceguard watermark found"
                                   + (elsewhere if _signed_elsewhere(manifest) else "")))
    elif detected and mark is not None:
        found += [("watermark", f"manifest {name} {value}, watermark {_hex(mark)}")
                  for value, name in claims.items() if value != _hex(mark)]
    if provenance and provenance.get("record_id") and not provenance.get("error"):
        for name, key in (("record", "record_id"), ("voice", "voice_id"), ("consent", "consent_id")):
            claim, logged = manifest.get(key), provenance.get(key)
            if claim is not None and logged is not None and str(claim) != str(logged):
                found.append(("ledger record", f"manifest {name} {claim}, ledger {name} {logged}"))
    return found


def _signed_elsewhere(manifest: dict) -> bool:
    """Whether a valid manifest was signed by a signer that is not this home's."""
    return bool(manifest.get("valid") and manifest.get("signer_checked") and not manifest.get("trusted"))


def manifest_text(manifest: dict, conflicts: Sequence[tuple[str, str]], *, signer_off: str | None) -> str:
    """The manifest's part of a scan reason (starting ``"; "``): validity, signer, contradictions.

    "C2PA manifest valid" is said only with who signed it: this home, another signer, or
    "signer not checked" with ``signer_off`` (why there is no trust anchor).
    """
    if not manifest.get("valid"):
        text = "; C2PA manifest INVALID"
    elif manifest.get("trusted"):
        text = "; C2PA manifest valid, signed by this home"
    elif manifest.get("signer_checked"):
        text = "; C2PA manifest signed by another signer, not this home"
    else:
        text = f"; C2PA manifest valid (signer not checked: {signer_off or 'no trust anchor'})"
    for against in dict.fromkeys(a for a, _ in conflicts):
        details = [d for a, d in conflicts if a == against]
        text += f"; C2PA manifest contradicts {'the ' if against != 'itself' else ''}{against}: " + " and ".join(details)
    return text
