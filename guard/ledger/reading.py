"""Read a ledger's stored log: its events, the log checked against its signed tree head, and its extent check.

:class:`LedgerReader` is the read side of :class:`guard.ledger.store.Ledger`, which opens the
database and appends to it; :class:`guard.ledger.proofs.LedgerProofs` adds the Merkle proofs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from guard.errors import GuardError, LedgerError, ParameterError
from guard.home import Home
from guard.ledger import merkle
from guard.ledger.canon import key_id, load_public_key, parse_time, public_key_hex
from guard.ledger.events import KINDS, Event
from guard.ledger.heads import CHECKPOINT_NAME, TreeHead, read_checkpoint
from guard.ledger.rows import column_problems, damaged, describe, parse_event, parse_frontier

_VERIFIED: dict[str, tuple[tuple, list[Event]]] = {}  # path -> (key and newest head, its verified events)


class LedgerReader:
    """The read side of :class:`~guard.ledger.store.Ledger`: events, verified events and the extent check.

    It reads through the connection the ledger opened (``_conn``) and names the ledger's
    ``home``, ``path``, ``public_key_hex`` and ``key_id`` in what it raises; the ledger sets
    them when it opens.
    """

    home: Home
    path: Path
    public_key_hex: str
    key_id: str
    _conn: sqlite3.Connection

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
