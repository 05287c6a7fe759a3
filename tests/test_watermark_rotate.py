"""`voiceguard watermark rotate-key`: a new key that marks use, old clips still verify, a `key.rotated` event the
audit holds the key files to; bad input and a stopped rotation change nothing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import SR

from guard.audio import save
from guard.cli import cli
from guard.home import Home, watermark_key_fingerprint
from guard.ledger import Ledger
from guard.ledger.audit import CHECKED_KEYS, audit_bundle, audit_home, export_bundle


def _rotate(runner, home: Home, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "watermark", "rotate-key", *args])


def _events(home: Home, kind: str = "key.rotated") -> list:
    with Ledger(home) as led:
        return list(led.events(kind))


def _key_files(home: Home) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.keys_dir.glob("watermark-*"))}


def _noise(path: Path, seed: int) -> Path:
    """4 s of seeded white noise (0.1 rms) at SR: audio the mark reads back from."""
    y = (0.1 * np.random.default_rng(seed).standard_normal(4 * SR)).astype(np.float32)
    return save(path, y, sample_rate=SR)


def _embed(runner, home: Home, source: Path, out: Path, payload: str) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(source), "-o", str(out),
                              "--payload", payload])
    assert res.exit_code == 0, res.output


def _verify(runner, home: Home, *files: Path) -> list[dict]:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", "--json", *map(str, files)])
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.splitlines()]


def _one_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


# -- rotating ---------------------------------------------------------------------------------------------------

def test_new_marks_use_the_new_key_and_clips_marked_before_still_verify(runner, home: Home,  # noqa: ANN001
                                                                        tmp_path: Path) -> None:
    old_key = home.watermark_key()
    before = tmp_path / "before.wav"
    _embed(runner, home, _noise(tmp_path / "a.wav", 1), before, "1111aaaa")
    res = _rotate(runner, home, "--reason", "the exported copy was lost")
    assert res.exit_code == 0 and res.stdout == "", res.output
    new_path = home.keys_dir / "watermark-0001.key"
    new_key = home.watermark_key()
    assert new_key == new_path.read_bytes() != old_key and home.watermark_keys() == [new_key, old_key]
    assert stat.S_IMODE(new_path.stat().st_mode) == 0o600
    (line,) = res.stderr.splitlines()
    assert str(new_path) in line and watermark_key_fingerprint(new_key) in line
    assert "still verify" in line and "export-key" in line
    after = tmp_path / "after.wav"
    _embed(runner, home, _noise(tmp_path / "b.wav", 2), after, "2222bbbb")
    found = _verify(runner, home, before, after)
    assert [(d["detected"], d["payload"]) for d in found] == [(True, "1111aaaa"), (True, "2222bbbb")]
    assert [d["key_index"] for d in found] == [1, 0]  # the older key found the first, the new one the second


def test_the_event_names_the_key_by_file_and_fingerprint_never_the_key(home: Home) -> None:
    from guard.watermark.rotation import rotate_key

    old_key = home.watermark_key()
    rotation = rotate_key(home, reason="  yearly\n rotation ")
    new_key = home.watermark_key()
    (event,) = _events(home)
    assert event.seq == rotation.ledger_seq and event.body == {
        "key_file": "watermark-0001.key", "fingerprint": watermark_key_fingerprint(new_key),
        "previous_fingerprint": watermark_key_fingerprint(old_key), "reason": "yearly rotation"}
    assert len(event.body["fingerprint"]) == 16 and event.body["fingerprint"] != event.body["previous_fingerprint"]
    stored = b"".join(p.read_bytes() for p in home.root.glob("ledger.*"))  # the database, its WAL, the checkpoint
    for key in (new_key, old_key):
        assert key not in stored and key.hex().encode() not in stored


def test_json_prints_one_object_with_stable_keys(runner, home: Home) -> None:  # noqa: ANN001
    first = _rotate(runner, home, "--reason", "first", "--json")
    second = _rotate(runner, home, "--reason", "second", "--json")
    assert first.exit_code == 0 and second.exit_code == 0 and first.stderr == "", first.output
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert list(a) == ["key_file", "fingerprint", "previous_fingerprint", "reason", "ledger_seq"]
    assert a["key_file"] == str(home.keys_dir / "watermark-0001.key") and a["reason"] == "first"
    assert b["key_file"] == str(home.keys_dir / "watermark-0002.key") and b["previous_fingerprint"] == a["fingerprint"]
    assert b["fingerprint"] == watermark_key_fingerprint(home.watermark_key())
    assert [e.seq for e in _events(home)] == [a["ledger_seq"], b["ledger_seq"]] == [0, 1]


def test_a_lost_keys_name_is_never_given_to_a_new_key(home: Home) -> None:
    from guard.watermark.rotation import rotate_key

    rotate_key(home, reason="first")
    (home.keys_dir / "watermark-0001.key").unlink()
    assert rotate_key(home, reason="second").key_file.name == "watermark-0002.key"
    report = audit_home(home)
    assert report.kinds() == {"key-missing"}, report.failures  # still the lost key, not a changed one


@pytest.mark.parametrize(("args", "code", "says"), [
    ([], 2, "Missing option '--reason'"),
    (["--reason", ""], 2, "Invalid value for '--reason': is empty; say why (it is kept in the ledger)"),
    (["--reason", " \n\t "], 2, "Invalid value for '--reason': is empty"),  # a usage error, as a control character
    (["--reason", "x" * 201], 1, "--reason is 201 characters long; at most 200"),
    (["--reason", "a\x00b"], 2, "control character U+0000"),
    (["--reason", "ok", "--home", "{missing}"], 1, "does not exist"),
])
def test_bad_input_is_one_error_and_changes_nothing(runner, home: Home, tmp_path: Path, args: list[str],  # noqa: ANN001
                                                     code: int, says: str) -> None:
    keys = _key_files(home)
    args = [a.replace("{missing}", str(tmp_path / "nowhere")) for a in args]
    res = runner.invoke(cli, ["watermark", "rotate-key", "--home", str(home.root), *args])
    assert res.exit_code == code and res.stdout == "", res.output
    assert says in _one_error(res.stderr)
    assert _key_files(home) == keys and _events(home) == [] and not (tmp_path / "nowhere").exists()


# -- a rotation that does not land leaves no key ---------------------------------------------------------------

def test_a_rotation_stopped_before_its_event_lands_leaves_no_key(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.watermark.rotation import rotate_key

    keys = _key_files(home)
    seen: list[list[str]] = []

    def stop(self, *args):  # noqa: ANN001, ANN002, ANN202 - signing comes after the key file was made
        seen.append(sorted(_key_files(home)))
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "_sign_head", stop)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(home, reason="stopped")
    monkeypatch.undo()
    assert seen == [["watermark-0000.key", "watermark-0001.key"]]  # made under the lock, then taken back
    assert _key_files(home) == keys and _events(home) == [] and audit_home(home).ok


def test_a_rotation_interrupted_after_its_commit_keeps_its_key(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.ledger import store
    from guard.watermark.rotation import rotate_key

    def interrupted(*args: object) -> None:  # Ctrl-C as the checkpoint is written: the event has landed
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "write_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(home, reason="kept")
    (event,) = _events(home)
    assert watermark_key_fingerprint((home.keys_dir / event.body["key_file"]).read_bytes()) == event.body["fingerprint"]


def test_a_key_added_by_another_process_meanwhile_is_kept_and_nothing_is_logged(home: Home,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.errors import WatermarkError
    from guard.watermark.rotation import rotate_key

    append = Ledger.append
    rival: list[Path] = []

    def racing(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - another rotation, before the lock
        rival.append(home.rotate_watermark_key())
        return append(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "append", racing)
    with pytest.raises(WatermarkError, match="another watermark key was added .* meanwhile"):
        rotate_key(home, reason="raced")
    monkeypatch.undo()
    assert [p.name for p in rival] == ["watermark-0001.key"] and rival[0].is_file()  # the other one's key stays
    assert sorted(_key_files(home)) == ["watermark-0000.key", "watermark-0001.key"] and _events(home) == []


def test_a_read_only_ledger_adds_no_key(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.errors import LedgerError
    from guard.ledger import store
    from guard.watermark.rotation import rotate_key

    keys = _key_files(home)
    monkeypatch.setattr(store, "writable", lambda path: False)
    with pytest.raises(LedgerError, match="read-only here"):
        rotate_key(home, reason="r")
    assert _key_files(home) == keys


# -- the audit --------------------------------------------------------------------------------------------------

def test_the_audit_counts_rotations_and_passes(runner, home: Home, tmp_path: Path) -> None:  # noqa: ANN001
    assert CHECKED_KEYS[-2:] == ("key_rotations", "challenges") and CHECKED_KEYS.index("marks") == len(CHECKED_KEYS) - 3
    assert _rotate(runner, home, "--reason", "one").exit_code == 0
    assert _rotate(runner, home, "--reason", "two").exit_code == 0
    export_bundle(home, tmp_path / "bundle")
    for report in (audit_home(home), audit_bundle(tmp_path / "bundle")):
        assert report.ok and report.notes == [], report.failures
        checked = report.to_dict()["checked"]
        assert list(checked) == list(CHECKED_KEYS) and checked["key_rotations"] == 2
    res = runner.invoke(cli, ["--home", str(home.root), "audit"])
    assert res.exit_code == 0 and "2 key_rotations" in res.stderr, res.output


@pytest.mark.parametrize(("damage", "kind", "says"), [
    ("delete the rotated key", "key-missing", "watermark-0001.key that this rotation added is gone"),
    ("overwrite the rotated key", "key-changed", "holds another key"),
    ("delete the key it replaced", "key-missing", "of the key this rotation replaced"),
])
def test_the_audit_fails_when_a_logged_key_is_gone_or_changed(runner, home: Home, damage: str, kind: str,  # noqa: ANN001
                                                               says: str) -> None:
    assert _rotate(runner, home, "--reason", "one").exit_code == 0
    rotated, first = home.keys_dir / "watermark-0001.key", home.keys_dir / "watermark-0000.key"
    if damage == "overwrite the rotated key":
        rotated.write_bytes(bytes(range(32)))
    else:
        (rotated if damage == "delete the rotated key" else first).unlink()
    report = audit_home(home)
    (failure,) = report.failures
    assert failure.kind == kind and failure.id == "event 0 (key.rotated watermark-0001.key)" and says in failure.detail
    assert "can no longer be verified" in failure.detail
    res = runner.invoke(cli, ["--home", str(home.root), "audit", "--json"])
    assert res.exit_code == 1 and [f["kind"] for f in json.loads(res.stdout)["failures"]] == [kind]


def test_a_key_replaced_by_a_later_rotation_is_reported_once(home: Home) -> None:
    from guard.watermark.rotation import rotate_key

    rotate_key(home, reason="one")
    rotate_key(home, reason="two")
    (home.keys_dir / "watermark-0001.key").unlink()  # added by event 0, replaced by event 1
    report = audit_home(home)
    assert [(f.kind, f.id) for f in report.failures] == [("key-missing", "event 0 (key.rotated watermark-0001.key)")]


GOOD = {"key_file": "watermark-0001.key", "fingerprint": "0123456789abcdef", "previous_fingerprint": "fedcba9876543210",
        "reason": "r"}


@pytest.mark.parametrize(("change", "says"), [
    ({"key_file": "../signing-ed25519.pem"}, "key_file '../signing-ed25519.pem' is not the name of a watermark key"),
    ({"key_file": None}, "key_file None is not the name"),
    ({"fingerprint": "0123456789ABCDEF"}, "fingerprint '0123456789ABCDEF' is not 16 lower-case hex digits"),
    ({"previous_fingerprint": "abc"}, "previous_fingerprint 'abc' is not 16"),
    ({"reason": " "}, "reason ' ' is not a non-empty text"),
    ({"reason": 3}, "reason 3 is not a non-empty text"),
])
def test_a_malformed_rotation_event_fails_the_audit(home: Home, change: dict, says: str) -> None:
    with Ledger(home) as led:
        led.append("key.rotated", {**GOOD, **change})
    report = audit_home(home)
    (failure,) = report.failures
    assert failure.kind == "malformed-event" and says in failure.detail and report.checked["key_rotations"] == 1
