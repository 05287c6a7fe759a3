"""Checks on values read back from the ledger's storage: nothing stored is trusted to have its type.

The store raises :func:`damaged` (a :class:`LedgerError`) on what these checks find; the audit
turns the same findings into named failures. A row edited by hand, a flipped byte or a value
of the wrong type must never reach code that assumes a shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from guard.errors import LedgerError
from guard.ledger import merkle

HEX = frozenset("0123456789abcdef")
ID_FIELDS = ("consent_id", "voice_id")  # every reader looks these up in dicts: they must be strings


class Undecodable(bytes):
    """A TEXT value whose bytes are not UTF-8 (a flipped byte); sqlite3 cannot give it as str."""


def decode_text(raw: bytes) -> str | Undecodable:
    """``sqlite3`` text factory: UTF-8 text, or the raw bytes marked :class:`Undecodable`."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return Undecodable(raw)


def damaged(path: Path, what: str) -> LedgerError:
    """The one-line error for a ledger whose stored data is damaged."""
    return LedgerError(f"ledger {path} is damaged: {what}; restore it from a backup or an exported bundle")


def describe(value: object) -> str:
    """A short, printable account of a stored value of the wrong kind."""
    if isinstance(value, Undecodable):
        return "text that is not UTF-8"
    if isinstance(value, bytes):
        return f"a {len(value)}-byte blob"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_hex(value: object, n_digits: int | None = None) -> bool:
    """True for a lower-case hex string (of ``n_digits`` digits when given)."""
    return (isinstance(value, str) and bool(value) and set(value) <= HEX
            and (n_digits is None or len(value) == n_digits))


def is_int(value: object) -> bool:
    """True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def column_problems(row: Sequence[Any]) -> list[str]:
    """What is wrong with the types of an event row ``(seq, kind, time, canonical, leaf_hash)``."""
    seq, kind, time, text, leaf = row
    found = []
    if not is_int(seq):
        found.append(f"seq is {describe(seq)}, not an integer")
    for name, value in (("kind", kind), ("time", time), ("canonical", text)):
        if isinstance(value, Undecodable):
            found.append(f"its {name} column holds text that is not UTF-8")
        elif not isinstance(value, str):
            found.append(f"its {name} column holds {describe(value)}, not text")
    if not is_hex(leaf, 64):
        found.append(f"its leaf_hash column holds {describe(leaf)}, not 64 hex digits")
    return found


def body_problem(body: Mapping[str, Any]) -> str | None:
    """Why an event body cannot be read safely (an id that is not a string), or None."""
    for name in ID_FIELDS:
        if name in body and not isinstance(body[name], str):
            return f"its {name} is {describe(body[name])}, not a string"
    return None


def parse_event(text: str) -> dict[str, Any]:
    """The event object of a canonical text; ValueError saying what is wrong."""
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"its text is not JSON ({exc})") from None
    if not isinstance(event, dict) or not isinstance(event.get("body"), dict):
        raise ValueError("its text is not an event object with a body")
    problem = body_problem(event["body"])
    if problem:
        raise ValueError(problem)
    return event


def head_problem(row: Sequence[Any]) -> str | None:
    """What is wrong with a tree-head row ``(tree_size, root_hash, timestamp, key_id, signature)``, or None."""
    if len(row) != 5:
        return f"it has {len(row)} fields, not 5"
    size, root, timestamp, kid, signature = row
    if not is_int(size) or size < 1:
        return f"its tree_size is {describe(size)}, not a positive integer"
    if not is_hex(root, 64):
        return f"its root_hash is {describe(root)}, not 64 hex digits"
    if not isinstance(timestamp, str):
        return f"its timestamp is {describe(timestamp)}, not text"
    if not is_hex(kid, 16):
        return f"its key_id is {describe(kid)}, not 16 hex digits"
    if not is_hex(signature, 128):
        return f"its signature is {describe(signature)}, not 128 hex digits"
    return None


def parse_frontier(value: object) -> merkle.Frontier:
    """The stored tree state (meta ``frontier``); ValueError saying what is wrong."""
    if value is None:
        raise ValueError("its tree state (meta row 'frontier') is missing")
    try:
        size, hashes = json.loads(value) if isinstance(value, str) else (None, None)
        if not is_int(size) or not isinstance(hashes, list) or not all(is_hex(h, 64) for h in hashes):
            raise ValueError
        return merkle.Frontier(size, [bytes.fromhex(h) for h in hashes])
    except (ValueError, TypeError):
        raise ValueError(f"its tree state (meta row 'frontier') is {describe(value)}, not [size, [hashes]]") from None


def public_key_problem(value: object) -> str | None:
    """Why a stored public key is not a usable Ed25519 key (64 hex digits), or None."""
    if not is_hex(value, 64):
        return f"its public key (meta row 'public_key') is {describe(value)}, not 64 hex digits"
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(value)))
    except ValueError:
        return "its public key (meta row 'public_key') is not an Ed25519 key"
    return None
