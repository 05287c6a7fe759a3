"""Merkle proofs from a ledger's stored log: leaf hashes recomputed from the events, signed tree heads, proofs."""

from __future__ import annotations

from collections.abc import Iterator

from guard.errors import LedgerError, ParameterError
from guard.ledger import merkle
from guard.ledger.heads import TreeHead
from guard.ledger.reading import LedgerReader
from guard.ledger.rows import column_problems, damaged, describe


class LedgerProofs(LedgerReader):
    """The proofs of :class:`~guard.ledger.store.Ledger`: RFC 6962 inclusion and consistency proofs, and the
    signed tree heads they are checked against, made from leaf hashes recomputed from the stored events."""

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
