"""The event store: one SQLite file (WAL), an append-only event table and a signed tree head per append.

Every append is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock, reads the
tree's compact range, adds the leaf, signs the new tree head (Ed25519) and commits the event,
the head and the new range together. Several processes may append at once; SQLite's lock
orders them, so no event is lost, duplicated or reordered, and a process killed mid-append
leaves the previous, complete state. After the commit the newest head is also written to
``ledger.head.json`` beside the database, so a truncated database is caught by the audit.

What an event is lives in :mod:`guard.ledger.events`; reading the log and checking it against
its signed head in :mod:`guard.ledger.reading`; the Merkle proofs in :mod:`guard.ledger.proofs`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guard.errors import LedgerError, ParameterError
from guard.home import Home
from guard.ledger import merkle
from guard.ledger.canon import (
    canonical_json,
    key_id,
    parse_time,
    public_key_hex,
    tree_head_message,
    utc_now,
)
from guard.ledger.events import KINDS, SCHEMA_VERSION, Event, event_canonical
from guard.ledger.heads import TreeHead, checkpoint_path, write_checkpoint
from guard.ledger.proofs import LedgerProofs
from guard.ledger.rows import body_problem, damaged, decode_text, parse_frontier, public_key_problem

__all__ = ["Ledger", "TreeHead", "checkpoint_path", "create_ledger", "open_ledger", "read_raw"]

BUSY_TIMEOUT_S = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, time TEXT NOT NULL,
    canonical TEXT NOT NULL, leaf_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind);
CREATE TABLE IF NOT EXISTS tree_heads (
    tree_size INTEGER PRIMARY KEY, root_hash TEXT NOT NULL, timestamp TEXT NOT NULL,
    key_id TEXT NOT NULL, signature TEXT NOT NULL);
"""


def writable(path: Path) -> bool:
    """Whether the ledger at ``path`` can be written here (its folder too: SQLite keeps -wal/-shm files beside it)."""
    return os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to the ledger; on read-only storage one that can read but never write.

    Opening a WAL database normally creates its -wal and -shm files, which read-only media
    (an auditor's copy, a read-only mount) refuse. Events still in the -wal file (a writer
    was killed, or the home was copied while open) are read with ``mode=ro`` where SQLite
    can; a database with no such events is read as it stands (``immutable=1``); otherwise
    the ledger is refused rather than read without its newest events.
    """
    wal = Path(f"{path}-wal")
    try:
        if writable(path):
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        elif wal.is_file() and wal.stat().st_size > 0:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                                   isolation_level=None, check_same_thread=False)
            try:
                conn.execute("SELECT COUNT(*) FROM meta").fetchone()
            except sqlite3.OperationalError as exc:
                conn.close()
                raise LedgerError(f"ledger {path}: {wal.name} holds events not yet in {path.name}, and this read-only "
                                  f"storage does not let SQLite read them ({exc}); open the home once where it can "
                                  f"be written (or copy it there) and read it again") from None
        else:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None,
                                   check_same_thread=False)
        conn.text_factory = decode_text  # a flipped byte is reported, not an OperationalError mid-read
        if writable(path):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"ledger {path} is not a readable SQLite database ({exc}); restore it from a backup "
                          f"or an exported bundle") from None
    return conn


def create_ledger(home: Home) -> list[Path]:
    """Create the ledger database (0600) with its schema and public key; idempotent."""
    path = home.ledger_path
    created = []
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        created.append(path)
    os.chmod(path, 0o600)
    conn = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                conn.execute(stmt)
        pub = public_key_hex(home.public_key())
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('public_key', ?)", (pub,))
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('frontier', ?)", (json.dumps([0, []]),))
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"cannot create the ledger {path}: {exc}") from None
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)
    return created


class Ledger(LedgerProofs):
    """The append-only event log of a home. Use as a context manager, or call :meth:`close`.

    Parameters
    ----------
    home : Home
        An initialised home (``voiceguard init`` creates the ledger).

    Examples
    --------
    >>> with Ledger(home) as ledger:                                   # doctest: +SKIP
    ...     event = ledger.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"})
    """

    def __init__(self, home: Home) -> None:
        self.home = home
        self.path = home.ledger_path
        if not self.path.is_file():
            raise LedgerError(f"no ledger at {self.path}; run `voiceguard init --home {home.root}` to create it")
        self._conn = _connect(self.path)
        try:
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise LedgerError(f"ledger {self.path} is corrupt or not a voiceguard ledger ({exc}); restore it from a "
                              f"backup or an exported bundle") from None
        if "public_key" not in meta:
            self._conn.close()
            raise LedgerError(f"ledger {self.path} has no public key; run `voiceguard init --home {home.root}`")
        problem = public_key_problem(meta["public_key"])
        if problem:
            self._conn.close()
            raise damaged(self.path, problem)
        self.public_key_hex = str(meta["public_key"])
        self.key_id = key_id(self.public_key_hex)
        self._signing_key: Ed25519PrivateKey | None = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _signer(self) -> Ed25519PrivateKey:
        if self._signing_key is None:
            key = self.home.signing_key()
            if public_key_hex(key.public_key()) != self.public_key_hex:
                raise LedgerError(f"the signing key in {self.home.keys_dir} does not match the ledger's public key; "
                                  f"refusing to sign (was a key replaced?)")
            self._signing_key = key
        return self._signing_key

    def append(self, kind: str, body: Mapping[str, Any], *, precondition: Callable[[], None] | None = None,
               on_abort: Callable[[], None] | None = None) -> Event:
        """Append one event in one transaction and sign the new tree head.

        Nothing is appended to a log whose stored extent disagrees with itself (rows deleted
        or added behind its back: see :meth:`check_extent`).

        Parameters
        ----------
        kind : str
            One of :data:`KINDS`.
        body : dict
            Plain JSON (str keys; no NaN, bytes or sets).
        precondition : callable, optional
            Called with no arguments while this append holds the write lock, after the
            extent check and before the event is written; whatever it raises aborts the
            append. Since no other writer can commit in between, a check of the log made
            here (say, that a consent is still unrevoked) still holds when the event lands.
            It may also put in place what the event refers to (a file), which ``on_abort``
            then takes away again.
        on_abort : callable, optional
            Called with no arguments when the append stops, for whatever reason
            (``KeyboardInterrupt`` included), once its transaction has begun and before its
            event was committed; after the rollback, before the exception propagates. It is
            not called once the event has landed, even if something fails after the commit.

        Returns
        -------
        Event
        """
        if kind not in KINDS:
            raise ParameterError(f"unknown event kind={kind!r}; expected one of {', '.join(KINDS)}")
        if not isinstance(body, Mapping):
            raise ParameterError(f"event body must be a dict, given {type(body).__name__}")
        problem = body_problem(body)
        if problem:
            raise ParameterError(f"event body cannot be logged: {problem}")
        body = json.loads(canonical_json(dict(body)))  # a detached, JSON-exact copy
        if not writable(self.path):
            raise LedgerError(f"ledger {self.path} is read-only here (a read-only file system or no write permission "
                              f"on it or its folder); nothing was added. Work on a writable copy of the home")
        signer = self._signer()
        conn = self._conn
        committing = False
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT value FROM meta WHERE key='frontier'").fetchone()
                try:
                    frontier = parse_frontier(None if row is None else row[0])
                except ValueError as exc:
                    raise damaged(self.path, str(exc)) from None
                size = frontier.size
                self._check_extent(conn, size, self._checkpoint())
                time = utc_now()
                (newest,) = conn.execute("SELECT MAX(timestamp) FROM tree_heads").fetchone()
                try:
                    behind = newest is not None and parse_time(time) < parse_time(str(newest))
                except ValueError:
                    raise damaged(self.path, f"its newest tree head's time {newest!r} is not a time") from None
                if behind:
                    raise LedgerError(f"the system clock reads {time}, before the ledger's newest entry ({newest}); "
                                      f"nothing was added: set the clock right (events must never go back in time)")
                if precondition is not None:
                    precondition()
                text = event_canonical(seq=size, kind=kind, time=time, body=body)
                leaf = merkle.leaf_hash(text.encode())
                frontier.push(leaf)
                head = self._sign_head(signer, frontier.size, frontier.root().hex(), time)
                conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)", (size, kind, time, text, leaf.hex()))
                conn.execute("INSERT INTO tree_heads VALUES (?, ?, ?, ?, ?)",
                             (head.tree_size, head.root_hash, head.timestamp, head.key_id, head.signature))
                conn.execute("UPDATE meta SET value=? WHERE key='frontier'",
                             (json.dumps([frontier.size, [h.hex() for h in frontier.hashes]]),))
                committing = True
                conn.execute("COMMIT")
            except BaseException:
                landed = False
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                elif committing:  # interrupted as COMMIT returned: whether it landed, the table says
                    landed = conn.execute("SELECT 1 FROM events WHERE seq=? AND canonical=?",
                                          (size, text)).fetchone() is not None
                if on_abort is not None and not landed:
                    on_abort()
                raise
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"cannot append to the ledger {self.path} ({exc}); nothing was added. If it is "
                              f"damaged, restore it from a backup or an exported bundle") from None
        write_checkpoint(self.home, head)
        return Event(size, kind, parse_time(time), body, leaf.hex())

    def _sign_head(self, signer: Ed25519PrivateKey, size: int, root_hex: str, timestamp: str) -> TreeHead:
        msg = tree_head_message(tree_size=size, root_hash=root_hex, timestamp=timestamp, key=self.key_id)
        return TreeHead(size, root_hex, timestamp, self.key_id, signer.sign(msg).hex())

    def raw_rows(self) -> tuple[list[tuple], list[tuple], dict[str, object]]:
        """Every event row, tree-head row and meta entry exactly as stored (for the audit)."""
        return _raw_rows(self._conn, self.path)


def _raw_rows(conn: sqlite3.Connection, path: Path) -> tuple[list[tuple], list[tuple], dict[str, object]]:
    try:
        events = conn.execute("SELECT seq, kind, time, canonical, leaf_hash FROM events ORDER BY rowid").fetchall()
        heads = conn.execute("SELECT * FROM tree_heads ORDER BY rowid").fetchall()
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise damaged(path, str(exc)) from None
    return events, heads, meta


def read_raw(home: Home) -> tuple[list[tuple], list[tuple], dict[str, object]]:
    """The ledger's rows as stored, checking nothing inside them (the audit checks them).

    Raises
    ------
    LedgerError
        When there is no ledger, or SQLite cannot read its tables at all.
    """
    path = home.ledger_path
    if not path.is_file():
        raise LedgerError(f"no ledger at {path}; run `voiceguard init --home {home.root}` to create it")
    conn = _connect(path)
    try:
        return _raw_rows(conn, path)
    finally:
        conn.close()


def open_ledger(home: Home) -> Ledger:
    """Open the ledger of ``home`` (close it, or use ``with``)."""
    return Ledger(home)
