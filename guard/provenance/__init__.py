"""Per-clip provenance: a record with a unique 32-bit watermark payload, logged and signed into C2PA.

:func:`issue` is called by a generator after it has written and watermarked a clip;
:func:`lookup` maps a payload read from a watermark back to its record; :func:`read_manifest`
reads a file's C2PA manifest for ``scan``.

The home's key also marks audio that is no generated clip (``voiceguard watermark embed``,
any recording): :func:`record_mark` logs each such mark as ``audio.marked`` (a
:class:`MarkRecord`, which names no voice and no consent). A payload names one piece of
audio: :func:`new_payload`, :func:`issue` and :func:`record_mark` refuse one that a clip or a
mark already uses, and :func:`payload_owner` says which.

Modules: :mod:`~guard.provenance.records` (the two records), :mod:`~guard.provenance.payloads`
(who owns a payload), :mod:`~guard.provenance.clips` (issuing a clip's record),
:mod:`~guard.provenance.marks` (logging a mark), :mod:`~guard.provenance.checks` (shared
argument checks), :mod:`~guard.provenance.manifest` (C2PA manifests) and
:mod:`~guard.provenance.certs` (the home's signing certificates).
"""

from __future__ import annotations

from pathlib import Path

from guard.home import Home
from guard.provenance.certs import create_chain
from guard.provenance.clips import issue
from guard.provenance.manifest import ManifestReport, read_manifest
from guard.provenance.marks import record_mark
from guard.provenance.payloads import (
    check_unused,
    describe_owner,
    lookup,
    lookup_mark,
    new_payload,
    payload_owner,
)
from guard.provenance.records import MARK_KIND, PAYLOAD_BITS, MarkRecord, ProvenanceRecord

__all__ = ["ProvenanceRecord", "MarkRecord", "ManifestReport", "new_payload", "issue", "lookup", "lookup_mark",
           "payload_owner", "check_unused", "describe_owner", "record_mark", "read_manifest", "on_init",
           "PAYLOAD_BITS", "MARK_KIND"]


def on_init(home: Home) -> list[Path]:
    """Create the local C2PA certificate chain under ``keys/`` (private keys 0600); idempotent."""
    return create_chain(home)
