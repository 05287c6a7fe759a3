"""What a ledger event is: its kinds, the :class:`Event` record and the canonical text its leaf hash covers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guard.ledger.canon import canonical_json

SCHEMA_VERSION = 1
# new kinds go at the end: the order is part of what people and tools read
KINDS: tuple[str, ...] = ("consent.granted", "consent.revoked", "voice.enrolled", "clip.generated", "clone.refused",
                          "voice.deleted", "audio.marked", "key.rotated", "consent.challenge")


@dataclass(frozen=True)
class Event:
    """One ledger event; ``seq`` is its 0-based leaf index in the Merkle tree."""

    seq: int
    kind: str
    time: datetime
    body: dict[str, Any]
    leaf_hash: str  # hex

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "time": self.time.isoformat(), "body": self.body,
                "leaf_hash": self.leaf_hash}


def event_canonical(*, seq: int, kind: str, time: str, body: Mapping[str, Any]) -> str:
    """The canonical text of an event: the exact bytes its leaf hash covers."""
    return canonical_json({"body": body, "kind": kind, "seq": seq, "time": time, "v": SCHEMA_VERSION})
