"""Signed tree heads, and the checkpoint: the newest head kept in a file beside the database.

The checkpoint (``ledger.head.json``) catches a database cut short by someone who leaves
the file alone: rows can be deleted without the private key, and the checkpoint then signs
more events than are left. It is no defence against someone who writes the home: every
signed head is also stored in the database, so an older one can be copied into the file
after the cut. Only a checkpoint kept outside the home (``voiceguard audit --checkpoint
FILE``, from an earlier ``--export``) catches that.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.errors import LedgerError
from guard.home import Home
from guard.ledger.canon import canonical_json, tree_head_message
from guard.ledger.rows import damaged, describe, head_problem

CHECKPOINT_BYTES = 1024  # a signed head is ~330 bytes
CHECKPOINT_NAME = "ledger.head.json"
HEAD_FIELDS = ("tree_size", "root_hash", "timestamp", "key_id", "signature")  # as stored, in the table's order


@dataclass(frozen=True)
class TreeHead:
    """A signed statement of the tree's size and root hash."""

    tree_size: int
    root_hash: str  # hex
    timestamp: str
    key_id: str
    signature: str  # hex

    def message(self) -> bytes:
        return tree_head_message(tree_size=self.tree_size, root_hash=self.root_hash, timestamp=self.timestamp,
                                 key=self.key_id)

    def to_dict(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "root_hash": self.root_hash, "timestamp": self.timestamp,
                "key_id": self.key_id, "signature": self.signature}

    @classmethod
    def from_dict(cls, d: object) -> TreeHead:
        """A head from its JSON object; LedgerError naming what is missing or malformed."""
        names = HEAD_FIELDS
        if not isinstance(d, Mapping):
            raise LedgerError(f"a tree head must be a JSON object with {', '.join(names)}, given {describe(d)}")
        missing = [n for n in names if n not in d]
        if missing:
            raise LedgerError(f"a tree head lacks {', '.join(missing)}")
        row = tuple(d[n] for n in names)
        problem = head_problem(row)
        if problem:
            raise LedgerError(f"malformed tree head: {problem}")
        return cls(*row)

    @classmethod
    def from_row(cls, path: Path, row: tuple) -> TreeHead:
        """A head from a stored row; the damaged-ledger LedgerError when a value is malformed."""
        problem = head_problem(row)
        if problem:
            raise damaged(path, f"tree head {describe(row[0])} is malformed: {problem}")
        return cls(*row)


def write_checkpoint(home: Home, head: TreeHead) -> None:
    """Keep the largest signed head in ``ledger.head.json`` (never moves backwards).

    The file is one fixed-size record rewritten in place by a single ``pwrite`` under an
    exclusive ``flock``: a killed writer leaves the old or the new head, never half of one
    (a rename per append would cost more than the rest of the append).
    """
    data = canonical_json(head.to_dict()).encode()
    record = data + b" " * (CHECKPOINT_BYTES - len(data) - 1) + b"\n"
    path = checkpoint_path(home)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LedgerError(f"event {head.tree_size - 1} was logged, but the checkpoint {path} cannot be written "
                          f"({exc.strerror}); make it a writable file and the next append rewrites it") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        current = os.pread(fd, CHECKPOINT_BYTES, 0)
        if current.strip():
            try:
                if int(json.loads(current)["tree_size"]) >= head.tree_size:
                    return
            except (ValueError, KeyError, TypeError):
                pass  # unreadable: replace it with a good head
        os.pwrite(fd, record, 0)
    finally:
        os.close(fd)


def checkpoint_path(home: Home) -> Path:
    """Where the checkpoint of ``home`` lives."""
    return home.root / CHECKPOINT_NAME


def load_head_file(path: Path) -> TreeHead:
    """A tree head saved as JSON (``ledger.head.json``, a bundle's ``checkpoint.json``).

    Raises
    ------
    LedgerError
        When the file cannot be read or does not hold a tree head; the message names it.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8")
        return TreeHead.from_dict(json.loads(text))
    except FileNotFoundError:
        raise LedgerError(f"checkpoint {path} does not exist") from None
    except OSError as exc:
        raise LedgerError(f"checkpoint {path} cannot be read ({exc.strerror})") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise LedgerError(f"checkpoint {path} is not a tree head ({exc})") from None
    except LedgerError as exc:
        raise LedgerError(f"checkpoint {path} is not a tree head ({exc})") from None


def read_checkpoint(home: Home) -> TreeHead | None:
    """The newest head written beside the database, or None when the file is missing or empty."""
    path = checkpoint_path(home)
    try:
        if not path.read_bytes().strip():
            return None
    except FileNotFoundError:
        return None
    except OSError:
        pass  # load_head_file says what is wrong
    return load_head_file(path)
