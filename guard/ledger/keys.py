"""The audit's checks of watermark key rotations (``key.rotated`` events) against a home's ``keys/``.

A rotation (a key added with ``voiceguard watermark rotate-key``) is counted
(``key_rotations``); a body without a key file name, fingerprints or a reason is
``malformed-event``. In a home, the key file it names must still be in ``keys/`` and hold the
key it logged the fingerprint of, and a key with the fingerprint of the key it replaced must
still be there too: else ``key-missing`` or ``key-changed``, since the clips marked with that key
could no longer be verified. The home's first key, made by ``init``, has no event.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

from guard.home import FINGERPRINT_HEX_DIGITS, Home, watermark_key_fingerprint, watermark_key_index
from guard.ledger.report import AuditReport
from guard.ledger.rows import is_hex

__all__ = ["KeyFiles", "check_rotation", "check_marking_key", "note_unlogged_keys", "keys_readable"]


@dataclass
class KeyFiles:
    """The watermark key files of the audited home, for the checks of ``key.rotated`` events.

    ``added`` maps the fingerprint of each key a rotation added to its event ("event N"): a key
    that a rotation added and a later one replaced is reported once, at the rotation that added it.
    ``added_files`` names the key files the rotations added (the others, but init's first key, are
    noted as ``unlogged-key``).
    """

    home: Home
    added: dict[str, str] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)  # fingerprints of marking keys already reported gone
    added_files: set[str] = field(default_factory=set)
    _present: set[str] | None = None

    def present(self) -> set[str]:
        """The fingerprints of the watermark key files in keys/ that can be read (read once)."""
        if self._present is None:
            self._present = set()
            for path in self.home.watermark_key_paths():
                with contextlib.suppress(OSError):  # an unreadable key counts as gone
                    self._present.add(watermark_key_fingerprint(path.read_bytes()))
        return self._present


def check_rotation(report: AuditReport, ident: str, body: dict[str, Any], keys: KeyFiles | None) -> None:
    """A ``key.rotated`` event: well-formed; with ``keys`` (a home's files are checked), the key it added still in
    keys/ and unchanged, and the key it replaced still there."""
    report.checked["key_rotations"] += 1
    what = f"{ident} (key.rotated {body.get('key_file')})"
    problem = _rotation_problem(body)
    if problem is not None:
        report.fail("malformed-event", what, problem)
        return
    if keys is None:
        return
    if not _check_added_key(report, what, body, keys.home):
        keys.lost.add(body["fingerprint"])  # reported here: not again at the records it marked
    previous = body["previous_fingerprint"]
    if previous not in keys.added and previous not in keys.present() and previous not in keys.lost:
        keys.lost.add(previous)
        report.fail("key-missing", what, f"no watermark key in {keys.home.keys_dir} has the fingerprint {previous} of "
                                         f"the key this rotation replaced: clips marked with it can no longer be "
                                         f"verified; restore that key file from a backup")
    keys.added[body["fingerprint"]] = ident
    keys.added_files.add(body["key_file"])


def _rotation_problem(body: dict[str, Any]) -> str | None:
    """What makes a ``key.rotated`` body malformed, or None: a key file name, two fingerprints, a reason."""
    name = body.get("key_file")
    if not isinstance(name, str) or watermark_key_index(name) is None:
        return f"key_file {name!r} is not the name of a watermark key file (watermark-NNNN.key)"
    for field_name in ("fingerprint", "previous_fingerprint"):
        value = body.get(field_name)
        if not is_hex(value, FINGERPRINT_HEX_DIGITS):
            return f"{field_name} {value!r} is not {FINGERPRINT_HEX_DIGITS} lower-case hex digits"
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return f"reason {reason!r} is not a non-empty text"
    return None


def _check_added_key(report: AuditReport, what: str, body: dict[str, Any], home: Home) -> bool:
    """The key file a rotation added: still in ``home``'s keys/, with the fingerprint the event logged; whether so."""
    path = home.keys_dir / body["key_file"]
    fix = f"clips marked with it can no longer be verified; restore keys/{path.name} from a backup"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        report.fail("key-missing", what, f"the watermark key {path} that this rotation added is gone: {fix}")
        return False
    except OSError as exc:
        report.fail("key-missing", what, f"the watermark key {path} that this rotation added cannot be read "
                                         f"({exc.strerror or exc}): {fix}")
        return False
    found = watermark_key_fingerprint(key)
    if found != body["fingerprint"]:
        report.fail("key-changed", what, f"{path} holds another key (fingerprint {found}) than the one this rotation "
                                         f"added (fingerprint {body['fingerprint']}): {fix}")
        return False
    return True


def check_marking_key(report: AuditReport, what: str, body: dict[str, Any], keys: KeyFiles | None) -> None:
    """A clip's or mark's ``key_fingerprint``: well-formed; with ``keys``, that key still in keys/.

    A record logged before the fingerprint was kept has none, and nothing is checked. A lost key
    is reported once, at the first record marked with it: every later one is lost with it.
    """
    fingerprint = body.get("key_fingerprint")
    if fingerprint is None:
        return
    if not is_hex(fingerprint, FINGERPRINT_HEX_DIGITS):
        report.fail("malformed-event", what, f"key_fingerprint {fingerprint!r} is not {FINGERPRINT_HEX_DIGITS} "
                                             f"lower-case hex digits")
        return
    if keys is None or fingerprint in keys.present() or fingerprint in keys.lost:
        return
    keys.lost.add(fingerprint)
    report.fail("key-missing", what, f"no watermark key in {keys.home.keys_dir} has the fingerprint {fingerprint} of "
                                     f"the key this was marked with: it, and every later record marked with that "
                                     f"key, can no longer be verified; restore that key file from a backup")


def note_unlogged_keys(report: AuditReport, keys: KeyFiles | None) -> None:
    """Note watermark key files that neither ``init`` (``watermark-0000.key``) nor a ``key.rotated`` event made.

    No mark is made with such a key (:func:`guard.watermark.rotation.current_key`); a
    ``rotate-key`` killed before its commit leaves one, and so does a file copied in by hand.
    """
    if keys is None:
        return
    for path in sorted(keys.home.watermark_key_paths()):
        if watermark_key_index(path.name) != 0 and path.name not in keys.added_files:
            report.note("unlogged-key", path.name, f"{path} is a watermark key no `key.rotated` event names (a "
                                                   f"`voiceguard watermark rotate-key` stopped before its commit "
                                                   f"leaves one, and so does a file copied in): no mark is made with "
                                                   f"it; keep it if clips were marked with it (keys added before "
                                                   f"rotations were logged), else remove it")


def keys_readable(home: Home) -> bool:
    """Whether ``home``'s ``keys/`` is there and this user may list and read it (an auditor's copy may lack it)."""
    return home.keys_dir.is_dir() and os.access(home.keys_dir, os.R_OK | os.X_OK)
