"""Canonical JSON and the signed messages of the ledger: one byte string per object."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from guard.errors import LedgerError

TREE_HEAD_DOMAIN = b"voiceguard tree head v1\n"


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: the same object always gives the same text.

    Raises
    ------
    LedgerError
        When ``obj`` holds something JSON cannot carry exactly (NaN, a set, bytes...).
    """
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"event body is not plain JSON: {exc}") from None


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds (``...+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time written by :func:`utc_now` (naive times are taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def public_key_hex(key: Ed25519PublicKey) -> str:
    """The raw 32-byte Ed25519 public key, hex."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def key_id(public_hex: str) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def load_public_key(public_hex: str) -> Ed25519PublicKey:
    """An Ed25519 public key from 64 hex digits, or LedgerError."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    except ValueError:
        raise LedgerError(f"not an Ed25519 public key: {public_hex[:80]!r}") from None


def tree_head_message(*, tree_size: int, root_hash: str, timestamp: str, key: str) -> bytes:
    """The bytes a tree head signature covers."""
    body = {"key_id": key, "root_hash": root_hash, "timestamp": timestamp, "tree_size": tree_size}
    return TREE_HEAD_DOMAIN + canonical_json(body).encode()
