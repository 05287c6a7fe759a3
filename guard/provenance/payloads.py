"""Who owns a watermark payload: look-ups over the home's verified ledger, and payloads nobody owns yet.

A payload names one piece of audio, a generated clip (``clip.generated``) or a marked
recording (``audio.marked``): :func:`payload_owner` says which, :func:`check_unused` refuses
a payload either uses, and :func:`new_payload` draws one neither uses.
"""

from __future__ import annotations

import secrets

from guard.errors import ProvenanceError
from guard.home import Home
from guard.provenance.checks import _check_payload
from guard.provenance.records import MARK_KIND, PAYLOAD_BITS, MarkRecord, ProvenanceRecord

__all__ = ["new_payload", "lookup", "lookup_mark", "payload_owner", "describe_owner", "check_unused"]


def _records(home: Home) -> list[ProvenanceRecord]:
    from guard.ledger import Ledger

    with Ledger(home) as led:  # checked against the signed tree head: an edited record is refused, not believed
        return [ProvenanceRecord.from_dict(e.body, seq=e.seq) for e in led.verified_events("clip.generated")]


def _marks(home: Home) -> list[MarkRecord]:
    from guard.ledger import Ledger

    with Ledger(home) as led:  # the same verified (and cached) log as _records reads
        return [MarkRecord.from_dict(e.body, seq=e.seq) for e in led.verified_events(MARK_KIND)]


def _used_payloads(home: Home) -> set[int]:
    """Every payload a clip or a mark of this home's ledger uses."""
    return {r.payload for r in _records(home)} | {m.payload for m in _marks(home)}


def new_payload(home: Home) -> int:
    """A random 32-bit payload that no clip and no mark of this home's ledger uses yet."""
    used = _used_payloads(home)
    while True:
        candidate = secrets.randbits(PAYLOAD_BITS)
        if candidate not in used:
            return candidate


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
