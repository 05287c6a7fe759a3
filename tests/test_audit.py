"""The audit catches every way an insider could tamper with the ledger, and every clip outside its consent."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from conftest import marked_noise
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guard import consent, ledger, provenance
from guard.audio import save
from guard.cli import cli
from guard.consent.record import Consent
from guard.errors import LedgerError
from guard.home import Home
from guard.ledger import Ledger, merkle
from guard.ledger.audit import audit_bundle, audit_home, export_bundle
from guard.ledger.canon import canonical_json, key_id, public_key_hex, tree_head_message

SR = 16000


@pytest.fixture
def busy(home: Home, tmp_path: Path) -> Home:
    """A home with a consent, two clips, a refusal and a revocation: seven events."""
    c = consent.grant(home, voice_id="amy", subject="Amy Corpus", operator="Lab", purposes=["research"],
                      expires=date.today() + timedelta(days=30), license_text="CC BY 4.0 speech corpus")
    for i in range(2):
        payload = provenance.new_payload(home)
        wav = marked_noise(tmp_path / f"clip{i}.wav", home.watermark_key(), payload, seed=i)
        provenance.issue(home, payload=payload, voice_id="amy", consent_id=c.consent_id,
                         text=f"sentence {i}", audio_path=wav, generator="test", generator_version="1",
                         purpose="research")
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="purpose outside consent")
    ledger.log_enrollment(home, voice_id="amy", consent_id=c.consent_id, files={"a.wav": "ab" * 32},
                          model_sha256="cd" * 32, model_version="1")
    consent.revoke(home, c.consent_id, reason="withdrawn")
    ledger.log_refusal(home, voice_id="amy", purpose="research", reason="revoked")
    return home


def db(home: Home) -> sqlite3.Connection:
    return sqlite3.connect(home.ledger_path, isolation_level=None)


def rewrite_event(conn: sqlite3.Connection, seq: int, event: dict) -> None:
    """Replace an event's text, keeping its columns and leaf hash consistent (a careful insider)."""
    text = canonical_json(event)
    conn.execute("UPDATE events SET canonical=?, leaf_hash=?, kind=?, time=? WHERE seq=?",
                 (text, merkle.leaf_hash(text.encode()).hex(), event["kind"], event["time"], seq))


def load_event(conn: sqlite3.Connection, seq: int) -> dict:
    return json.loads(conn.execute("SELECT canonical FROM events WHERE seq=?", (seq,)).fetchone()[0])


def set_frontier(conn: sqlite3.Connection) -> None:
    f = merkle.Frontier()
    for (text,) in conn.execute("SELECT canonical FROM events ORDER BY seq"):
        f.push(merkle.leaf_hash(text.encode()))
    conn.execute("UPDATE meta SET value=? WHERE key='frontier'", (json.dumps([f.size, [h.hex() for h in f.hashes]]),))


def resign_all(conn: sqlite3.Connection, key: Ed25519PrivateKey) -> None:
    """Recompute every head from the events and sign it with ``key`` (an insider with a key)."""
    kid = key_id(public_key_hex(key.public_key()))
    f = merkle.Frontier()
    conn.execute("DELETE FROM tree_heads")
    for (text,) in conn.execute("SELECT canonical FROM events ORDER BY seq").fetchall():
        f.push(merkle.leaf_hash(text.encode()))
        ts = datetime.now(timezone.utc).isoformat()
        sig = key.sign(tree_head_message(tree_size=f.size, root_hash=f.root().hex(), timestamp=ts, key=kid)).hex()
        conn.execute("INSERT INTO tree_heads VALUES (?, ?, ?, ?, ?)", (f.size, f.root().hex(), ts, kid, sig))
    set_frontier(conn)


def edit_column(column: str, value: object):  # noqa: ANN201
    def apply(home: Home) -> None:
        db(home).execute(f"UPDATE events SET {column}=? WHERE seq=2", (value,))
    return apply


def delete_middle(home: Home) -> None:
    db(home).execute("DELETE FROM events WHERE seq=3")


def delete_last_event(home: Home) -> None:
    db(home).execute("DELETE FROM events WHERE seq=(SELECT MAX(seq) FROM events)")


def truncate_log(home: Home) -> None:
    """Cut the last three events, their tree heads and the tree state: only the checkpoint remembers."""
    conn = db(home)
    conn.execute("DELETE FROM events WHERE seq >= 4")
    conn.execute("DELETE FROM tree_heads WHERE tree_size > 4")
    set_frontier(conn)


def insert_unsigned(home: Home) -> None:
    conn = db(home)
    event = load_event(conn, 3)
    event["seq"] = 7
    rewrite = canonical_json(event)
    conn.execute("INSERT INTO events VALUES (7, ?, ?, ?, ?)",
                 (event["kind"], event["time"], rewrite, merkle.leaf_hash(rewrite.encode()).hex()))


def insert_in_middle(home: Home) -> None:
    """Shift events up and slip a new one in at seq 2, re-hashing leaves (heads stay as signed)."""
    conn = db(home)
    rows = conn.execute("SELECT canonical FROM events ORDER BY seq").fetchall()
    forged = {"body": {"voice_id": "amy", "purpose": "game", "reason": "forged"}, "kind": "clone.refused",
              "seq": 2, "time": load_event(conn, 2)["time"], "v": 1}
    events = [json.loads(r[0]) for r in rows[:2]] + [forged] + [json.loads(r[0]) for r in rows[2:]]
    conn.execute("DELETE FROM events")
    for i, e in enumerate(events):
        e["seq"] = i
        text = canonical_json(e)
        conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                     (i, e["kind"], e["time"], text, merkle.leaf_hash(text.encode()).hex()))


def reorder_rows(home: Home) -> None:
    """Swap events 1 and 2, texts and all."""
    conn = db(home)
    a, b = (conn.execute("SELECT kind, time, canonical, leaf_hash FROM events WHERE seq=?", (s,)).fetchone()
            for s in (1, 2))
    conn.execute("UPDATE events SET kind=?, time=?, canonical=?, leaf_hash=? WHERE seq=1", b)
    conn.execute("UPDATE events SET kind=?, time=?, canonical=?, leaf_hash=? WHERE seq=2", a)


def reorder_renumbered(home: Home) -> None:
    """Swap events 1 and 2 and renumber them so each text agrees with its row."""
    conn = db(home)
    e1, e2 = load_event(conn, 1), load_event(conn, 2)
    e1["seq"], e2["seq"] = 2, 1
    rewrite_event(conn, 1, e2)
    rewrite_event(conn, 2, e1)


def replace_head_root(home: Home) -> None:
    db(home).execute("UPDATE tree_heads SET root_hash=? WHERE tree_size=3", ("00" * 32,))


def replace_head_other_key(home: Home) -> None:
    other = Ed25519PrivateKey.generate()
    conn = db(home)
    size, root, ts, kid, _ = conn.execute("SELECT * FROM tree_heads WHERE tree_size=3").fetchone()
    sig = other.sign(tree_head_message(tree_size=size, root_hash="11" * 32, timestamp=ts, key=kid)).hex()
    conn.execute("UPDATE tree_heads SET root_hash=?, signature=? WHERE tree_size=3", ("11" * 32, sig))


def swap_public_key(home: Home) -> None:
    """Put another public key in the ledger and re-sign everything with its private key."""
    other = Ed25519PrivateKey.generate()
    conn = db(home)
    conn.execute("UPDATE meta SET value=? WHERE key='public_key'", (public_key_hex(other.public_key()),))
    resign_all(conn, other)


def garble_checkpoint(home: Home) -> None:
    (home.root / "ledger.head.json").write_text("{garbage")


def swap_public_key_only(home: Home) -> None:
    db(home).execute("UPDATE meta SET value=? WHERE key='public_key'",
                     (public_key_hex(Ed25519PrivateKey.generate().public_key()),))


def body_field_editor(seq: int, key: str):  # noqa: ANN201
    def apply(home: Home) -> None:
        conn = db(home)
        event = load_event(conn, seq)
        value = event["body"][key]
        event["body"][key] = (value + "x") if isinstance(value, str) else ["tampered"] if value is None \
            else {"tampered": True} if isinstance(value, (dict, list)) else 0
        rewrite_event(conn, seq, event)
    return apply


TAMPERS = [
    ("edit kind column", edit_column("kind", "clone.refused"), "event-mismatch"),
    ("edit time column", edit_column("time", "2001-01-01T00:00:00+00:00"), "event-mismatch"),
    ("edit seq column", edit_column("seq", 99), "sequence-gap"),
    ("edit leaf hash column", edit_column("leaf_hash", "00" * 32), "leaf-hash-mismatch"),
    ("edit canonical text without re-hashing", edit_column("canonical", "{\"x\":1}"), "leaf-hash-mismatch"),
    ("delete an event", delete_middle, "sequence-gap"),
    ("delete the last event", delete_last_event, "truncated"),
    ("insert an event at the end", insert_unsigned, "unsigned-events"),
    ("insert an event in the middle", insert_in_middle, "tree-head-mismatch"),
    ("reorder rows", reorder_rows, "event-mismatch"),
    ("reorder and renumber", reorder_renumbered, "tree-head-mismatch"),
    ("replace a tree head's root", replace_head_root, "bad-signature"),
    ("replace a tree head signed by another key", replace_head_other_key, "bad-signature"),
    ("truncate the log and its heads", truncate_log, "truncated"),
    ("swap the public key and re-sign", swap_public_key, "public-key-mismatch"),
    ("swap the public key only", swap_public_key_only, "public-key-mismatch"),
    ("garble the checkpoint", garble_checkpoint, "bad-checkpoint"),
]


def test_untouched_log_audits_clean(busy: Home) -> None:
    report = audit_home(busy)
    assert report.ok, report.failures
    assert report.checked["events"] == 7 and report.checked["clips"] == 2 and report.checked["files"] == 2


@pytest.mark.parametrize(("name", "tamper", "expected"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_each_tampering_is_caught_and_named(busy: Home, name: str, tamper, expected: str) -> None:  # noqa: ANN001
    tamper(busy)
    report = audit_home(busy)
    assert not report.ok
    assert expected in report.kinds(), (name, report.failures)


def test_editing_any_field_of_any_event_is_caught(busy: Home, tmp_path: Path) -> None:
    with Ledger(busy) as led:
        fields = [(e.seq, k) for e in led.events() for k in e.body]
    assert len(fields) > 30
    for seq, key in fields:
        copy = Home(tmp_path / f"copy-{seq}-{key}")
        shutil.copytree(busy.root, copy.root)
        body_field_editor(seq, key)(copy)
        report = audit_home(copy)
        assert "tree-head-mismatch" in report.kinds(), (seq, key, report.failures)
        shutil.rmtree(copy.root)


def test_demo_style_edit_in_place_is_caught(busy: Home) -> None:
    conn = db(busy)
    conn.execute("UPDATE events SET canonical = replace(canonical, '\"research\"', '\"dubbing\"') WHERE seq=1")
    assert {"leaf-hash-mismatch", "tree-head-mismatch"} <= audit_home(busy).kinds()


def _sign_consent(home: Home, **changes: object) -> dict:
    now = datetime.now(timezone.utc)
    fields = dict(consent_id="consent-forged", voice_id="amy", subject="S", operator="O", purposes=("research",),
                  languages=("en",), valid_from=now - timedelta(days=10), expires_at=now - timedelta(days=5),
                  evidence={"kind": "license", "text": "t"}, created_at=now - timedelta(days=10))
    fields.update(changes)
    c = Consent(**fields)  # type: ignore[arg-type]
    return {**c.signed_fields(), "signature": home.signing_key().sign(c.message()).hex()}


def _clip(consent_id: str, *, purpose: str = "research", payload: str = "0000abcd", voice_id: str = "amy") -> dict:
    return {"record_id": "rec-x", "payload": payload, "voice_id": voice_id, "consent_id": consent_id,
            "text_sha256": "00" * 32, "audio_sha256": "00" * 32, "generator": "g", "generator_version": "1",
            "created_at": datetime.now(timezone.utc).isoformat(), "manifest": "embedded", "audio_path": None,
            "purpose": purpose}


def _consent_id(home: Home) -> str:
    return consent.list_consents(home)[0].consent_id


MEANING = [
    ("clip after revocation", lambda h: [("clip.generated", _clip(_consent_id(h)))], "after-revocation"),
    ("clip for a purpose outside the consent",
     lambda h: [("clip.generated", _clip(_consent_id(h), purpose="game"))], "consent-scope"),
    ("clip of another voice", lambda h: [("clip.generated", _clip(_consent_id(h), voice_id="bob"))], "consent-scope"),
    ("clip without any consent", lambda h: [("clip.generated", _clip("consent-none"))], "unknown-consent"),
    ("enrollment without consent", lambda h: [("voice.enrolled", {"voice_id": "amy", "consent_id": "nope",
                                                                  "files": {}, "model_sha256": "0" * 64})],
     "unknown-consent"),
    ("clip under an expired consent",
     lambda h: [("consent.granted", _sign_consent(h)), ("clip.generated", _clip("consent-forged"))],
     "consent-not-valid"),
    ("consent with a forged signature",
     lambda h: [("consent.granted", {**_sign_consent(h), "subject": "someone else"})], "bad-consent-signature"),
    ("revocation of an unknown consent", lambda h: [("consent.revoked", {"consent_id": "consent-none"})],
     "unknown-consent"),
    ("reused watermark payload",
     lambda h: [("consent.granted", _sign_consent(h, consent_id="c2", expires_at=datetime.now(timezone.utc)
                                                  + timedelta(days=1))),
                ("clip.generated", _clip("c2", payload="0000abcd")), ("clip.generated", _clip("c2", payload="0000abcd"))],
     "duplicate-payload"),
]


@pytest.mark.parametrize(("name", "events", "expected"), MEANING, ids=[m[0] for m in MEANING])
def test_meaning_failures_are_caught(busy: Home, name: str, events, expected: str) -> None:  # noqa: ANN001
    with Ledger(busy) as led:
        for kind, body in events(busy):
            led.append(kind, body)
    report = audit_home(busy)
    assert expected in report.kinds(), (name, report.failures)
    assert {"tree-head-mismatch", "bad-signature"}.isdisjoint(report.kinds())  # a signed log that means the wrong thing


def test_a_changed_clip_file_is_noted_and_a_deleted_one_counted_neither_fails(busy: Home, tmp_path: Path) -> None:
    save(tmp_path / "clip0.wav", np.zeros(SR, dtype=np.float32), sample_rate=SR)
    (tmp_path / "clip1.wav").unlink()
    report = audit_home(busy)
    assert report.ok and report.failures == []  # the log and its consents are intact
    note, gone = report.notes
    assert note.kind == "clip-changed" and "clip0.wav no longer matches" in note.detail
    assert "edited or replaced after it was generated" in note.detail
    assert gone.kind == "clip-missing" and f"{(tmp_path / 'clip1.wav').resolve()} is missing" in gone.detail
    assert report.checked["files_missing"] == 1


def test_bundle_verifies_elsewhere_without_private_keys(busy: Home, tmp_path: Path) -> None:
    written = export_bundle(busy, tmp_path / "bundle")
    assert {p.name for p in written} >= {"events.jsonl", "tree_heads.jsonl", "public_key.txt"}
    moved = shutil.copytree(tmp_path / "bundle", tmp_path / "elsewhere")
    assert audit_bundle(moved).ok
    lines = (moved / "events.jsonl").read_text().splitlines()
    row = json.loads(lines[1])
    row["canonical"] = row["canonical"].replace("\"research\"", "\"dubbing\"")
    assert row["canonical"] != json.loads(lines[1])["canonical"]
    lines[1] = json.dumps(row)
    (moved / "events.jsonl").write_text("\n".join(lines) + "\n")
    assert {"leaf-hash-mismatch", "tree-head-mismatch"} <= audit_bundle(moved).kinds()


def test_bundle_with_swapped_public_key_fails(busy: Home, tmp_path: Path) -> None:
    export_bundle(busy, tmp_path / "b")
    (tmp_path / "b" / "public_key.txt").write_text(public_key_hex(Ed25519PrivateKey.generate().public_key()))
    assert "bad-signature" in audit_bundle(tmp_path / "b").kinds()


@pytest.mark.parametrize(("setup", "match"), [
    (lambda p: None, "not a folder"),
    (lambda p: p.mkdir(), "missing"),
    (lambda p: (p.mkdir(), (p / "events.jsonl").write_text("{not json\n")), "not JSON"),
])
def test_bad_bundle_is_a_clear_error(tmp_path: Path, setup, match: str) -> None:  # noqa: ANN001
    setup(tmp_path / "b")
    with pytest.raises(LedgerError, match=match):
        audit_bundle(tmp_path / "b")


def test_cli_audit_ok_json_export_and_bundle(busy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(busy.root), "audit", "--json", "--export", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["failures"] == [] and out["checked"]["events"] == 7
    res = runner.invoke(cli, ["audit", "--bundle", str(tmp_path / "x")])
    assert res.exit_code == 0 and "OK" in res.stderr


def test_cli_audit_exits_1_naming_each_failure(busy: Home, runner) -> None:  # noqa: ANN001
    replace_head_root(busy)
    res = runner.invoke(cli, ["--home", str(busy.root), "audit"])
    assert res.exit_code == 1
    assert "FAIL bad-signature: head 3" in res.stderr
    res = runner.invoke(cli, ["--home", str(busy.root), "audit", "--json"])
    assert res.exit_code == 1
    assert {f["kind"] for f in json.loads(res.stdout)["failures"]} >= {"bad-signature"}


def test_cli_audit_without_home_says_how_to_create_it(runner, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(tmp_path / "none"), "audit"])
    assert res.exit_code == 1
    assert res.output.startswith("Error:") and "voiceguard init" in res.output and "Traceback" not in res.output


def test_parallel_signature_check_finds_the_same_failures(busy: Home, monkeypatch) -> None:  # noqa: ANN001
    from guard.ledger import audit

    replace_head_root(busy)
    serial = audit_home(busy).failures
    monkeypatch.setattr(audit, "PARALLEL_MIN_SIGNATURES", 2)
    monkeypatch.setattr(audit.os, "cpu_count", lambda: 3)
    assert audit_home(busy).failures == serial
    assert any(f.kind == "bad-signature" and f.id == "head 3" for f in serial)


def test_an_event_dated_before_the_one_it_follows_fails_the_audit() -> None:
    from guard.ledger.events import event_canonical
    from guard.ledger.report import AuditReport
    from guard.ledger.structure import Trail, check_events

    times = ["2026-11-25T17:02:02.000000+00:00", "2026-11-25T17:01:58.000000+00:00"]  # the second backdated
    rows = []
    for seq, time in enumerate(times):
        text = event_canonical(seq=seq, kind="clone.refused", time=time,
                               body={"voice_id": "amy", "purpose": "game", "reason": "x"})
        rows.append((seq, "clone.refused", time, text, merkle.leaf_hash(text.encode()).hex()))
    report = AuditReport()
    check_events(rows, {}, report, Trail(), set())
    (failure,) = [f for f in report.failures if f.kind == "time-order"]
    assert failure.id == "event 1 (clone.refused)" and "before event 0 (clone.refused)" in failure.detail


def test_events_after_a_pinned_checkpoint_may_not_predate_it(home: Home, tmp_path: Path) -> None:
    from guard.ledger.heads import TreeHead
    from guard.ledger.report import AuditReport
    from guard.ledger.structure import check_times_after

    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="one")
    with Ledger(home) as led:
        events = [{"seq": e.seq, "kind": e.kind, "time": e.time.isoformat()} for e in led.events()]
        head = led.tree_head()
    later = TreeHead(0, head.root_hash, "2099-01-01T00:00:00+00:00", head.key_id, head.signature)
    report = AuditReport()
    check_times_after(report, "pinned checkpoint", later, events)
    assert [f.kind for f in report.failures] == ["time-order"] and "was backdated" in report.failures[0].detail
    report = AuditReport()
    check_times_after(report, "pinned checkpoint", TreeHead(0, head.root_hash, "2000-01-01T00:00:00+00:00",
                                                             head.key_id, head.signature), events)
    assert report.failures == []


def test_an_append_with_the_clock_behind_the_log_is_refused(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.ledger import store

    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="now")
    monkeypatch.setattr(store, "utc_now", lambda: "2001-01-01T00:00:00.000000+00:00")
    with pytest.raises(LedgerError, match=r"the system clock reads 2001-01-01.*before the ledger's newest entry"):
        ledger.log_refusal(home, voice_id="amy", purpose="game", reason="from the past")
    with Ledger(home) as led:
        assert len(led) == 1


def test_a_moved_home_audits_its_own_files_and_a_copy_checks_the_copy(home: Home, tmp_path: Path) -> None:
    import hashlib
    import shutil

    from guard.home import open_home

    c = consent.grant(home, voice_id="amy", subject="Amy Corpus", operator="Lab", purposes=["research"],
                      expires=date.today() + timedelta(days=30), license_text="CC BY 4.0 speech corpus")
    model = home.voices_dir / "amy" / "model.pt"
    (model.parent / "recordings").mkdir(parents=True)
    model.write_bytes(b"weights")
    (model.parent / "recordings" / "a.flac").write_bytes(b"the kept enrollment recording")
    ledger.log_enrollment(home, voice_id="amy", consent_id=c.consent_id, files={"a.wav": "ab" * 32},
                          model_sha256=hashlib.sha256(b"weights").hexdigest(), model_version="1", model_path=model)
    moved = tmp_path / "elsewhere" / "home"
    moved.parent.mkdir()
    shutil.move(str(home.root), str(moved))
    assert "missing-file" not in audit_home(open_home(moved)).kinds()
    copy = tmp_path / "copy"
    shutil.copytree(moved, copy)
    (copy / "voices" / "amy" / "model.pt").write_bytes(b"tampered in the copy")
    failures = [f for f in audit_home(open_home(copy)).failures if f.kind == "file-hash-mismatch"]
    assert len(failures) == 1 and str(copy / "voices" / "amy" / "model.pt") in failures[0].detail
    assert "file-hash-mismatch" not in audit_home(open_home(moved)).kinds()


def test_an_exported_bundle_is_readable_by_its_owner_only(busy: Home, tmp_path: Path) -> None:
    import stat

    written = export_bundle(busy, tmp_path / "bundle")
    assert written and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)


def test_a_copy_of_a_home_without_its_keys_is_audited_against_a_pinned_key(busy: Home, tmp_path: Path,
                                                                           runner) -> None:  # noqa: ANN001
    import shutil

    from guard.cli import cli

    copy = tmp_path / "auditors-copy"
    shutil.copytree(busy.root, copy, ignore=shutil.ignore_patterns("keys"))
    published = key_id(public_key_hex(busy.public_key()))
    unpinned = runner.invoke(cli, ["audit", "--home", str(copy)])
    assert unpinned.exit_code == 1 and "pass --public-key with the key id published for this log" in unpinned.stderr
    pinned = runner.invoke(cli, ["audit", "--home", str(copy), "--public-key", published, "--json"])
    assert pinned.exit_code == 0, pinned.output
    assert json.loads(pinned.stdout)["ok"] and json.loads(pinned.stdout)["key_id"] == published
    wrong = runner.invoke(cli, ["audit", "--home", str(copy), "--public-key", "0" * 16])
    assert wrong.exit_code == 1 and "not the expected key" in wrong.stderr


def test_every_failure_kind_the_audit_can_report_is_explained_in_the_readme() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    code = "".join(p.read_text() for p in (root / "guard" / "ledger").glob("*.py"))
    kinds = set(re.findall(r'fail\(\s*"([a-z-]+)"', code))
    readme = (root / "README.md").read_text()
    assert len(kinds) >= 20 and not sorted(k for k in kinds if f"`{k}`" not in readme)


def test_checked_has_every_key_whatever_the_log_holds(busy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.home import init_home
    from guard.ledger.audit import CHECKED_KEYS

    empty, _ = init_home(tmp_path / "empty")
    refusals, _ = init_home(tmp_path / "refusals")
    ledger.log_refusal(refusals, voice_id="amy", purpose="game", reason="no consent")
    export_bundle(busy, tmp_path / "bundle")
    pinned = tmp_path / "bundle" / "checkpoint.json"
    reports = {"empty": audit_home(empty), "refusals only": audit_home(refusals), "busy": audit_home(busy),
               "pinned": audit_home(busy, checkpoint=pinned), "bundle": audit_bundle(tmp_path / "bundle")}
    for name, report in reports.items():
        checked = report.to_dict()["checked"]
        assert list(checked) == list(CHECKED_KEYS), name
        assert all(type(n) is int and n >= 0 for n in checked.values()), name
        assert report.to_dict()["notes"] == [], name
    assert reports["empty"].to_dict()["checked"] == {**dict.fromkeys(CHECKED_KEYS, 0), "public_key": 1}
    assert reports["refusals only"].to_dict()["checked"]["consents"] == 0
    assert reports["refusals only"].to_dict()["checked"]["refusals"] == 1
    assert reports["busy"].to_dict()["checked"]["refusals"] == 2
    assert reports["pinned"].to_dict()["checked"]["pinned checkpoint"] == 1
    assert reports["busy"].to_dict()["checked"]["pinned checkpoint"] == 0
    res = runner.invoke(cli, ["--home", str(empty.root), "audit", "--json"])
    assert res.exit_code == 0 and list(json.loads(res.stdout)["checked"]) == list(CHECKED_KEYS)
    res = runner.invoke(cli, ["--home", str(refusals.root), "audit"])  # people read what there was
    assert res.exit_code == 0 and "(1 public_key, 1 tree_heads, 1 events, 1 checkpoint, 1 refusals)" in res.stderr


def test_a_statement_file_no_consent_refers_to_is_noted_not_failed(busy: Home, runner) -> None:  # noqa: ANN001
    folder = busy.root / "consents"
    folder.mkdir(exist_ok=True)
    left = folder / "consent-0123456789abcdef.wav"  # a grant killed between its copy and its commit
    left.write_bytes(b"RIFF a statement nobody logged")
    res = runner.invoke(cli, ["--home", str(busy.root), "audit", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["failures"] == []
    (note,) = out["notes"]
    assert note["kind"] == "unreferenced-file" and note["id"] == str(left) and "stopped before it was logged" in \
        note["detail"]
    res = runner.invoke(cli, ["--home", str(busy.root), "audit"])
    assert res.exit_code == 0 and f"NOTE unreferenced-file: {left}: no consent refers to it" in res.stderr
