"""The audit: recompute the Merkle tree, check every signature and tree head, and check meaning.

Integrity failures (kind): ``public-key-mismatch``, ``malformed-event``, ``sequence-gap``,
``event-mismatch`` (a column disagrees with the signed canonical text), ``leaf-hash-mismatch``,
``tree-head-mismatch`` (a signed root differs from the recomputed one), ``bad-signature``,
``missing-tree-head``, ``unsigned-events`` (events after the last signed head),
``truncated`` (a signed head or the checkpoint covers events that are gone),
``frontier-mismatch``, ``bad-checkpoint``. Meaning failures: ``bad-consent-signature``, ``duplicate-consent``,
``unknown-consent``, ``consent-scope`` (wrong voice or purpose), ``consent-not-valid``
(expired or not yet valid at the event's time), ``after-revocation``, ``duplicate-payload``,
``file-hash-mismatch``.

The same checks run on a home (:func:`audit_home`) or on an exported bundle
(:func:`audit_bundle`), which needs no private key.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from guard.digest import sha256_file
from guard.errors import GuardError, LedgerError
from guard.home import Home
from guard.ledger import merkle
from guard.ledger.canon import canonical_json, key_id, load_public_key, parse_time, public_key_hex
from guard.ledger.store import Ledger, TreeHead, read_checkpoint

MAX_FAILURES_PER_KIND = 100
PARALLEL_MIN_SIGNATURES = 20_000


@dataclass(frozen=True)
class Failure:
    kind: str
    id: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "detail": self.detail}


@dataclass
class AuditReport:
    """``ok`` when nothing failed; ``checked`` counts what was checked."""

    checked: dict[str, int] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    _per_kind: Counter = field(default_factory=Counter, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, kind: str, ident: object, detail: str) -> None:
        self._per_kind[kind] += 1
        if self._per_kind[kind] <= MAX_FAILURES_PER_KIND:
            self.failures.append(Failure(kind, str(ident), detail))

    def kinds(self) -> set[str]:
        return {f.kind for f in self.failures}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": dict(self.checked), "failures": [f.to_dict() for f in self.failures],
                "failure_counts": dict(self._per_kind)}


@dataclass(frozen=True)
class LogData:
    """Everything the audit reads, as stored: from a database or from a bundle."""

    events: Sequence[tuple]  # (seq, kind, time, canonical, leaf_hash)
    heads: Sequence[tuple]  # (tree_size, root_hash, timestamp, key_id, signature)
    public_key: str  # hex
    frontier: str | None = None
    checkpoint: TreeHead | None = None
    files_root: bool = True  # check stored hashes against files that exist


def _check_structure(data: LogData, report: AuditReport) -> list[dict | None]:
    """Recompute leaves and roots; check heads, signatures, sequence. Returns parsed events."""
    key = load_public_key(data.public_key)
    kid = key_id(data.public_key)
    heads: dict[int, TreeHead] = {}
    to_verify: list[tuple[int, bytes, str]] = []
    for row in data.heads:
        head = TreeHead(*row)
        report.checked["tree_heads"] += 1
        if head.key_id != kid:
            report.fail("bad-signature", f"head {head.tree_size}", f"signed by key {head.key_id}, not {kid}")
        else:
            to_verify.append((head.tree_size, head.message(), head.signature))
        if head.tree_size in heads:
            report.fail("tree-head-mismatch", f"head {head.tree_size}", "two heads for one tree size")
        heads[head.tree_size] = head
    for size in bad_signatures(data.public_key, to_verify):
        report.fail("bad-signature", f"head {size}", "tree head signature does not verify")
    frontier = merkle.Frontier()
    parsed: list[dict | None] = []
    for i, (seq, kind, time, text, leaf) in enumerate(data.events):
        report.checked["events"] += 1
        if seq != i:
            report.fail("sequence-gap", f"event {seq}", f"found at position {i}: events were deleted, inserted or reordered")
        try:
            event = json.loads(text)
            if not isinstance(event, dict) or not isinstance(event.get("body"), dict):
                raise ValueError("not an event object")
        except ValueError as exc:
            report.fail("malformed-event", f"event {seq}", f"canonical text is not an event: {exc}")
            event = None
        if event is not None:
            if (event.get("seq"), event.get("kind"), event.get("time")) != (seq, kind, time):
                report.fail("event-mismatch", f"event {seq}",
                            f"stored columns (seq={seq}, kind={kind}) differ from the signed text "
                            f"(seq={event.get('seq')}, kind={event.get('kind')})")
            elif canonical_json(event) != text:
                report.fail("malformed-event", f"event {seq}", "text is not in canonical form")
        h = merkle.leaf_hash(text.encode())
        if h.hex() != leaf:
            report.fail("leaf-hash-mismatch", f"event {seq}", "stored leaf hash differs from the hash of its text")
        frontier.push(h)
        parsed.append(event)
        head = heads.get(frontier.size)
        if head is not None and head.root_hash != frontier.root().hex():
            report.fail("tree-head-mismatch", f"head {frontier.size}",
                        f"signed root {head.root_hash[:16]}... differs from the recomputed root "
                        f"{frontier.root().hex()[:16]}...: an event up to {frontier.size - 1} was changed")
    n = frontier.size
    for size in sorted(s for s in heads if s > n):
        report.fail("truncated", f"head {size}", f"a signed tree head covers {size} events but only {n} are present")
    if n and n not in heads:
        last = max((s for s in heads if s <= n), default=0)
        report.fail("unsigned-events", f"events {last}-{n - 1}", f"{n - last} event(s) after the last signed tree head")
    missing = [s for s in range(1, n) if s not in heads]
    if missing:
        report.fail("missing-tree-head", f"heads {missing[0]}..{missing[-1]}",
                    f"{len(missing)} tree head(s) deleted (every append signs one)")
    cp = data.checkpoint
    if cp is not None:
        report.checked["checkpoint"] += 1
        try:
            key.verify(bytes.fromhex(cp.signature), cp.message())
        except (InvalidSignature, ValueError):
            report.fail("bad-signature", "checkpoint", "the checkpoint head's signature does not verify")
        if cp.tree_size > n:
            report.fail("truncated", "checkpoint",
                        f"the checkpoint head covers {cp.tree_size} events but only {n} are present")
        elif cp.tree_size in heads and heads[cp.tree_size].root_hash != cp.root_hash:
            report.fail("tree-head-mismatch", "checkpoint", f"the checkpoint root for size {cp.tree_size} "
                        f"differs from the database's head")
    if data.frontier is not None:
        size, hashes = json.loads(data.frontier)
        if size != n or hashes != [h.hex() for h in frontier.hashes]:
            report.fail("frontier-mismatch", "meta", f"stored tree state (size {size}) differs from the recomputed one")
    return parsed


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


def _check_file(report: AuditReport, ident: str, path: object, digest: object, files: bool) -> None:
    if not files or not path:
        return
    p = Path(str(path))
    if not p.is_file():
        report.checked["files_missing"] += 1
        return
    report.checked["files"] += 1
    if sha256_file(p) != digest:
        report.fail("file-hash-mismatch", ident, f"{p} no longer matches the SHA-256 stored in the ledger")


def _check_meaning(events: list[dict | None], data: LogData, report: AuditReport) -> None:
    from guard.consent.record import Consent

    key = load_public_key(data.public_key)
    consents: dict[str, Consent] = {}
    revoked: dict[str, Any] = {}
    payloads: dict[str, str] = {}
    for event in events:
        if event is None:
            continue
        kind, body, seq = event.get("kind"), event["body"], event.get("seq")
        try:
            t = parse_time(str(event.get("time")))
        except ValueError:
            report.fail("malformed-event", f"event {seq}", f"bad time {event.get('time')!r}")
            continue
        ident = f"event {seq}"
        if kind == "consent.granted":
            report.checked["consents"] += 1
            try:
                record = Consent.from_dict(body)
                key.verify(bytes.fromhex(record.signature), record.message())
            except (GuardError, InvalidSignature, ValueError) as exc:
                report.fail("bad-consent-signature", f"{ident} ({body.get('consent_id')})",
                            f"consent record does not verify: {type(exc).__name__}")
                continue
            if record.consent_id in consents:
                report.fail("duplicate-consent", ident, f"consent {record.consent_id} granted twice")
            consents[record.consent_id] = record
            ev = record.evidence
            if ev.get("kind") == "statement":
                _check_file(report, f"{ident} ({record.consent_id})", ev.get("file"), ev.get("sha256"), data.files_root)
        elif kind == "consent.revoked":
            report.checked["revocations"] += 1
            cid = body.get("consent_id")
            if cid not in consents:
                report.fail("unknown-consent", ident, f"revokes consent {cid!r}, which was never granted before it")
            elif cid not in revoked:
                revoked[cid] = t
        elif kind in ("clip.generated", "voice.enrolled"):
            report.checked["clips" if kind == "clip.generated" else "enrollments"] += 1
            cid, vid = body.get("consent_id"), body.get("voice_id")
            what = f"{ident} ({kind} {body.get('record_id', vid)})"
            record = consents.get(cid)
            if record is None:
                report.fail("unknown-consent", what, f"cites consent {cid!r}, which was never granted before it")
                continue
            if record.voice_id != vid:
                report.fail("consent-scope", what, f"voice {vid!r} is not the consent's voice {record.voice_id!r}")
            purpose = body.get("purpose")
            if purpose is not None and purpose not in record.purposes:
                report.fail("consent-scope", what, f"purpose {purpose!r} is outside consent {cid} "
                            f"({', '.join(record.purposes)})")
            if cid in revoked and t >= revoked[cid]:
                report.fail("after-revocation", what, f"made after consent {cid} was revoked at {revoked[cid].isoformat()}")
            else:
                status = record.status(t)
                if status != "valid":
                    report.fail("consent-not-valid", what, f"consent {cid} was {status} at {t.isoformat()}")
            if kind == "clip.generated":
                payload = str(body.get("payload"))
                if payload in payloads:
                    report.fail("duplicate-payload", what, f"payload {payload} already used by {payloads[payload]}")
                payloads[payload] = what
                _check_file(report, what, body.get("audio_path"), body.get("audio_sha256"), data.files_root)
            else:
                _check_file(report, what, body.get("model_path"), body.get("model_sha256"), data.files_root)


def audit_data(data: LogData) -> AuditReport:
    """Run every check on ``data``."""
    report = AuditReport()
    events = _check_structure(data, report)
    _check_meaning(events, data, report)
    return report


def _read_home(home: Home) -> tuple[LogData, str | None]:
    """The stored log, and why the checkpoint could not be read (None when it could)."""
    with Ledger(home) as led:
        events, heads, meta = led.raw_rows()
    try:
        checkpoint, problem = read_checkpoint(home), None
    except LedgerError as exc:
        checkpoint, problem = None, str(exc)
    return LogData(events, heads, meta["public_key"], meta.get("frontier"), checkpoint), problem


def audit_home(home: Home) -> AuditReport:
    """Audit a home's ledger: its public key must be that of the home's signing key."""
    data, problem = _read_home(home)
    report = audit_data(data)
    if problem:
        report.fail("bad-checkpoint", "checkpoint", problem)
    try:
        expected = public_key_hex(home.public_key())
    except GuardError as exc:
        report.fail("public-key-mismatch", "keys", f"the home's signing key cannot be read: {exc}")
        return report
    report.checked["public_key"] += 1
    if expected != data.public_key:
        report.fail("public-key-mismatch", "meta",
                    f"the ledger's public key {key_id(data.public_key)} is not the home's signing key {key_id(expected)}")
    return report


BUNDLE_FILES = ("events.jsonl", "tree_heads.jsonl", "public_key.txt")


def export_bundle(home: Home, out: Path) -> list[Path]:
    """Write ``events.jsonl``, ``tree_heads.jsonl``, ``public_key.txt`` and ``checkpoint.json`` to ``out``."""
    data, _ = _read_home(home)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in BUNDLE_FILES]
    with open(paths[0], "w", encoding="utf-8") as fh:
        for seq, kind, time, text, leaf in data.events:
            fh.write(json.dumps({"seq": seq, "kind": kind, "time": time, "canonical": text, "leaf_hash": leaf},
                                ensure_ascii=False) + "\n")
    with open(paths[1], "w", encoding="utf-8") as fh:
        for row in data.heads:
            fh.write(json.dumps(TreeHead(*row).to_dict()) + "\n")
    paths[2].write_text(data.public_key + "\n")
    if data.checkpoint is not None:
        paths.append(out / "checkpoint.json")
        paths[-1].write_text(json.dumps(data.checkpoint.to_dict()) + "\n")
    return paths


def _jsonl(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        raise LedgerError(f"bundle file {path} is missing; a bundle holds {', '.join(BUNDLE_FILES)}") from None
    except ValueError as exc:
        raise LedgerError(f"bundle file {path} is not JSON lines: {exc}") from None


def audit_bundle(folder: Path, *, check_files: bool = False) -> AuditReport:
    """Audit an exported bundle (no private key needed); files are checked only if asked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LedgerError(f"bundle {folder} is not a folder; make one with `voiceguard audit --export DIR`")
    try:
        events = [(int(e["seq"]), str(e["kind"]), str(e["time"]), str(e["canonical"]), str(e["leaf_hash"]))
                  for e in _jsonl(folder / "events.jsonl")]
        heads = [tuple(TreeHead.from_dict(h).to_dict().values()) for h in _jsonl(folder / "tree_heads.jsonl")]
    except (KeyError, TypeError, ValueError) as exc:
        raise LedgerError(f"bundle {folder} has a malformed row: {exc}") from None
    try:
        public = (folder / "public_key.txt").read_text().strip()
    except FileNotFoundError:
        raise LedgerError(f"bundle {folder} has no public_key.txt") from None
    cp_path = folder / "checkpoint.json"
    checkpoint = TreeHead.from_dict(json.loads(cp_path.read_text())) if cp_path.is_file() else None
    return audit_data(LogData(events, heads, public, None, checkpoint, files_root=check_files))


def bundle_public_key_id(folder: Path) -> str:
    """The key id of a bundle's public key (to compare with one published elsewhere)."""
    return key_id((Path(folder) / "public_key.txt").read_text().strip())

