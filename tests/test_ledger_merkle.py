"""RFC 6962 hashing, roots and proofs: against a direct recursive definition, and bad proofs rejected."""

from __future__ import annotations

import hashlib

import pytest

from guard.errors import ParameterError
from guard.ledger import merkle


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written straight from the definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"event {i}".encode()) for i in range(n)]


def test_leaf_and_node_hash_domain_separation() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert merkle.leaf_hash(b"x") != hashlib.sha256(b"x").digest()


def test_known_vector_empty_tree() -> None:
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100])
def test_frontier_root_matches_definition_at_every_size(n: int) -> None:
    ls = leaves(n)
    f = merkle.Frontier()
    for i, h in enumerate(ls, 1):
        f.push(h)
        assert f.root() == mth(ls[:i])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 33])
def test_inclusion_proofs_verify_and_reject_tampering(n: int) -> None:
    ls = leaves(n)
    r = mth(ls)
    for i in range(n):
        proof = merkle.inclusion_proof(i, ls)
        assert merkle.verify_inclusion(ls[i], i, n, proof, r)
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), i, n, proof, r)
        if proof:
            bad = [bytes(32)] + proof[1:]
            assert not merkle.verify_inclusion(ls[i], i, n, bad, r)


@pytest.mark.parametrize("n", [2, 3, 4, 7, 8, 9, 20])
def test_consistency_proofs_verify_and_reject_forks(n: int) -> None:
    ls = leaves(n)
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(m, ls)
        assert merkle.verify_consistency(m, mth(ls[:m]), n, mth(ls), proof)
        if m < n:
            forked = ls[: m - 1] + [merkle.leaf_hash(b"rewritten")] + ls[m:]
            assert not merkle.verify_consistency(m, mth(ls[:m]), n, mth(forked), proof)
            assert not merkle.verify_consistency(m, mth(ls[:m]), n, mth(ls), [])


@pytest.mark.parametrize(("call", "match"), [
    (lambda: merkle.inclusion_proof(3, leaves(3)), "index"),
    (lambda: merkle.inclusion_proof(-1, leaves(3)), "index"),
    (lambda: merkle.consistency_proof(4, leaves(3)), "old_size"),
    (lambda: merkle.Frontier(3, [bytes(32)]), "needs 2 hashes"),
])
def test_bad_arguments_raise(call, match: str) -> None:  # noqa: ANN001
    with pytest.raises(ParameterError, match=match):
        call()


def test_verify_rejects_out_of_range_sizes() -> None:
    ls = leaves(4)
    assert not merkle.verify_inclusion(ls[0], 5, 4, [], mth(ls))
    assert not merkle.verify_consistency(5, mth(ls), 4, mth(ls), [])
