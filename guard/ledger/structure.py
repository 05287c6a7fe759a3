"""The audit's integrity checks: stored rows, leaf hashes, the recomputed tree against every signed head.

Every stored value is checked for its type before it is used, so a damaged row is a named
failure, never an exception. The first finding that changes the recomputed tree (an edited,
deleted or inserted event) is the cause; the tree heads it breaks after it are recorded as
its consequences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from guard.errors import LedgerError
from guard.ledger import merkle
from guard.ledger.canon import canonical_json, key_id, load_public_key, parse_time
from guard.ledger.heads import TreeHead
from guard.ledger.report import AuditReport, Failure
from guard.ledger.rows import (
    column_problems,
    describe,
    head_problem,
    is_hex,
    is_int,
    parse_event,
    parse_frontier,
)


@dataclass
class Trail:
    """What the pass over the events leaves for the checks after it."""

    frontier: merkle.Frontier = field(default_factory=merkle.Frontier)
    roots: dict[int, str] = field(default_factory=dict)  # recomputed roots at the sizes asked for
    lead: Failure | None = None  # the first finding that changes the recomputed tree
    gap: tuple[int, Failure] | None = None  # (seq - position, the finding) of the latest sequence gap
    malformed_heads: set[int] = field(default_factory=set)  # sizes of stored heads that are malformed
    other_key: Failure | None = None  # the first head signed by a key that is not the log's
    cut: Failure | None = None  # the first signed head that covers events no longer there

    def shortfall_cause(self, missing: int) -> Failure | None:
        """The sequence gap that accounts for ``missing`` events fewer than a head covers, if one does."""
        return self.gap[1] if self.gap is not None and self.gap[0] == missing else None


def check_heads(rows: Sequence[tuple], public_key: str, report: AuditReport, trail: Trail,
                verify: Callable[[str, list[tuple[int, bytes, str]]], list[int]]) -> dict[int, TreeHead]:
    """Check each stored tree head's form, key and signature; returns the well-formed heads by size."""
    kid = key_id(public_key)
    heads: dict[int, TreeHead] = {}
    to_verify: list[tuple[int, bytes, str]] = []
    for row in rows:
        report.checked["tree_heads"] += 1
        problem = head_problem(tuple(row))
        if problem:
            if len(row) and is_int(row[0]):
                trail.malformed_heads.add(row[0])
            report.fail("malformed-tree-head", f"head {describe(row[0] if len(row) else None)}",
                        f"stored tree head is malformed: {problem}")
            continue
        head = TreeHead(*row)
        if head.key_id != kid:
            found = report.fail("bad-signature", f"head {head.tree_size}", f"signed by key {head.key_id}, not {kid}",
                                cause=trail.other_key)
            trail.other_key = trail.other_key or found
        else:
            to_verify.append((head.tree_size, head.message(), head.signature))
        if head.tree_size in heads:
            report.fail("tree-head-mismatch", f"head {head.tree_size}", "two heads for one tree size")
        heads[head.tree_size] = head
    first: Failure | None = None
    for size in verify(public_key, to_verify):
        found = report.fail("bad-signature", f"head {size}", "tree head signature does not verify", cause=first)
        first = first or found
    return heads


def _columns_differ(row: tuple, event: dict[str, Any]) -> list[str]:
    """``time is '...' in its column but '...' in the signed text`` for each column that differs."""
    return [f"{name} is {stored!r} in its column but {event.get(name)!r} in the signed text"
            for name, stored in zip(("seq", "kind", "time"), row[:3]) if stored != event.get(name)]


def _check_event(i: int, row: tuple, report: AuditReport, trail: Trail) -> dict[str, Any] | None:
    """Check one stored event row and push its leaf; returns its parsed event (None when unreadable).

    The first finding about a row is reported as a cause; later findings about the same row follow from it.
    """
    seq, kind, time, text, leaf = row
    name = f"event {seq}" if is_int(seq) else f"event at position {i}"
    name = f"{name} ({kind})" if isinstance(kind, str) else name
    own: list[Failure] = []

    def fail(what: str, detail: str, *, cause: Failure | None = None, moves_tree: bool = True) -> None:
        found = report.fail(what, name, detail, cause=cause or (own[0] if own else None))
        own.append(found)
        if moves_tree and trail.lead is None:
            trail.lead = found

    problems = column_problems(row)
    if problems:
        fail("malformed-event", "; ".join(problems))
    if is_int(seq) and seq != i:
        offset = seq - i  # one deletion or insertion shifts every later row by the same offset
        fail("sequence-gap", f"found at position {i}: events were deleted, inserted or reordered",
             cause=trail.gap[1] if trail.gap and trail.gap[0] == offset else None)
        if not trail.gap or trail.gap[0] != offset:
            trail.gap = (offset, own[-1])
    event = None
    if isinstance(text, str):
        try:
            event = parse_event(text)
            differ = _columns_differ(row, event)
            if differ:
                fail("event-mismatch", "; ".join(differ), moves_tree=False)
            elif canonical_json(event) != text:
                fail("malformed-event", "its text is not in canonical form")
        except (ValueError, LedgerError) as exc:
            fail("malformed-event", str(exc))
            event = None
    raw = text.encode() if isinstance(text, str) else bytes(text) if isinstance(text, bytes) else str(text).encode()
    h = merkle.leaf_hash(raw)
    if is_hex(leaf, 64) and h.hex() != leaf:
        fail("leaf-hash-mismatch", "changed after it was logged: its stored leaf hash differs from the hash of "
             "its text")
    trail.frontier.push(h)
    return event


def check_events(rows: Sequence[tuple], heads: dict[int, TreeHead], report: AuditReport, trail: Trail,
                 wanted: set[int]) -> list[dict[str, Any] | None]:
    """Check every event row and compare the recomputed root with each signed head as the tree grows."""
    parsed: list[dict[str, Any] | None] = []
    labels: list[str] = []
    last_good = 0
    latest: tuple[datetime, str] | None = None  # the newest event time so far, and whose
    for i, row in enumerate(rows):
        report.checked["events"] += 1
        row = tuple(row)
        parsed.append(_check_event(i, row, report, trail))
        labels.append(f"event {row[0]} ({row[1]})" if is_int(row[0]) and isinstance(row[1], str) else f"event {i}")
        when = _event_time(parsed[-1])
        if when is not None:
            if latest is not None and when < latest[0]:
                report.fail("time-order", labels[-1], f"dated {when.isoformat()}, before {latest[1]} "
                            f"({latest[0].isoformat()}): an event was backdated, or the clock stepped back")
            else:
                latest = (when, labels[-1])
        size = trail.frontier.size
        root = trail.frontier.root().hex()
        if size in wanted:
            trail.roots[size] = root
        head = heads.get(size)
        if head is None:
            continue
        if head.root_hash == root:
            last_good = size
            continue
        signed = f"head {size}'s signed root {head.root_hash[:16]}... differs from the recomputed {root[:16]}..."
        if trail.lead is not None:
            report.fail("tree-head-mismatch", f"head {size}", signed, cause=trail.lead)
        elif size - 1 == last_good:
            trail.lead = report.fail("tree-head-mismatch", f"head {size}",
                                     f"{labels[last_good]} was changed after head {last_good} was signed: {signed}")
        else:
            trail.lead = report.fail("tree-head-mismatch", f"head {size}",
                                     f"one of events {last_good}..{size - 1} was changed after head {last_good} was "
                                     f"signed: {signed}")
    return parsed


def _event_time(event: dict[str, Any] | None) -> datetime | None:
    """The time an event's signed text gives, or None when it has none that parses (reported elsewhere)."""
    try:
        return parse_time(event["time"]) if event is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def check_times_after(report: AuditReport, ident: str, cp: TreeHead, events: Sequence[dict[str, Any] | None]) -> None:
    """Events a checkpoint did not cover must not be dated before it was signed (backdated into its past)."""
    try:
        signed = parse_time(cp.timestamp)
    except ValueError:
        return
    for event in events[cp.tree_size:]:
        when = _event_time(event)
        if when is not None and when < signed:
            report.fail("time-order", f"event {event.get('seq')} ({event.get('kind')})",
                        f"dated {when.isoformat()}, before the {ident} it follows was signed ({cp.timestamp}): "
                        f"it was backdated")


def check_checkpoint(report: AuditReport, ident: str, path: str, cp: TreeHead, public_key: str, n: int,
                     trail: Trail) -> None:
    """A checkpoint must be signed by the log's key, and the log's first ``cp.tree_size`` events must hash to its root."""
    report.checked[ident] += 1
    kid = key_id(public_key)
    if cp.key_id != kid:
        report.fail("bad-signature", ident, f"{path} is signed by key {cp.key_id}, not this log's key {kid}",
                    cause=trail.other_key if ident == "checkpoint" else None)
        return
    try:
        load_public_key(public_key).verify(bytes.fromhex(cp.signature), cp.message())
    except (InvalidSignature, ValueError):
        report.fail("bad-signature", ident, f"the signature in {path} does not verify")
        return
    if cp.tree_size > n:
        report.fail("truncated", ident, f"{path} (signed {cp.timestamp}) covers {cp.tree_size} events but the log "
                    f"holds only {n}: the log was cut short or rolled back",
                    cause=trail.shortfall_cause(cp.tree_size - n) or trail.cut)
    elif trail.roots.get(cp.tree_size) != cp.root_hash:
        report.fail("tree-head-mismatch", ident, f"the log's first {cp.tree_size} events do not hash to the root "
                    f"signed in {path} ({cp.timestamp}): the log was rewritten", cause=trail.lead)


def check_tail(data: Any, heads: dict[int, TreeHead], trail: Trail, report: AuditReport,
               pinned: tuple[str, TreeHead] | None) -> None:
    """After the events: heads beyond the log, unsigned or unheaded events, checkpoints, the stored tree state."""
    n = trail.frontier.size
    beyond = sorted(s for s in heads if s > n)
    first = trail.shortfall_cause(beyond[-1] - n) if beyond else None
    for size in beyond:
        found = report.fail("truncated", f"head {size}", f"a signed tree head covers {size} events but only {n} are "
                            f"present: events {n}..{size - 1} were deleted", cause=first)
        first = first or found
    trail.cut = first
    present = set(heads) | trail.malformed_heads
    if n and n not in present:
        last = max((s for s in present if s <= n), default=0)
        report.fail("unsigned-events", f"events {last}-{n - 1}", f"{n - last} event(s) after the last signed tree head")
    missing = [s for s in range(1, n) if s not in present]
    if missing:
        report.fail("missing-tree-head", f"heads {missing[0]}..{missing[-1]}",
                    f"{len(missing)} tree head(s) deleted (every append signs one)")
    if data.is_bundle and n == 0:
        report.fail("truncated", "bundle", "the bundle holds no events; export it again with "
                    "`voiceguard audit --export DIR` from the home")
    if data.checkpoint_problem:
        report.fail("bad-checkpoint", "checkpoint", f"{data.checkpoint_problem}; restore it from a backup")
    elif data.checkpoint is not None:
        check_checkpoint(report, "checkpoint", data.checkpoint_name, data.checkpoint, data.public_key, n, trail)
    elif n:
        fix = ("export the bundle again with `voiceguard audit --export DIR`" if data.is_bundle else
               "restore it from a backup, or check the log against a checkpoint exported earlier with "
               "`voiceguard audit --checkpoint FILE`")
        report.fail("missing-checkpoint", "checkpoint", f"{data.checkpoint_name} is missing or empty but the log holds {n} "
                    f"events, so an end cut off the log would go unseen; {fix}")
    if pinned is not None:
        check_checkpoint(report, "pinned checkpoint", pinned[0], pinned[1], data.public_key, n, trail)
    if data.has_frontier:
        try:
            stored = parse_frontier(data.frontier)
        except ValueError as exc:
            report.fail("frontier-mismatch", "meta", f"the ledger is damaged: {exc}")
            return
        if stored.size != n or stored.hashes != trail.frontier.hashes:
            report.fail("frontier-mismatch", "meta", f"the stored tree state (size {stored.size}) differs from the "
                        f"one recomputed from the {n} events", cause=trail.lead or trail.cut)
