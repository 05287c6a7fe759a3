"""The audit: recompute the Merkle tree, check every signature and tree head, and check meaning.

Integrity failures (kind): ``public-key-mismatch`` (the log's key is not the home's signing key,
or not the key the auditor expected), ``malformed-event`` (a stored value of the
wrong type, text that is not UTF-8 or not an event), ``malformed-tree-head``, ``sequence-gap``,
``event-mismatch`` (a column disagrees with the signed canonical text), ``leaf-hash-mismatch``,
``tree-head-mismatch`` (a signed root differs from the recomputed one), ``bad-signature``,
``missing-tree-head``, ``unsigned-events`` (events after the last signed head),
``truncated`` (a signed head or a checkpoint covers events that are gone, or a bundle holds none),
``frontier-mismatch``, ``bad-checkpoint``, ``missing-checkpoint``. Meaning failures are listed in
:mod:`guard.ledger.meaning`. A failure that follows from an earlier one (every tree head after
an edited event) names it as its ``cause``. What is not wrong but worth knowing (a statement
file in a home's ``consents/`` that no consent refers to) is a note (``AuditReport.notes``),
not a failure. ``AuditReport.checked`` always holds every key of :data:`CHECKED_KEYS`.

The same checks run on a home (:func:`audit_home`) or on an exported bundle
(:func:`audit_bundle`), which needs no private key. Either can also be held to a checkpoint
exported earlier, which catches a log rolled back or rewritten since, and to a public key
published elsewhere, which catches a bundle rewritten and signed again with another key; every
report names the key it verified against (``AuditReport.key_id``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from guard.errors import GuardError, LedgerError, ParameterError
from guard.home import Home
from guard.ledger.canon import key_id, load_public_key, public_key_hex
from guard.ledger.heads import TreeHead, load_head_file
from guard.ledger.meaning import check_meaning
from guard.ledger.report import CHECKED_KEYS, MAX_FAILURES_PER_KIND, AuditReport, Failure
from guard.ledger.rows import damaged, public_key_problem
from guard.ledger.source import BUNDLE_FILES, LogData, export_bundle, read_bundle, read_home
from guard.ledger.structure import Trail, check_events, check_heads, check_tail, check_times_after

__all__ = ["CHECKED_KEYS", "MAX_FAILURES_PER_KIND", "BUNDLE_FILES", "AuditReport", "Failure", "LogData", "audit_bundle",
           "audit_data", "audit_home", "bad_signatures", "bundle_public_key_id", "export_bundle", "load_pinned",
           "parse_key_id"]

PARALLEL_MIN_SIGNATURES = 20_000


def _verify_chunk(public_hex: str, items: list[tuple[int, bytes, str]]) -> list[int]:
    key = load_public_key(public_hex)
    bad = []
    for ident, message, signature in items:
        try:
            key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            bad.append(ident)
    return bad


def bad_signatures(public_hex: str, items: list[tuple[int, bytes, str]]) -> list[int]:
    """Ids of the (id, message, signature hex) items whose Ed25519 signature fails.

    Signature checks are most of an audit's time, so long logs are split over the CPUs.
    """
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(items) < PARALLEL_MIN_SIGNATURES:
        return _verify_chunk(public_hex, items)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    step = -(-len(items) // workers)
    chunks = [items[i:i + step] for i in range(0, len(items), step)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        return sorted(i for bad in pool.map(_verify_chunk, [public_hex] * len(chunks), chunks) for i in bad)


def load_pinned(path: Path) -> TreeHead:
    """A checkpoint exported earlier (``checkpoint.json`` of a bundle, or a copy of ``ledger.head.json``).

    Raises
    ------
    LedgerError
        When the file is missing or is not a tree head; the message names it and what to pass.
    """
    try:
        return load_head_file(path)
    except LedgerError as exc:
        raise LedgerError(f"{exc}; pass the checkpoint.json that `voiceguard audit --export DIR` wrote") from None


def parse_key_id(text: str) -> str:
    """The key id of a key named by its key id (16 hex digits) or its Ed25519 public key (64 hex digits).

    Raises
    ------
    ParameterError
        When ``text`` is neither.
    """
    value = str(text).strip().lower()
    if len(value) not in (16, 64) or any(c not in "0123456789abcdef" for c in value):
        raise ParameterError(f"a key must be a key id (16 hex digits) or an Ed25519 public key (64 hex digits), "
                             f"given {text!r}")
    return key_id(value) if len(value) == 64 else value


def audit_data(data: LogData, *, pinned: tuple[str, TreeHead] | None = None,
               report: AuditReport | None = None, expected_key: str | None = None) -> AuditReport:
    """Run every check on ``data``.

    Parameters
    ----------
    pinned : (str, TreeHead), optional
        (name, head) of a checkpoint the log must still extend.
    expected_key : str, optional
        The key (a key id or public key hex, see :func:`parse_key_id`) the log must be signed with.
    """
    report = report if report is not None else AuditReport()
    report.key_id = key_id(data.public_key)
    if expected_key is not None:
        expected = parse_key_id(expected_key)
        report.checked["public_key"] += 1
        if report.key_id != expected:
            report.fail("public-key-mismatch", "public_key",
                        f"the log is signed by key {report.key_id}, not the expected key {expected}")
    trail = Trail()
    heads = check_heads(data.heads, data.public_key, report, trail, bad_signatures)
    wanted = {h.tree_size for h in (data.checkpoint, pinned[1] if pinned else None) if h is not None}
    events = check_events(data.events, heads, report, trail, wanted)
    check_tail(data, heads, trail, report, pinned)
    if pinned is not None:
        check_times_after(report, "pinned checkpoint", pinned[1], events)
    check_meaning(events, data.public_key, report, files=data.files_root, home=data.home)
    if trail.other_key is not None:  # the log was signed with another key: no consent verifies either
        report.demote({"bad-consent-signature"}, trail.other_key)
    return report


def audit_home(home: Home, *, checkpoint: Path | None = None, expected_key: str | None = None) -> AuditReport:
    """Audit a home's ledger: its public key must be that of the home's signing key.

    A copy of a home without its private keys (an auditor's) is audited against
    ``expected_key`` instead; without either the audit fails with ``public-key-mismatch``.

    Parameters
    ----------
    checkpoint : Path, optional
        A checkpoint exported earlier: the log must still begin with the events it signed.
    expected_key : str, optional
        A key id or public key hex (see :func:`parse_key_id`) the log must also be signed with.
    """
    pinned = (str(checkpoint), load_pinned(checkpoint)) if checkpoint is not None else None
    data, stored_key = read_home(home)
    report = AuditReport()
    try:
        expected = public_key_hex(home.public_key())
    except (GuardError, OSError) as exc:
        expected = None
        if expected_key is None:  # with a pinned key, an auditor's copy of a home needs no private key
            report.fail("public-key-mismatch", "keys", f"the home's signing key cannot be read: {exc}; to audit a "
                        f"copy of a home without its keys, pass --public-key with the key id published for this log")
    key_failure = None
    problem = public_key_problem(stored_key)
    if problem:
        if expected is None:
            raise damaged(home.ledger_path, f"{problem}, and the home's signing key cannot be read either")
        key_failure = report.fail("public-key-mismatch", "meta", f"the ledger is damaged: {problem}; "
                                  f"checked with the home's signing key {key_id(expected)} instead")
        data = replace(data, public_key=expected)
    elif expected is not None:
        report.checked["public_key"] += 1
        if expected != data.public_key:
            key_failure = report.fail("public-key-mismatch", "meta", f"the ledger's public key "
                                      f"{key_id(data.public_key)} is not the home's signing key {key_id(expected)}")
    audit_data(data, pinned=pinned, report=report, expected_key=expected_key)
    if key_failure is not None:  # every signature check then fails for that one reason
        report.demote({"bad-signature", "bad-consent-signature"}, key_failure)
    return report


def audit_bundle(folder: Path, *, check_files: bool = False, checkpoint: Path | None = None,
                 expected_key: str | None = None) -> AuditReport:
    """Audit an exported bundle (no private key needed); files are checked only if asked.

    The bundle carries its own public key, so a bundle rewritten and signed again with another
    key passes every signature check: compare the report's ``key_id`` with the one published
    for the log, or pass it as ``expected_key``.
    """
    pinned = (str(checkpoint), load_pinned(checkpoint)) if checkpoint is not None else None
    return audit_data(read_bundle(folder, check_files=check_files), pinned=pinned, expected_key=expected_key)


def bundle_public_key_id(folder: Path) -> str:
    """The key id of a bundle's public key (to compare with one published elsewhere)."""
    return key_id(read_bundle(folder).public_key)
