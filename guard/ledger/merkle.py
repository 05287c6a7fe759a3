"""RFC 6962 Merkle tree hashing: leaf and node hashes, roots, inclusion and consistency proofs.

The hashing is that of Certificate Transparency (RFC 6962 section 2.1): a leaf is
``SHA-256(0x00 || data)``, an inner node ``SHA-256(0x01 || left || right)``, the empty tree
``SHA-256("")``, and a tree of ``n > 1`` leaves splits at the largest power of two below
``n``. Proof verification follows RFC 9162 section 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from guard.errors import ParameterError

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: ``SHA-256(0x00 || data)``, 32 bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an inner node: ``SHA-256(0x01 || left || right)``, 32 bytes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of leaf hashes ``leaves`` (already hashed with :func:`leaf_hash`)."""
    frontier = Frontier()
    for h in leaves:
        frontier.push(h)
    return frontier.root()


class Frontier:
    """The compact range of a growing tree: the roots of its perfect subtrees, largest first.

    Appending a leaf costs O(log n) amortised O(1) hashes and the root O(log n), so a
    verifier can recompute the root after every leaf of a long log in one pass.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or bin(size).count("1") != len(hashes):
            raise ParameterError(f"a frontier of size={size} needs {bin(max(size, 0)).count('1')} hashes, "
                                 f"given {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def push(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        h = leaf
        n = self.size
        while n & 1:  # merge equal-sized perfect subtrees, as a binary counter carries
            h = node_hash(self.hashes.pop(), h)
            n >>= 1
        self.hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        """Root hash of the tree so far (:data:`EMPTY_ROOT` when empty)."""
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree of ``leaves`` (RFC 6962 PATH(m, D[n]))."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ParameterError(f"leaf index must be within [0, {n}), given index={index}")
    return _path(index, list(leaves))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, d[:k]) + [root(d[k:])]
    return _path(m - k, d[k:]) + [root(d[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Proof that the tree of the first ``old_size`` leaves is a prefix of ``leaves`` (PROOF(m, D[n]))."""
    n = len(leaves)
    if not 0 <= old_size <= n:
        raise ParameterError(f"old_size must be within [0, {n}], given old_size={old_size}")
    if old_size in (0, n):
        return []
    return _subproof(old_size, list(leaves), True)


def _subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [root(d)]
    k = _split(n)
    if m <= k:
        return _subproof(m, d[:k], complete) + [root(d[k:])]
    return _subproof(m - k, d[k:], False) + [root(d[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """True when ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``(size, root_hash)``."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(old_size: int, old_root: bytes, new_size: int, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """True when ``proof`` shows tree ``(old_size, old_root)`` is a prefix of ``(new_size, new_root)``."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
