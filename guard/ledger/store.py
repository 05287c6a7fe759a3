"""The event store: one SQLite file (WAL), an append-only event table and a signed tree head per append.

Every append is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock, reads the
tree's compact range, adds the leaf, signs the new tree head (Ed25519) and commits the event,
the head and the new range together. Several processes may append at once; SQLite's lock
orders them, so no event is lost, duplicated or reordered, and a process killed mid-append
leaves the previous, complete state. After the commit the newest head is also written to
``ledger.head.json`` beside the database, so a truncated database is caught by the audit.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guard.errors import GuardError, LedgerError, ParameterError
from guard.home import Home
from guard.ledger import merkle
from guard.ledger.canon import (
    canonical_json,
    key_id,
    load_public_key,
    parse_time,
    public_key_hex,
    tree_head_message,
    utc_now,
)
from guard.ledger.heads import (
    CHECKPOINT_NAME,
    TreeHead,
    checkpoint_path,
    read_checkpoint,
    write_checkpoint,
)
from guard.ledger.rows import (
    body_problem,
    column_problems,
    damaged,
    decode_text,
    describe,
    parse_event,
    parse_frontier,
    public_key_problem,
)

__all__ = ["KINDS", "SCHEMA_VERSION", "Event", "Ledger", "TreeHead", "checkpoint_path", "create_ledger",
           "event_canonical", "open_ledger", "read_checkpoint", "read_raw"]

SCHEMA_VERSION = 1
# new kinds go at the end: the order is part of what people and tools read
KINDS: tuple[str, ...] = ("consent.granted", "consent.revoked", "voice.enrolled", "clip.generated", "clone.refused",
                          "voice.deleted", "audio.marked", "key.rotated", "consent.challenge")
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


_VERIFIED: dict[str, tuple[tuple, list[Event]]] = {}  # path -> (key and newest head, its verified events)


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


class Ledger:
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

    def check_extent(self) -> None:
        """Refuse a log whose rows disagree with its own frontier, checkpoint and key.

        Cheap (a few counts and a small file), so it runs before every append and every
        consent decision. It catches rows deleted or inserted behind the ledger's back (a
        revocation deleted in SQLite, say) and a log re-signed under a key that is not the
        home's, not edited text: that is :meth:`verified_events`' and the audit's job.

        Raises
        ------
        LedgerError
            One line: what disagrees, and to run ``voiceguard audit``.
        """
        checkpoint = self._checkpoint()  # before the snapshot: it is written only after a commit
        with self._snapshot() as conn:
            self._check_extent(conn, self._frontier_size(conn), checkpoint)

    def _checkpoint(self) -> TreeHead | None:
        try:
            return read_checkpoint(self.home)
        except LedgerError:
            return None  # a damaged checkpoint file is the audit's to report

    def _frontier_size(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key='frontier'").fetchone()
        try:
            return parse_frontier(None if row is None else row[0]).size
        except ValueError as exc:
            raise damaged(self.path, str(exc)) from None

    def _check_extent(self, conn: sqlite3.Connection, size: int, checkpoint: TreeHead | None) -> None:
        """``conn`` must be inside one transaction, and ``checkpoint`` read before it began."""
        count, top = conn.execute("SELECT COUNT(*), MAX(seq) FROM events").fetchone()
        (signed,) = conn.execute("SELECT MAX(tree_size) FROM tree_heads").fetchone()
        problem = None
        home_key = self._home_public_key()
        if home_key is not None and home_key != self.public_key_hex:
            problem = f"it is signed by key {self.key_id}, not this home's key {key_id(home_key)}"
        elif checkpoint is not None and checkpoint.key_id != self.key_id:
            problem = f"its checkpoint {CHECKPOINT_NAME} is signed by key {checkpoint.key_id}, the log by {self.key_id}"
        elif count != size or (size and top != size - 1):
            problem = f"it holds {count} events but its Merkle frontier counts {size}"
        elif (signed or 0) != size:
            problem = f"its newest signed tree head covers {signed or 0} events, not its {size}"
        elif checkpoint is not None and checkpoint.tree_size > size:
            problem = f"its checkpoint {CHECKPOINT_NAME} has signed {checkpoint.tree_size} events, it holds {size}"
        if problem:
            raise LedgerError(f"ledger {self.path} is inconsistent: {problem}; nothing was written or decided. "
                              f"Run `voiceguard audit --home {self.home.root}`, and restore the ledger from a backup "
                              f"or an exported bundle")

    def _home_public_key(self) -> str | None:
        """The home's own public key (hex), or None where its signing key cannot be read (an auditor's copy)."""
        try:
            return public_key_hex(self.home.public_key())
        except (GuardError, OSError):  # missing, unreadable (another user's keys), or not a key
            return None

    def _sign_head(self, signer: Ed25519PrivateKey, size: int, root_hex: str, timestamp: str) -> TreeHead:
        msg = tree_head_message(tree_size=size, root_hash=root_hex, timestamp=timestamp, key=self.key_id)
        return TreeHead(size, root_hex, timestamp, self.key_id, signer.sign(msg).hex())

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, with SQLite's errors (a dropped table, a bad page) as one LedgerError."""
        try:
            yield self._conn
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, str(exc)) from None

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every SELECT inside sees the same committed state, whatever other
        processes commit meanwhile (without it each statement reads its own)."""
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def __len__(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def _event(self, row: tuple, *, check_leaf: bool = True) -> Event:
        """The event of a stored row, carrying the leaf hash of its text (never the stored column unchecked).

        With ``check_leaf`` the stored ``leaf_hash`` column must equal that hash; without it the
        caller checks the recomputed hashes against a signed root instead.
        """
        seq, kind, time, text, stored = row
        what = f"event {describe(seq)}"
        problems = column_problems(row)
        if problems:
            raise damaged(self.path, f"{what}: {problems[0]}")
        leaf = merkle.leaf_hash(text.encode()).hex()
        if check_leaf and leaf != stored:
            raise self._changed(seq, kind)
        try:
            body = parse_event(text)["body"]
            when = parse_time(time)
        except ValueError as exc:
            raise damaged(self.path, f"{what} ({kind}): {exc}") from None
        return Event(seq, kind, when, body, leaf)

    def _changed(self, seq: int, kind: str) -> LedgerError:
        return damaged(self.path, f"event {seq} ({kind}) was changed after it was logged: its stored leaf hash "
                                  f"differs from the hash of its text")

    def events(self, kind: str | None = None) -> Iterator[Event]:
        """Events in order, optionally of one kind (the body as stored in its canonical text).

        Each event's text is hashed again, and its ``leaf_hash`` is that hash; a row whose
        stored leaf hash differs (its text edited after it was logged) is refused. This does
        not check the log against its signed tree head: :meth:`verified_events` does.

        Raises
        ------
        LedgerError
            When a stored row cannot be read, or its stored leaf hash is not the hash of its
            text (the message names its seq): the ledger is damaged.
        """
        if kind is not None and kind not in KINDS:
            raise ParameterError(f"unknown event kind={kind!r}; expected one of {', '.join(KINDS)}")
        sql = "SELECT seq, kind, time, canonical, leaf_hash FROM events"
        with self._reading() as conn:
            rows = conn.execute(sql + (" WHERE kind=? ORDER BY seq" if kind else " ORDER BY seq"),
                                (kind,) if kind else ())
            for row in rows:
                yield self._event(row)

    def verified_events(self, kind: str | None = None) -> list[Event]:
        """Events in order (optionally of one kind), after checking the whole log against its newest signed head.

        Every event's text is hashed again, the Merkle root of all of them must be the root the
        newest tree head signs, and that signature must verify: an event edited behind the
        ledger's back (its text, or its text and stored leaf hash together) is refused here
        instead of being believed. Use it where a decision or a report rests on what the log
        says (consents, provenance records); it costs one hash per event.

        Raises
        ------
        LedgerError
            The log disagrees with its signed head (naming the first changed event when its
            stored leaf hash gives it away), or with its own extent (:meth:`check_extent`).
        """
        if kind is not None and kind not in KINDS:
            raise ParameterError(f"unknown event kind={kind!r}; expected one of {', '.join(KINDS)}")
        checkpoint = self._checkpoint()  # before the snapshot: it is written only after a commit
        with self._snapshot() as conn:  # the head and the rows from one committed state
            self._check_extent(conn, self._frontier_size(conn), checkpoint)
            row = conn.execute("SELECT * FROM tree_heads ORDER BY tree_size DESC LIMIT 1").fetchone()
            head = None if row is None else TreeHead.from_row(self.path, row)
            # A scan looks records up once per file, so the last log verified in this process
            # is reused while its newest signed head is the same: every append signs a new head,
            # and what is reused was verified, so an edit made since is never believed, only
            # noticed at the next append, the next new head, or by `voiceguard audit`.
            stamp = None if head is None else (self.public_key_hex, head.to_dict())
            cached = _VERIFIED.get(str(self.path))
            if stamp is not None and cached is not None and cached[0] == stamp:
                return [e for e in cached[1] if kind is None or e.kind == kind]
            rows = conn.execute("SELECT seq, kind, time, canonical, leaf_hash FROM events ORDER BY seq").fetchall()
        events = [self._event(row, check_leaf=False) for row in rows]  # the root below checks every leaf
        leaves = [bytes.fromhex(e.leaf_hash) for e in events]
        if head is None:
            return [e for e in events if kind is None or e.kind == kind]  # an empty log: nothing to check
        problem = None
        try:
            load_public_key(self.public_key_hex).verify(bytes.fromhex(head.signature), head.message())
        except (InvalidSignature, ValueError):
            problem = f"its newest tree head (size {head.tree_size}) does not carry a valid signature"
        if problem is None and merkle.root(leaves).hex() != head.root_hash:
            changed = next((e for e, row in zip(events, rows) if row[4] != e.leaf_hash), None)
            problem = (f"event {changed.seq} ({changed.kind}) was changed after it was logged" if changed else
                       "its events do not hash to the root its newest signed tree head signs")
        if problem:
            raise LedgerError(f"ledger {self.path} does not match its signed tree head: {problem}; nothing was "
                              f"decided from it. Run `voiceguard audit --home {self.home.root}`")
        _VERIFIED.clear()  # one log kept: the events of a large ledger are not small
        _VERIFIED[str(self.path)] = (stamp, events)
        return [e for e in events if kind is None or e.kind == kind]

    def leaf_hashes(self) -> list[bytes]:
        """The leaf hash of every event in order (32 bytes each), each recomputed from its stored text.

        What the proofs are made of. Cheaper than :meth:`events` (no JSON or time is parsed,
        no :class:`Event` is made), and as strict about what a proof rests on: every row's
        columns must have their types, the seqs must run 0, 1, 2, ... and each stored leaf
        hash must be the hash of its text. Like :meth:`events`, it does not check the log
        against its signed tree head (:meth:`verified_events` and the audit do).

        Raises
        ------
        LedgerError
            A damaged row, a seq out of place, or an edited text (naming the seq).
        """
        with self._reading() as conn:
            rows = conn.execute("SELECT seq, kind, time, canonical, leaf_hash FROM events ORDER BY seq").fetchall()
        leaves = []
        for i, (seq, kind, time, text, stored) in enumerate(rows):
            # a stored hash equal to the recomputed one is well-formed (64 hex digits): no need to check it apart
            leaf = merkle.leaf_hash(text.encode()) if type(text) is str else None
            if leaf is None or seq != i or leaf.hex() != stored or type(kind) is not str or type(time) is not str:
                raise self._unusable_leaf(i)
            leaves.append(leaf)
        return leaves

    def _unusable_leaf(self, position: int) -> LedgerError:
        """Why the event row at ``position`` (in seq order) gives no leaf hash to trust."""
        with self._reading() as conn:
            row = conn.execute("SELECT seq, kind, time, canonical, leaf_hash FROM events ORDER BY seq LIMIT 1 "
                               "OFFSET ?", (position,)).fetchone()
        if row is None:  # rows deleted while it was read
            return damaged(self.path, f"the event at position {position} went missing while the log was read")
        seq, kind = row[0], row[1]
        problems = column_problems(row)
        if problems:
            return damaged(self.path, f"event {describe(seq)}: {problems[0]}")
        if seq != position:
            return damaged(self.path, f"event {seq} ({kind}) is at position {position}: events were deleted or "
                                      f"inserted")
        return self._changed(seq, kind)

    def tree_head(self, tree_size: int | None = None) -> TreeHead | None:
        """The signed head of ``tree_size`` (default: the latest), or None."""
        with self._reading() as conn:
            if tree_size is None:
                row = conn.execute("SELECT * FROM tree_heads ORDER BY tree_size DESC LIMIT 1").fetchone()
            else:
                row = conn.execute("SELECT * FROM tree_heads WHERE tree_size=?", (tree_size,)).fetchone()
        return None if row is None else TreeHead.from_row(self.path, row)

    def tree_heads(self) -> Iterator[TreeHead]:
        with self._reading() as conn:
            for row in conn.execute("SELECT * FROM tree_heads ORDER BY tree_size"):
                yield TreeHead.from_row(self.path, row)

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> list[str]:
        """Audit path (hex hashes) of event ``seq`` in the tree of ``tree_size`` (default: all).

        Made from :meth:`leaf_hashes`: hashes recomputed from the events' texts, never a stored
        leaf hash that disagrees with them (that raises LedgerError naming the event).
        """
        leaves = self.leaf_hashes()
        n = len(leaves) if tree_size is None else tree_size
        if not 0 < n <= len(leaves):
            raise ParameterError(f"tree_size must be within [1, {len(leaves)}], given tree_size={tree_size}")
        return [h.hex() for h in merkle.inclusion_proof(seq, leaves[:n])]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[str]:
        """Proof (hex hashes) that the tree of ``old_size`` is a prefix of that of ``new_size``.

        Made from :meth:`leaf_hashes`, as :meth:`inclusion_proof` is.
        """
        leaves = self.leaf_hashes()
        n = len(leaves) if new_size is None else new_size
        if not 0 <= n <= len(leaves):
            raise ParameterError(f"new_size must be within [0, {len(leaves)}], given new_size={new_size}")
        return [h.hex() for h in merkle.consistency_proof(old_size, leaves[:n])]

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
