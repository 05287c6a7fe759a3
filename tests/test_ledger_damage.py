"""A damaged ledger, checkpoint or bundle is one clear line, never a traceback; the audit names what is wrong.

Every damaged home is made in code from a fresh one: rows edited with sqlite3, files
overwritten or deleted. Each case checks the exit code, exactly one ``Error:`` or ``FAIL``
line naming the problem, and that no traceback reaches the user.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_audit import resign_all

from guard import consent, ledger
from guard.cli import cli
from guard.consent.record import Consent
from guard.errors import LedgerError, ParameterError
from guard.home import Home
from guard.ledger import Ledger, TreeHead, merkle
from guard.ledger.audit import audit_bundle, audit_home, export_bundle
from guard.ledger.canon import canonical_json, key_id, public_key_hex, tree_head_message

N_REFUSALS = 12


def _granted(home: Home, statement: Path) -> dict:
    """A consent.granted body with statement evidence kept in the home, signed by the home's key (no consent code,
    as granted before codes: the audit notes it, no-challenge)."""
    now = datetime.now(timezone.utc)
    record = Consent(consent_id="consent-amy", voice_id="amy", subject="Amy", operator="Lab", purposes=("research",),
                     languages=("en",), valid_from=now - timedelta(days=1), expires_at=now + timedelta(days=30),
                     evidence={"kind": "statement", "file": str(statement),
                               "sha256": hashlib.sha256(statement.read_bytes()).hexdigest()},
                     created_at=now - timedelta(days=1))
    return {**record.signed_fields(), "signature": home.signing_key().sign(record.message()).hex()}


@pytest.fixture
def lived(home: Home) -> Home:
    """A home whose log has a consent with its statement, an enrollment with its model, a clip, a revocation
    and refusals: 16 events, each with its signed head, and ``ledger.head.json``."""
    statement = home.root / "consents" / "consent-amy.wav"
    statement.parent.mkdir()
    statement.write_bytes(b"RIFF a spoken consent statement")
    model = home.voices_dir / "amy" / "model.pt"
    (model.parent / "recordings").mkdir(parents=True)
    model.write_bytes(b"voice model weights")
    (model.parent / "recordings" / "a.flac").write_bytes(b"the kept enrollment recording")
    ledger.append(home, "consent.granted", _granted(home, statement))
    ledger.log_enrollment(home, voice_id="amy", consent_id="consent-amy", files={"a.wav": "ab" * 32},
                          model_sha256=hashlib.sha256(model.read_bytes()).hexdigest(), model_version="1",
                          model_path=model)
    ledger.append(home, "clip.generated", {
        "record_id": "rec-1", "payload": "0000abcd", "voice_id": "amy", "consent_id": "consent-amy",
        "text_sha256": "00" * 32, "audio_sha256": "00" * 32, "generator": "g", "generator_version": "1",
        "created_at": datetime.now(timezone.utc).isoformat(), "manifest": "embedded", "audio_path": None,
        "purpose": "research"})
    for i in range(N_REFUSALS):
        ledger.log_refusal(home, voice_id="amy", purpose="game", reason=f"purpose outside consent {i}")
    consent.revoke(home, "consent-amy", reason="withdrawn")
    return home


def db(home: Home) -> sqlite3.Connection:
    return sqlite3.connect(home.ledger_path, isolation_level=None)


def text_of(conn: sqlite3.Connection, seq: int) -> str:
    return conn.execute("SELECT canonical FROM events WHERE seq=?", (seq,)).fetchone()[0]


def rewrite_body(conn: sqlite3.Connection, seq: int, key: str, value: object) -> None:
    """Change one body field and re-hash the leaf (a careful insider without the key)."""
    event = json.loads(text_of(conn, seq))
    event["body"][key] = value
    text = canonical_json(event)
    conn.execute("UPDATE events SET canonical=?, leaf_hash=? WHERE seq=?",
                 (text, merkle.leaf_hash(text.encode()).hex(), seq))


def set_frontier(conn: sqlite3.Connection) -> None:
    f = merkle.Frontier()
    for (leaf,) in conn.execute("SELECT leaf_hash FROM events ORDER BY seq").fetchall():
        f.push(bytes.fromhex(leaf))
    conn.execute("UPDATE meta SET value=? WHERE key='frontier'", (json.dumps([f.size, [h.hex() for h in f.hashes]]),))


def invoke(runner, home: Home | None, *args: str):  # noqa: ANN001, ANN201
    res = runner.invoke(cli, (["--home", str(home.root)] if home else []) + list(args))
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


def one_line(res, prefix: str, *needles: str) -> str:  # noqa: ANN001
    """The only line of stderr that starts with ``prefix`` (after indentation); it must hold each needle."""
    lines = [ln.strip() for ln in res.stderr.splitlines() if ln.strip().startswith(prefix)]
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def assert_error(res, *needles: str) -> None:  # noqa: ANN001
    assert res.exit_code == 1, res.output
    line = one_line(res, "Error:", *needles)
    assert res.stderr.strip() == line and res.stdout == ""


def assert_fail(res, kind: str, *needles: str) -> None:  # noqa: ANN001
    assert res.exit_code == 1, res.output
    assert "FAILED" in res.stderr
    one_line(res, "FAIL", f"FAIL {kind}:", *needles)


def test_lived_home_audits_clean(lived: Home, runner) -> None:  # noqa: ANN001
    res = invoke(runner, lived, "audit")
    assert res.exit_code == 0 and "OK" in res.stderr, res.output
    assert audit_home(lived).checked["events"] == N_REFUSALS + 4


# -- D4: damage in stored rows is a named audit failure; everyday commands give one Error: line ----------------

def flip_byte(home: Home) -> None:
    conn = db(home)
    raw = text_of(conn, 15).encode().replace(b"withdrawn", b"withdr\xffwn")
    conn.execute("UPDATE events SET canonical=CAST(? AS TEXT) WHERE seq=15", (raw,))


def canonical_blob(home: Home) -> None:
    conn = db(home)
    conn.execute("UPDATE events SET canonical=? WHERE seq=2", (text_of(conn, 2).encode(),))


def consent_id_list(home: Home) -> None:
    rewrite_body(db(home), 15, "consent_id", ["x"])


def consent_id_dict(home: Home) -> None:
    rewrite_body(db(home), 2, "consent_id", {"a": 1})


ROW_DAMAGE = [
    ("a byte of an event's text set to 0xFF", flip_byte, "malformed-event", ["event 15", "not UTF-8"]),
    ("an event's text stored as a blob", canonical_blob, "malformed-event", ["event 2 (clip.generated)", "blob"]),
    ("a revocation's consent_id made a list", consent_id_list, "malformed-event",
     ["event 15 (consent.revoked)", "consent_id is ['x']"]),
    ("a clip's consent_id made a dict", consent_id_dict, "malformed-event",
     ["event 2 (clip.generated)", "consent_id is {'a': 1}"]),
]


@pytest.mark.parametrize(("name", "damage", "kind", "needles"), ROW_DAMAGE, ids=[d[0] for d in ROW_DAMAGE])
def test_damaged_event_row_is_one_audit_failure_and_one_error_elsewhere(lived: Home, runner, name: str, damage,
                                                                          kind: str, needles: list) -> None:  # noqa: ANN001
    damage(lived)
    assert_fail(invoke(runner, lived, "audit"), kind, *needles)
    res = invoke(runner, lived, "audit", "--json")
    assert res.exit_code == 1 and json.loads(res.stdout)["ok"] is False
    assert_error(invoke(runner, lived, "consent", "list"), str(lived.ledger_path), "is damaged",
                 "restore it from a backup")
    with Ledger(lived) as led, pytest.raises(LedgerError, match="is damaged"):
        list(led.events())


def meta_value(key: str, value: object):  # noqa: ANN201
    def apply(home: Home) -> None:
        db(home).execute("UPDATE meta SET value=? WHERE key=?", (value, key))
    return apply


def delete_frontier(home: Home) -> None:
    db(home).execute("DELETE FROM meta WHERE key='frontier'")


META_DAMAGE = [
    ("a junk frontier", meta_value("frontier", "not json"), "frontier-mismatch", ["tree state", "'not json'"]),
    ("a frontier of the wrong shape", meta_value("frontier", "[3, 4]"), "frontier-mismatch", ["tree state"]),
    ("the frontier row deleted", delete_frontier, "frontier-mismatch", ["tree state", "missing"]),
]


@pytest.mark.parametrize(("name", "damage", "kind", "needles"), META_DAMAGE, ids=[d[0] for d in META_DAMAGE])
def test_damaged_tree_state_fails_the_audit_and_refuses_appends(lived: Home, runner, name: str, damage, kind: str,
                                                                needles: list) -> None:  # noqa: ANN001
    damage(lived)
    assert_fail(invoke(runner, lived, "audit"), kind, *needles)
    expires = (date.today() + timedelta(days=30)).isoformat()
    res = invoke(runner, lived, "consent", "grant", "bob", "--subject", "Bob", "--operator", "Lab", "--purpose",
                 "research", "--expires", expires, "--license", "CC BY 4.0 corpus")
    assert_error(res, str(lived.ledger_path), "is damaged", "tree state")
    with Ledger(lived) as led:
        n = len(led)
        with pytest.raises(LedgerError, match="is damaged"):
            led.append("clone.refused", {"voice_id": "a", "purpose": "game", "reason": "r"})
        assert len(led) == n


def test_non_hex_public_key_is_a_failure_in_the_audit_and_an_error_elsewhere(lived: Home, runner) -> None:  # noqa: ANN001
    meta_value("public_key", "zzzz")(lived)
    res = invoke(runner, lived, "audit")
    assert_fail(res, "public-key-mismatch", "damaged", "'zzzz'", "not 64 hex digits")
    assert_error(invoke(runner, lived, "consent", "list"), str(lived.ledger_path), "is damaged", "public key")
    with pytest.raises(LedgerError, match="public key"):
        Ledger(lived)


@pytest.mark.parametrize("sql", ["DROP TABLE events", "DROP TABLE tree_heads"])
def test_dropped_table_is_one_error_line(lived: Home, runner, sql: str) -> None:  # noqa: ANN001
    db(lived).execute(sql)
    for args in (["audit"], ["audit", "--json"]) + ((["consent", "list"],) if "events" in sql else ()):
        assert_error(invoke(runner, lived, *args), str(lived.ledger_path), "is damaged", "no such table")


def test_random_bytes_in_the_database_never_give_a_traceback(lived: Home, runner, rng) -> None:  # noqa: ANN001
    conn = db(lived)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(lived.ledger_path.read_bytes())
    at = data.find(b"purpose outside consent 5") - 512  # inside the pages that hold the events
    assert at > 0
    data[at:at + 1024] = rng.integers(0, 256, 1024, dtype="uint8").tobytes()
    lived.ledger_path.write_bytes(bytes(data))
    for args in (["audit"], ["consent", "list"]):
        res = invoke(runner, lived, *args)
        assert res.exit_code == 1, res.output
        errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Error:")]
        fails = [ln for ln in res.stderr.splitlines() if ln.strip().startswith("FAIL")]
        assert (len(errors) == 1 and str(lived.ledger_path) in errors[0]) or (args == ["audit"] and fails), res.output


@pytest.mark.parametrize("content", ["[1,2]", "5", "{garbage", "", "\xff\xfe"])
def test_damaged_checkpoint_file_is_one_audit_failure(lived: Home, runner, content: str) -> None:  # noqa: ANN001
    path = lived.root / "ledger.head.json"
    path.write_bytes(content.encode("latin-1"))
    res = invoke(runner, lived, "audit")
    kind = "missing-checkpoint" if content == "" else "bad-checkpoint"
    assert_fail(res, kind, str(path))
    assert invoke(runner, lived, "consent", "list").exit_code == 0


def test_checkpoint_that_is_a_folder_is_one_failure_and_append_says_what_to_do(lived: Home, runner) -> None:  # noqa: ANN001
    path = lived.root / "ledger.head.json"
    path.unlink()
    path.mkdir()
    assert_fail(invoke(runner, lived, "audit"), "bad-checkpoint", str(path))
    with pytest.raises(LedgerError, match="checkpoint .* cannot be written"):
        ledger.log_refusal(lived, voice_id="amy", purpose="game", reason="r")


def test_tree_head_from_a_non_object_is_a_ledger_error() -> None:
    for bad in ([1, 2], 5, "x", {"tree_size": 1}, {"tree_size": "1", "root_hash": "0" * 64, "timestamp": "t",
                                                   "key_id": "0" * 16, "signature": "0" * 128}):
        with pytest.raises(LedgerError, match="tree head"):
            TreeHead.from_dict(bad)


def test_damaged_tree_head_row_is_an_audit_failure(lived: Home, runner) -> None:  # noqa: ANN001
    db(lived).execute("UPDATE tree_heads SET signature=5 WHERE tree_size=5")
    assert_fail(invoke(runner, lived, "audit"), "malformed-tree-head", "head 5", "signature")
    with Ledger(lived) as led, pytest.raises(LedgerError, match="is damaged"):
        list(led.tree_heads())


def test_an_id_that_is_not_a_string_is_refused_at_append(home: Home) -> None:
    with Ledger(home) as led:
        with pytest.raises(ParameterError, match="consent_id"):
            led.append("consent.revoked", {"consent_id": ["x"], "reason": "r"})
        assert len(led) == 0


# -- bundles -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", ["garbage", "[1]", "{}"])
def test_damaged_bundle_checkpoint_is_one_audit_failure(lived: Home, runner, tmp_path: Path, content: str) -> None:  # noqa: ANN001
    export_bundle(lived, tmp_path / "b")
    (tmp_path / "b" / "checkpoint.json").write_text(content)
    assert_fail(invoke(runner, None, "audit", "--bundle", str(tmp_path / "b")), "bad-checkpoint", "checkpoint.json")


@pytest.mark.parametrize(("file", "content", "needle"), [
    ("public_key.txt", "zz", "public_key.txt"),
    ("events.jsonl", "[1, 2]\n", "events.jsonl"),
    ("tree_heads.jsonl", "{\"tree_size\": 1}\n", "tree_heads.jsonl"),
    ("events.jsonl", "\xff\n", "events.jsonl"),
])
def test_damaged_bundle_file_is_one_error_naming_it(lived: Home, runner, tmp_path: Path, file: str, content: str,
                                                    needle: str) -> None:  # noqa: ANN001
    export_bundle(lived, tmp_path / "b")
    (tmp_path / "b" / file).write_bytes(content.encode("latin-1"))
    assert_error(invoke(runner, None, "audit", "--bundle", str(tmp_path / "b")), needle)


def test_bad_value_in_a_bundle_row_is_an_audit_failure(lived: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    export_bundle(lived, tmp_path / "b")
    path = tmp_path / "b" / "tree_heads.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[3]["signature"] = 7
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert_fail(invoke(runner, None, "audit", "--bundle", str(tmp_path / "b")), "malformed-tree-head", "head 4")


# -- D2: a cut-off end, a missing checkpoint, and --checkpoint ------------------------------------------------

def cut_tail(home: Home, keep: int) -> None:
    """Delete the events from ``keep`` on and their heads, rebuild the tree state: no key needed."""
    conn = db(home)
    conn.execute("DELETE FROM events WHERE seq >= ?", (keep,))
    conn.execute("DELETE FROM tree_heads WHERE tree_size > ?", (keep,))
    set_frontier(conn)


def test_cut_tail_with_checkpoint_deleted_fails_and_says_how_to_recover(lived: Home, runner) -> None:  # noqa: ANN001
    cut_tail(lived, 15)  # the revocation is gone
    (lived.root / "ledger.head.json").unlink()
    res = invoke(runner, lived, "audit")
    assert_fail(res, "missing-checkpoint", "ledger.head.json", "15 events", "--checkpoint FILE", "backup")
    res = invoke(runner, lived, "audit", "--json")
    assert res.exit_code == 1 and [f["kind"] for f in json.loads(res.stdout)["failures"]] == ["missing-checkpoint"]


def test_empty_ledger_without_checkpoint_is_clean(home: Home, runner) -> None:  # noqa: ANN001
    assert invoke(runner, home, "audit").exit_code == 0


def test_checkpoint_catches_a_rolled_back_log(lived: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    export_bundle(lived, tmp_path / "b")
    pinned = tmp_path / "b" / "checkpoint.json"
    assert invoke(runner, lived, "audit", "--checkpoint", str(pinned)).exit_code == 0
    ledger.log_refusal(lived, voice_id="amy", purpose="game", reason="later")  # the log grew: still consistent
    assert invoke(runner, lived, "audit", "--checkpoint", str(pinned)).exit_code == 0
    assert invoke(runner, None, "audit", "--bundle", str(tmp_path / "b"), "--checkpoint", str(pinned)).exit_code == 0
    cut_tail(lived, 15)
    (lived.root / "ledger.head.json").unlink()
    res = invoke(runner, lived, "audit", "--checkpoint", str(pinned))
    assert res.exit_code == 1
    one_line(res, "FAIL truncated: pinned checkpoint:", str(pinned), "covers 16 events", "only 15", "rolled back")


def _resign(conn: sqlite3.Connection, home: Home) -> TreeHead:
    """Recompute and re-sign every head with the home's key (an insider who has it); returns the last."""
    resign_all(conn, home.signing_key())
    return TreeHead(*conn.execute("SELECT * FROM tree_heads ORDER BY tree_size DESC LIMIT 1").fetchone())


def test_checkpoint_catches_a_log_rewritten_and_resigned(lived: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    pinned = tmp_path / "pinned.json"
    shutil.copy(lived.root / "ledger.head.json", pinned)  # a copy of ledger.head.json serves too
    conn = db(lived)
    rewrite_body(conn, 5, "reason", "nothing to see")
    last = _resign(conn, lived)
    (lived.root / "ledger.head.json").write_text(json.dumps(last.to_dict()))
    assert invoke(runner, lived, "audit").exit_code == 0  # consistent in itself
    res = invoke(runner, lived, "audit", "--checkpoint", str(pinned))
    assert_fail(res, "tree-head-mismatch", "pinned checkpoint:", str(pinned), "first 16 events", "rewritten")


def test_checkpoint_signed_by_another_key_fails(lived: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate()
    kid = key_id(public_key_hex(other.public_key()))
    msg = tree_head_message(tree_size=3, root_hash="00" * 32, timestamp="t", key=kid)
    head = TreeHead(3, "00" * 32, "t", kid, other.sign(msg).hex())
    (tmp_path / "cp.json").write_text(json.dumps(head.to_dict()))
    assert_fail(invoke(runner, lived, "audit", "--checkpoint", str(tmp_path / "cp.json")), "bad-signature",
                "signed by key")


@pytest.mark.parametrize(("content", "needle"), [(None, "does not exist"), ("garbage", "not a tree head"),
                                                 ("[1]", "not a tree head")])
def test_unusable_checkpoint_option_is_one_error(lived: Home, runner, tmp_path: Path, content, needle) -> None:  # noqa: ANN001
    path = tmp_path / "cp.json"
    if content is not None:
        path.write_text(content)
    res = invoke(runner, lived, "audit", "--checkpoint", str(path))
    assert_error(res, str(path), needle, "--export")


def test_checkpoint_option_is_documented(runner) -> None:  # noqa: ANN001
    res = invoke(runner, None, "audit", "--help")
    assert res.exit_code == 0 and "--checkpoint" in res.output and "rolled back" in res.output


def test_bundle_without_events_or_checkpoint_fails(lived: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    export_bundle(lived, tmp_path / "b")
    (tmp_path / "b" / "checkpoint.json").unlink()
    assert_fail(invoke(runner, None, "audit", "--bundle", str(tmp_path / "b")), "missing-checkpoint",
                "checkpoint.json", "--export")
    for name in ("events.jsonl", "tree_heads.jsonl"):
        (tmp_path / "b" / name).write_text("")
    assert_fail(invoke(runner, None, "audit", "--bundle", str(tmp_path / "b")), "truncated", "no events")
    assert "truncated" in audit_bundle(tmp_path / "b").kinds()


# -- D8: missing evidence or model ----------------------------------------------------------------------------

@pytest.mark.parametrize(("relative", "needle", "named"), [
    ("consents/consent-amy.wav", "consent statement", "consents/consent-amy.wav"),
    ("voices/amy/model.pt", "voice model", "voices/amy/model.pt"),
    ("voices/amy/recordings/a.flac", "enrollment recordings", "voices/amy/recordings"),
])
def test_missing_statement_model_or_recording_fails_the_audit(lived: Home, runner, relative: str, needle: str,  # noqa: ANN001
                                                              named: str) -> None:
    (lived.root / relative).unlink()
    assert_fail(invoke(runner, lived, "audit"), "missing-file", needle, str(lived.root / named))
    report = audit_home(lived)
    assert [f.kind for f in report.failures] == ["missing-file"]


# -- D9 and D10: one edit, one clear line ---------------------------------------------------------------------

def test_edited_event_is_named_once_with_its_consequences_counted(lived: Home, runner) -> None:  # noqa: ANN001
    conn = db(lived)
    conn.execute("UPDATE events SET canonical=replace(canonical, 'consent 0', 'consent X') WHERE seq=3")
    res = invoke(runner, lived, "audit")
    assert_fail(res, "leaf-hash-mismatch", "event 3 (clone.refused)", "changed after it was logged")
    later = N_REFUSALS + 4 - 3 + 1  # heads 4..16 and the checkpoint
    one_line(res, "...", f"and {later} later tree head(s) no longer match and the stored tree state")
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 4 and lines[1].startswith("  NOTE no-challenge: event 0 (consent-amy)")  # logged as before codes
    failures = json.loads(invoke(runner, lived, "audit", "--json").stdout)["failures"]
    heads = [f for f in failures if f["kind"] == "tree-head-mismatch"]
    assert len(heads) == later and {f["consequence_of"] for f in heads} == {"leaf-hash-mismatch: event 3 (clone.refused)"}


def test_edited_and_rehashed_event_is_named_by_its_seq_and_kind(lived: Home, runner) -> None:  # noqa: ANN001
    rewrite_body(db(lived), 3, "reason", "edited")
    res = invoke(runner, lived, "audit")
    assert_fail(res, "tree-head-mismatch", "head 4", "event 3 (clone.refused) was changed after head 3 was signed")
    one_line(res, "...", f"and {N_REFUSALS + 4 - 4 + 1} later tree head(s) no longer match")


def test_deleted_row_is_one_line_with_the_rest_counted(lived: Home, runner) -> None:  # noqa: ANN001
    db(lived).execute("DELETE FROM events WHERE seq=4")
    res = invoke(runner, lived, "audit")
    assert_fail(res, "sequence-gap", "event 5 (clone.refused): found at position 4")
    one_line(res, "...", f"{N_REFUSALS + 4 - 6} later event(s) are out of place", "later tree head(s) no longer match",
             "2 signed head(s) or checkpoint(s) cover the missing event(s)")


def test_edited_time_column_names_the_column_and_both_values(lived: Home, runner) -> None:  # noqa: ANN001
    conn = db(lived)
    signed = json.loads(text_of(conn, 2))["time"]
    conn.execute("UPDATE events SET time='2020-01-01T00:00:00+00:00' WHERE seq=2")
    res = invoke(runner, lived, "audit")
    assert_fail(res, "event-mismatch", "event 2 (clip.generated)",
                f"time is '2020-01-01T00:00:00+00:00' in its column but '{signed}' in the signed text")
    assert "kind is" not in res.stderr and "seq is" not in res.stderr


def test_an_append_after_a_head_time_was_damaged_is_one_error(home) -> None:  # noqa: ANN001
    import sqlite3

    from guard import ledger
    from guard.errors import LedgerError

    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="one")
    with sqlite3.connect(home.ledger_path) as conn:
        conn.execute("UPDATE tree_heads SET timestamp='not a time'")
    with pytest.raises(LedgerError, match="newest tree head's time 'not a time' is not a time"):
        ledger.log_refusal(home, voice_id="amy", purpose="game", reason="two")
