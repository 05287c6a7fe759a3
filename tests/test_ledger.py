"""The event store: appends, reads, signed tree heads, proofs, permissions and bad input."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guard import ledger
from guard.errors import HomeError, LedgerError, ParameterError
from guard.home import Home, init_home
from guard.ledger import Ledger, merkle
from guard.ledger.audit import export_bundle
from guard.ledger.canon import load_public_key


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_init_creates_ledger_0600_and_is_idempotent(tmp_path: Path) -> None:
    home, created = init_home(tmp_path / "h")
    assert home.ledger_path in created
    assert mode(home.ledger_path) == 0o600
    _, again = init_home(tmp_path / "h")
    assert again == []
    with Ledger(home) as led:
        led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": "r"})
    for p in home.root.glob("ledger*"):
        if p.is_file():
            assert mode(p) == 0o600, p


def test_append_and_read_back(home: Home) -> None:
    with Ledger(home) as led:
        a = led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": "r", "n": 1.5})
        b = led.append("consent.revoked", {"consent_id": "c", "reason": "x"})
        assert (a.seq, b.seq) == (0, 1)
        assert len(led) == 2
        assert [e.kind for e in led.events()] == ["clone.refused", "consent.revoked"]
        assert [e.seq for e in led.events("consent.revoked")] == [1]
        assert next(led.events()).body == {"voice_id": "a", "purpose": "game", "reason": "r", "n": 1.5}
        assert a.time <= b.time


def test_every_append_signs_a_tree_head_and_proofs_verify(home: Home) -> None:
    with Ledger(home) as led:
        for i in range(11):
            led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": str(i)})
        key = load_public_key(led.public_key_hex)
        heads = list(led.tree_heads())
        assert [h.tree_size for h in heads] == list(range(1, 12))
        for h in heads:
            key.verify(bytes.fromhex(h.signature), h.message())
        leaves = led.leaf_hashes()
        latest = led.tree_head()
        for seq in range(11):
            proof = [bytes.fromhex(x) for x in led.inclusion_proof(seq)]
            assert merkle.verify_inclusion(leaves[seq], seq, 11, proof, bytes.fromhex(latest.root_hash))
        old = led.tree_head(5)
        proof = [bytes.fromhex(x) for x in led.consistency_proof(5)]
        assert merkle.verify_consistency(5, bytes.fromhex(old.root_hash), 11, bytes.fromhex(latest.root_hash), proof)
        with pytest.raises(ParameterError, match="tree_size"):
            led.inclusion_proof(0, tree_size=12)


@pytest.mark.parametrize(("kind", "body", "error", "match"), [
    ("clip.deleted", {}, ParameterError, "unknown event kind"),
    ("clone.refused", ["not", "a", "dict"], ParameterError, "must be a dict"),
    ("clone.refused", {"x": math.nan}, LedgerError, "not plain JSON"),
    ("clone.refused", {"x": {1, 2}}, LedgerError, "not plain JSON"),
    ("clone.refused", {"x": b"bytes"}, LedgerError, "not plain JSON"),
])
def test_bad_events_are_refused_and_change_nothing(home: Home, kind, body, error, match) -> None:  # noqa: ANN001
    with Ledger(home) as led:
        with pytest.raises(error, match=match):
            led.append(kind, body)
        assert len(led) == 0 and led.tree_head() is None


def test_events_filter_rejects_unknown_kind(home: Home) -> None:
    with Ledger(home) as led, pytest.raises(ParameterError, match="unknown event kind"):
        list(led.events("nope"))


def test_missing_ledger_says_how_to_create_it(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with pytest.raises(LedgerError, match="voiceguard init"):
        Ledger(home)


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_database_is_a_clear_error(home: Home, content: bytes) -> None:
    home.ledger_path.write_bytes(content)
    with pytest.raises(LedgerError, match="ledger"):
        with Ledger(home) as led:
            led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": "r"})


def test_replaced_signing_key_is_refused(home: Home) -> None:
    os.chmod(home.signing_key_path, 0o600)
    home.signing_key_path.unlink()
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    home.signing_key_path.write_bytes(pem)
    with Ledger(home) as led, pytest.raises(LedgerError, match="does not match the ledger's public key"):
        led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": "r"})


def test_missing_signing_key_is_a_home_error(home: Home) -> None:
    home.signing_key_path.unlink()
    with Ledger(home) as led, pytest.raises(HomeError, match="voiceguard init"):
        led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": "r"})


def test_log_enrollment_and_refusal(home: Home) -> None:
    e = ledger.log_enrollment(home, voice_id="amy", consent_id="c1", files={"a.wav": "AB" * 32},
                              model_sha256="cd" * 32, model_version="3")
    assert e.kind == "voice.enrolled" and e.body["files"] == {"a.wav": "ab" * 32} and e.body["model_path"] is None
    r = ledger.log_refusal(home, voice_id="amy", purpose="game", reason="expired")
    assert (r.kind, r.seq, r.body["reason"]) == ("clone.refused", 1, "expired")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"files": {}}, "non-empty dict"),
    ({"files": {"a.wav": "xyz"}}, r"files\['a.wav'\] must be 64 hex"),
    ({"model_sha256": "0" * 63}, "model_sha256 must be 64 hex"),
])
def test_log_enrollment_rejects_bad_hashes(home: Home, kwargs: dict, match: str) -> None:
    args = {"voice_id": "amy", "consent_id": "c1", "files": {"a.wav": "ab" * 32}, "model_sha256": "cd" * 32,
            "model_version": "3"} | kwargs
    with pytest.raises(ParameterError, match=match):
        ledger.log_enrollment(home, **args)


def test_no_private_key_material_reaches_the_ledger_or_a_bundle(home: Home, tmp_path: Path) -> None:
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="r")
    raw = home.signing_key().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                           serialization.NoEncryption())
    export_bundle(home, tmp_path / "b")
    places = [home.ledger_path, *home.root.glob("ledger.*"), *(tmp_path / "b").iterdir()]
    for p in places:
        if p.is_file():
            data = p.read_bytes()
            assert raw not in data and raw.hex().encode() not in data and b"PRIVATE KEY" not in data, p


def _three_events(home: Home) -> None:
    for i in range(3):
        ledger.log_refusal(home, voice_id="amy", purpose="game", reason=f"try {i}")


@pytest.mark.parametrize(("damage", "match"), [
    # the newest event and its head deleted: the frontier still counts three
    ("DELETE FROM events WHERE seq=2; DELETE FROM tree_heads WHERE tree_size=3", "holds 2 events but its Merkle"),
    # a middle event deleted (a revocation, say): the count and the numbering disagree
    ("DELETE FROM events WHERE seq=1", "holds 2 events but its Merkle"),
    # the heads cut back, events kept
    ("DELETE FROM tree_heads WHERE tree_size=3", "newest signed tree head covers 2 events, not its 3"),
])
def test_a_log_with_rows_deleted_behind_its_back_takes_no_event(home: Home, damage: str, match: str) -> None:
    import sqlite3

    _three_events(home)
    conn = sqlite3.connect(home.ledger_path)
    conn.executescript(damage)
    conn.close()
    with Ledger(home) as led:
        with pytest.raises(LedgerError, match=match):
            led.check_extent()
        rows = len(list(led.events()))
        with pytest.raises(LedgerError, match=r"inconsistent: .*; nothing was written or decided\. Run `voiceguard audit"):
            led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "after"})
        assert len(list(led.events())) == rows


def test_a_log_cut_back_whole_is_caught_by_its_checkpoint(home: Home) -> None:
    import sqlite3

    _three_events(home)
    conn = sqlite3.connect(home.ledger_path)
    frontier = conn.execute("SELECT value FROM meta WHERE key='frontier'").fetchone()[0]
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="the fourth")
    # roll the database back to three events, frontier included: only the checkpoint file remembers four
    conn.executescript("DELETE FROM events WHERE seq=3; DELETE FROM tree_heads WHERE tree_size=4")
    conn.execute("UPDATE meta SET value=? WHERE key='frontier'", (frontier,))
    conn.commit()
    conn.close()
    with Ledger(home) as led, pytest.raises(LedgerError, match="checkpoint ledger.head.json has signed 4 events, it holds 3"):
        led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "after"})


def test_a_failing_precondition_appends_nothing(home: Home) -> None:
    def no() -> None:
        raise ParameterError("not now")

    with Ledger(home) as led:
        with pytest.raises(ParameterError, match="not now"):
            led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"}, precondition=no)
        assert len(list(led.events())) == 0
        led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"}, precondition=lambda: None)
        assert len(list(led.events())) == 1


def test_a_ledger_on_read_only_storage_reads_and_refuses_writes(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.ledger import store
    from guard.ledger.audit import audit_home

    _three_events(home)
    real_access = os.access
    monkeypatch.setattr(store.os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    with Ledger(home) as led:
        assert len(led.verified_events()) == 3
        with pytest.raises(LedgerError, match=r"is read-only here .*; nothing was added\. Work on a writable copy"):
            led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"})
    assert audit_home(home).ok


def test_a_verified_log_is_reused_until_its_head_changes_and_never_shows_an_edit(home: Home) -> None:
    import sqlite3

    _three_events(home)
    with Ledger(home) as led:
        assert [e.body["reason"] for e in led.verified_events()] == ["try 0", "try 1", "try 2"]
    conn = sqlite3.connect(home.ledger_path)
    conn.execute("UPDATE events SET canonical = replace(canonical, 'try 1', 'edited') WHERE seq=1")
    conn.commit()
    conn.close()
    with Ledger(home) as led:  # same head: the log verified before is what is read, not the edit
        assert [e.body["reason"] for e in led.verified_events()] == ["try 0", "try 1", "try 2"]
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="try 3")  # a new head: verified again
    with Ledger(home) as led, pytest.raises(LedgerError, match=r"event 1 \(clone.refused\) was changed"):
        led.verified_events()


def test_read_only_storage_still_reads_events_left_in_the_wal(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from guard.ledger import store
    from guard.ledger.audit import audit_home

    # a writer killed with its newest commits still in ledger.sqlite-wal (no checkpoint into the database)
    code = (f"import os, sqlite3\nfrom guard.home import open_home\nfrom guard.ledger import append\n"
            f"home = open_home({str(home.root)!r})\n"
            f"append(home, 'clone.refused', {{'voice_id': 'amy', 'purpose': 'game', 'reason': 'first'}})\n"
            f"hold = sqlite3.connect(home.ledger_path)\nhold.execute('PRAGMA wal_autocheckpoint=0')\n"
            f"hold.execute('SELECT 1 FROM meta').fetchall()\n"
            f"for i in range(3):\n"
            f"    append(home, 'clone.refused', {{'voice_id': 'amy', 'purpose': 'game', 'reason': f'later {{i}}'}})\n"
            f"os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (home.root / "ledger.sqlite-wal").stat().st_size > 0
    monkeypatch.setattr(store, "writable", lambda path: False)  # as on a read-only mount
    with Ledger(home) as led:
        assert [e.body["reason"] for e in led.verified_events()] == ["first", "later 0", "later 1", "later 2"]
    assert audit_home(home).ok


def _execute(home: Home, sql: str, *args: object) -> None:
    import sqlite3

    conn = sqlite3.connect(home.ledger_path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("sql", "args", "match"), [
    # the text edited, its stored leaf hash kept: the stored hash no longer covers what is read
    ("UPDATE events SET canonical = replace(canonical, 'try 1', 'edited') WHERE seq=1", (),
     r"event 1 \(clone.refused\) was changed after it was logged"),
    # the stored leaf hash replaced: it would be handed out as the event's
    ("UPDATE events SET leaf_hash=? WHERE seq=1", ("00" * 32,), r"event 1 \(clone.refused\) was changed after it was logged"),
    ("UPDATE events SET leaf_hash=? WHERE seq=1", ("not hex",), r"is damaged: event 1: its leaf_hash column holds"),
    ("UPDATE events SET kind=? WHERE seq=1", (b"x",), r"is damaged: event 1: its kind column holds a 1-byte blob"),
])
def test_no_event_or_proof_rests_on_a_stored_leaf_hash_its_text_does_not_have(home: Home, sql: str, args: tuple,
                                                                              match: str) -> None:
    _three_events(home)
    _execute(home, sql, *args)
    with Ledger(home) as led:
        for read in (lambda: list(led.events()), led.leaf_hashes, lambda: led.inclusion_proof(0),
                     lambda: led.consistency_proof(1)):
            with pytest.raises(LedgerError, match=match):
                read()


def test_leaf_hashes_are_the_hashes_of_the_texts_in_seq_order(home: Home) -> None:
    import sqlite3

    _three_events(home)
    conn = sqlite3.connect(home.ledger_path)
    texts = [t for (t,) in conn.execute("SELECT canonical FROM events ORDER BY seq")]
    conn.close()
    with Ledger(home) as led:
        assert led.leaf_hashes() == [merkle.leaf_hash(t.encode()) for t in texts]
        assert [e.leaf_hash for e in led.events()] == [merkle.leaf_hash(t.encode()).hex() for t in texts]
        assert merkle.root(led.leaf_hashes()).hex() == led.tree_head().root_hash
    _execute(home, "DELETE FROM events WHERE seq=1")  # the proofs would index the wrong leaves
    with Ledger(home) as led, pytest.raises(LedgerError, match=r"event 2 \(clone.refused\) is at position 1"):
        led.inclusion_proof(1)


def test_verified_events_carry_the_leaf_hash_of_their_text_not_the_stored_column(home: Home) -> None:
    _three_events(home)
    _execute(home, "UPDATE events SET leaf_hash=? WHERE seq=1", "00" * 32)  # the text still hashes to the signed root
    with Ledger(home) as led:
        events = led.verified_events()
        assert [e.body["reason"] for e in events] == ["try 0", "try 1", "try 2"]
        assert events[1].leaf_hash != "00" * 32
        assert merkle.root([bytes.fromhex(e.leaf_hash) for e in events]).hex() == led.tree_head().root_hash


def _stop(error: BaseException):  # noqa: ANN202
    def raise_it(*args: object, **kwargs: object) -> None:
        raise error
    return raise_it


@pytest.mark.parametrize(("where", "error", "landed"), [
    (None, None, True),  # nothing stops it: never called
    ("precondition", ParameterError("not now"), False),
    ("precondition", KeyboardInterrupt(), False),  # as when the user presses Ctrl-C under the write lock
    ("checkpoint", KeyboardInterrupt(), True),  # after the commit: the event stays, so must what it refers to
    ("checkpoint", OSError("disk full"), True),
])
def test_on_abort_runs_exactly_when_the_event_does_not_land(home: Home, monkeypatch: pytest.MonkeyPatch, where,
                                                           error, landed: bool) -> None:  # noqa: ANN001
    from guard.ledger import store

    aborted: list[int] = []
    if where == "checkpoint":
        monkeypatch.setattr(store, "write_checkpoint", _stop(error))
    precondition = _stop(error) if where == "precondition" else None
    with Ledger(home) as led:
        if error is None:
            led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"},
                       precondition=precondition, on_abort=lambda: aborted.append(1))
        else:
            with pytest.raises(type(error)):
                led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"},
                           precondition=precondition, on_abort=lambda: aborted.append(1))
        assert len(led) == int(landed) and aborted == ([] if landed else [1])


class _StoppedAtCommit:
    """A connection that commits and then raises as COMMIT returns, as Ctrl-C at that instant would."""

    def __init__(self, conn) -> None:  # noqa: ANN001
        self._conn = conn

    def execute(self, sql: str, *args: object):  # noqa: ANN202
        result = self._conn.execute(sql, *args)
        if sql == "COMMIT":
            raise KeyboardInterrupt
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_an_interrupt_as_the_commit_returns_keeps_what_the_landed_event_refers_to(home: Home) -> None:
    aborted: list[int] = []
    with Ledger(home) as led:
        real = led._conn
        led._conn = _StoppedAtCommit(real)
        try:
            with pytest.raises(KeyboardInterrupt):
                led.append("clone.refused", {"voice_id": "amy", "purpose": "game", "reason": "x"},
                           on_abort=lambda: aborted.append(1))
        finally:
            led._conn = real
        assert len(led) == 1 and aborted == []  # the event landed: what it refers to must stay
