"""The audit's findings: named failures, counts of what was checked, and the summary people read.

One change to a Merkle log breaks every tree head after it. The audit records each broken
head (``--json`` lists them), but marks it as a consequence of the first finding, so people
read the cause once and a count of what follows from it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

MAX_FAILURES_PER_KIND = 100
# Every key of ``checked``, in the order people read them; each is present in every report
# (0 when the log holds nothing of that kind), so tools reading ``--json`` need no defaults.
CHECKED_KEYS: tuple[str, ...] = ("public_key", "tree_heads", "events", "checkpoint", "pinned checkpoint", "consents",
                                 "revocations", "enrollments", "clips", "files", "files_missing", "refusals",
                                 "deletions", "marks", "key_rotations", "challenges")

_FOLLOWERS = {
    "tree-head-mismatch": "{n} later tree head(s) no longer match",
    "sequence-gap": "{n} later event(s) are out of place",
    "leaf-hash-mismatch": "its stored leaf hash differs from the hash of its text",
    "bad-signature": "{n} more signature(s) fail the same way",
    "bad-consent-signature": "{n} consent record(s) no longer verify",
    "unknown-consent": "{n} event(s) cite a consent that does not verify",
    "frontier-mismatch": "the stored tree state (meta 'frontier') differs",
    "truncated": "{n} signed head(s) or checkpoint(s) cover the missing event(s)",
}


@dataclass(frozen=True)
class Failure:
    """One finding: ``kind`` (see :mod:`guard.ledger.audit`), what it is about, and why.

    ``cause`` names the finding it follows from (``"kind: id"``), or is None for a cause.
    """

    kind: str
    id: str
    detail: str
    cause: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.id}"

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "id": self.id, "detail": self.detail}
        if self.cause is not None:
            out["consequence_of"] = self.cause
        return out


def _zero_counts() -> Counter:
    return Counter(dict.fromkeys(CHECKED_KEYS, 0))


@dataclass
class AuditReport:
    """``ok`` when nothing failed; ``checked`` counts what was checked; ``notes`` need no action to pass.

    ``checked`` holds every key of :data:`CHECKED_KEYS`, 0 for what the log has none of:
    ``public_key`` (key comparisons made), ``tree_heads``, ``events``, ``checkpoint`` and
    ``pinned checkpoint`` (checkpoints checked), ``consents``, ``revocations``,
    ``enrollments``, ``clips``, ``files`` (files hashed), ``files_missing`` (clips and marked
    files moved away), ``refusals`` (``clone.refused`` events), ``deletions``
    (``voice.deleted`` events), ``marks`` (``audio.marked`` events: audio marked with
    ``voiceguard watermark embed``), ``key_rotations`` (``key.rotated`` events: watermark keys
    added with ``voiceguard watermark rotate-key``) and ``challenges`` (``consent.challenge``
    events: one-time consent codes issued by ``voiceguard consent template``). ``notes`` are findings that do not fail the audit (a
    statement recording in the home that no consent refers to, files of a deleted voice still
    in the home, a clip or marked file changed), with the fields of a :class:`Failure`.
    ``key_id`` names the public key the log was verified against (None until the audit sets it),
    so people can compare it with the key id published for this log.
    """

    checked: dict[str, int] = field(default_factory=_zero_counts)
    failures: list[Failure] = field(default_factory=list)
    notes: list[Failure] = field(default_factory=list)
    key_id: str | None = None
    _per_kind: Counter = field(default_factory=Counter, repr=False)
    _followers: dict[str, Counter] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, kind: str, ident: object, detail: str, *, cause: Failure | str | None = None) -> Failure:
        """Record a failure (the first :data:`MAX_FAILURES_PER_KIND` of a kind are kept; all are counted)."""
        cause_name = cause.name if isinstance(cause, Failure) else cause
        failure = Failure(kind, str(ident), detail, cause_name)
        self._per_kind[kind] += 1
        if cause_name is not None:
            self._followers.setdefault(cause_name, Counter())[kind] += 1
        if self._per_kind[kind] <= MAX_FAILURES_PER_KIND:
            self.failures.append(failure)
        return failure

    def note(self, kind: str, ident: object, detail: str) -> Failure:
        """Record a finding that does not fail the audit."""
        found = Failure(kind, str(ident), detail)
        self.notes.append(found)
        return found

    def counts(self) -> str:
        """``"1 public_key, 7 tree_heads, 7 events, ..."``: what was checked, for people (the kinds seen)."""
        return ", ".join(f"{n} {k}" for k, n in self.checked.items() if n)

    def demote(self, kinds: set[str], cause: Failure) -> None:
        """Mark every failure of ``kinds`` (other than ``cause``), and all that follow from them, as following
        from ``cause``."""
        counts = self._followers.setdefault(cause.name, Counter())
        moved = set()
        for i, f in enumerate(self.failures):
            if f.kind in kinds and f.cause is None and f is not cause:
                self.failures[i] = replace(f, cause=cause.name)
                moved.add(f.name)
                counts[f.kind] += 1
        for i, f in enumerate(self.failures):
            if f.cause in moved:
                self.failures[i] = replace(f, cause=cause.name)
        for name in moved:
            counts.update(self._followers.pop(name, Counter()))

    def kinds(self) -> set[str]:
        return {f.kind for f in self.failures}

    def causes(self) -> list[Failure]:
        """The failures that do not follow from another one."""
        return [f for f in self.failures if f.cause is None]

    def consequences(self, cause: Failure) -> str:
        """``"and 27 later tree head(s) no longer match"``, or ``""`` when nothing follows from ``cause``."""
        counts = self._followers.get(cause.name)
        if not counts:
            return ""
        parts = [_FOLLOWERS.get(kind, "{n} more " + kind).format(n=n) for kind, n in counts.items()]
        return "and " + (", ".join(parts[:-1]) + " and " if len(parts) > 1 else "") + parts[-1]

    def lines(self) -> list[str]:
        """The notes, then the failures for people: each cause once, with what follows from it counted."""
        out = [f"  NOTE {f.kind}: {f.id}: {f.detail}" for f in self.notes]
        for f in self.causes():
            out.append(f"  FAIL {f.kind}: {f.id}: {f.detail}")
            follows = self.consequences(f)
            if follows:
                out.append(f"       ... {follows} (consequences; --json lists each)")
        return out

    def to_dict(self) -> dict[str, Any]:
        checked = {k: int(self.checked.get(k, 0)) for k in CHECKED_KEYS}
        checked.update((k, int(n)) for k, n in self.checked.items() if k not in checked)
        return {"ok": self.ok, "checked": checked, "failures": [f.to_dict() for f in self.failures],
                "failure_counts": dict(self._per_kind), "key_id": self.key_id,
                "notes": [f.to_dict() for f in self.notes]}
