"""Marks are made only with the key the ledger names as current; every mark names its key; keys are exported by
fingerprint; an exported bundle is private from its first byte."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import SR

from guard.audio import save
from guard.cli import cli
from guard.errors import HomeError
from guard.home import Home, watermark_key_fingerprint
from guard.ledger import Ledger
from guard.ledger import source as ledger_source
from guard.ledger.audit import audit_home
from guard.watermark.rotation import current_key, rotate_key


def _run(runner, home: Home, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), *args])


def _noise(path: Path, seed: int) -> Path:
    """4 s of seeded white noise (0.1 rms) at SR: audio the mark reads back from."""
    y = (0.1 * np.random.default_rng(seed).standard_normal(4 * SR)).astype(np.float32)
    return save(path, y, sample_rate=SR)


def _one_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


def _marks(home: Home) -> list:
    with Ledger(home) as led:
        return list(led.events("audio.marked"))


def test_a_key_file_no_event_names_is_never_used_to_mark(runner, home: Home, tmp_path: Path) -> None:  # noqa: ANN001
    logged = rotate_key(home, reason="yearly")
    stray = home.keys_dir / "watermark-0002.key"
    stray.write_bytes(bytes(range(32)))  # what a rotate-key killed before its commit leaves
    assert current_key(home).fingerprint == logged.fingerprint and home.watermark_key() == stray.read_bytes()
    out = tmp_path / "o.wav"
    assert _run(runner, home, "watermark", "embed", str(_noise(tmp_path / "a.wav", 1)), "-o", str(out)).exit_code == 0
    (event,) = _marks(home)
    assert event.body["key_fingerprint"] == logged.fingerprint  # the mark names the key that made it
    found = json.loads(_run(runner, home, "watermark", "verify", "--json", str(out)).stdout)
    assert found["key_fingerprint"] == logged.fingerprint and found["key_index"] == 1  # the index counts the stray
    stray.unlink()
    assert json.loads(_run(runner, home, "watermark", "verify", "--json", str(out)).stdout)["detected"]


def test_extra_keys_with_no_rotation_logged_stop_marking_until_one_is(runner, home: Home,  # noqa: ANN001
                                                                      tmp_path: Path) -> None:
    first = current_key(home)
    home.rotate_watermark_key()  # a key added with the library before rotations were logged: it marked last
    legacy = home.watermark_key()
    res = _run(runner, home, "watermark", "embed", str(_noise(tmp_path / "a.wav", 1)), "-o", str(tmp_path / "o.wav"))
    error = _one_error(res.stderr)
    assert res.exit_code == 1 and "holds watermark key(s) watermark-0001.key besides init's" in error
    assert "run `voiceguard watermark rotate-key --reason TEXT`" in error and _marks(home) == []
    rotation = rotate_key(home, reason="log the keys")  # neither init's (perhaps retired) key nor the unlogged one
    assert rotation.previous_fingerprint == watermark_key_fingerprint(legacy) != first.fingerprint
    assert current_key(home).fingerprint == rotation.fingerprint


def test_a_home_whose_only_key_is_lost_says_to_restore_it(home: Home) -> None:
    (home.keys_dir / "watermark-0000.key").unlink()
    with pytest.raises(HomeError, match=r"\(made by init\) is missing; restore it from a backup \(clips") as err:
        current_key(home)
    assert "rotate-key" not in str(err.value)  # which would refuse the same way
    with pytest.raises(HomeError, match="no watermark key of .* can be read, and the ledger logs no rotation: restore"):
        rotate_key(home, reason="lost")


def test_a_lost_current_key_stops_marking_and_a_rotation_names_it_truly(runner, home: Home,  # noqa: ANN001
                                                                        tmp_path: Path) -> None:
    added = rotate_key(home, reason="yearly")
    added.key_file.unlink()
    res = _run(runner, home, "watermark", "embed", str(_noise(tmp_path / "a.wav", 1)), "-o", str(tmp_path / "o.wav"))
    error = _one_error(res.stderr)
    assert res.exit_code == 1 and f"the current watermark key {added.key_file} (added by ledger event " in error
    assert "is missing; restore it from a backup, or add a new key with `voiceguard watermark rotate-key" in error
    assert not (tmp_path / "o.wav").exists() and _marks(home) == []
    res = _run(runner, home, "watermark", "export-key", "-o", str(tmp_path / "k.key"))  # not an older key instead
    assert res.exit_code == 1 and "is missing" in _one_error(res.stderr) and not (tmp_path / "k.key").exists()
    again = rotate_key(home, reason="the current key was lost")
    assert again.previous_fingerprint == added.fingerprint  # the key it replaced, not the newest file left
    assert current_key(home).fingerprint == again.fingerprint


def test_a_current_key_changed_on_disk_is_refused(home: Home) -> None:
    added = rotate_key(home, reason="yearly")
    added.key_file.write_bytes(bytes(32))
    with pytest.raises(HomeError, match=r"holds another key \(fingerprint [0-9a-f]{16}\) than the one added by "
                                        r"ledger event \d+ \(fingerprint " + added.fingerprint):
        current_key(home)
    added.key_file.write_bytes(bytes(31))
    with pytest.raises(HomeError, match="is 31 bytes, not 32"):
        current_key(home)


def test_verify_names_the_key_by_fingerprint_across_rotations(runner, home: Home, tmp_path: Path) -> None:  # noqa: ANN001
    first = current_key(home).fingerprint
    out = tmp_path / "o.wav"
    _run(runner, home, "watermark", "embed", str(_noise(tmp_path / "a.wav", 1)), "-o", str(out))
    readings = []
    for turn in range(2):
        readings.append(json.loads(_run(runner, home, "watermark", "verify", "--json", str(out)).stdout))
        rotate_key(home, reason=f"turn {turn}")
    assert [r["key_fingerprint"] for r in readings] == [first, first] and [r["key_index"] for r in readings] == [0, 1]


def test_export_key_by_fingerprint_and_bad_output_names(runner, home: Home, tmp_path: Path) -> None:  # noqa: ANN001
    old = current_key(home)
    rotate_key(home, reason="yearly")
    res = _run(runner, home, "watermark", "export-key", "-o", str(tmp_path / "old.key"), "--key", old.fingerprint.upper())
    assert res.exit_code == 0 and (tmp_path / "old.key").read_bytes() == old.key, res.output
    assert f"fingerprint {old.fingerprint}" in res.stderr
    assert stat.S_IMODE((tmp_path / "old.key").stat().st_mode) == 0o600
    res = _run(runner, home, "watermark", "export-key", "-o", str(tmp_path / "x.key"), "--key", "0" * 16)
    assert res.exit_code == 1 and "has the fingerprint '0000000000000000'; its keys' fingerprints are" in \
        _one_error(res.stderr) and old.fingerprint in res.stderr
    for bad in ("", f"{tmp_path}/folder/"):
        res = _run(runner, home, "watermark", "export-key", "-o", bad)
        assert res.exit_code == 2 and "must name a file" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "folder").exists() and not (tmp_path / "x.key").exists()


def test_every_bundle_file_is_private_from_its_first_byte(home: Home, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = ledger_source._write_private
    written: list[Path] = []

    def stopped_after_one(path: Path, text: str) -> None:
        if written:
            raise KeyboardInterrupt  # an export killed between two files
        real(path, text)
        written.append(path)

    monkeypatch.setattr(ledger_source, "_write_private", stopped_after_one)
    with pytest.raises(KeyboardInterrupt):
        ledger_source.export_bundle(home, tmp_path / "bundle")
    (first,) = written
    assert first.name == "events.jsonl" and stat.S_IMODE(first.stat().st_mode) == 0o600


def test_the_audit_fails_when_a_key_that_marked_something_is_lost(runner, home: Home,  # noqa: ANN001
                                                                  tmp_path: Path) -> None:
    for n in range(2):
        out = tmp_path / f"o{n}.wav"
        _run(runner, home, "watermark", "embed", str(_noise(tmp_path / f"a{n}.wav", n)), "-o", str(out))
    assert audit_home(home).ok
    (home.keys_dir / "watermark-0000.key").write_bytes(bytes(32))  # init's key, named by no rotation
    report = audit_home(home)
    (failure,) = [f for f in report.failures if f.kind == "key-missing"]  # once, for both marks
    assert failure.id.startswith("event 0 (audio.marked mark-")
    assert f"has the fingerprint {_marks(home)[0].body['key_fingerprint']} of the key this was marked with" in \
        failure.detail


def test_the_audit_notes_a_key_file_no_event_names(home: Home) -> None:
    rotate_key(home, reason="yearly")
    (home.keys_dir / "watermark-0002.key").write_bytes(bytes(range(32)))
    report = audit_home(home)
    assert report.ok, report.failures
    (note,) = [n for n in report.notes if n.kind == "unlogged-key"]
    assert note.id == "watermark-0002.key" and "no mark is made with it" in note.detail


def test_a_lost_key_is_reported_once_by_the_rotation_and_the_marks(runner, home: Home,  # noqa: ANN001
                                                                  tmp_path: Path) -> None:
    added = rotate_key(home, reason="yearly")
    for n in range(2):
        _run(runner, home, "watermark", "embed", str(_noise(tmp_path / f"a{n}.wav", n)), "-o", str(tmp_path / f"{n}.wav"))
    added.key_file.unlink()
    lost = [f for f in audit_home(home).failures if f.kind == "key-missing"]
    assert len(lost) == 1 and "that this rotation added is gone" in lost[0].detail


def test_an_auditor_who_cannot_read_keys_gets_no_key_failures(runner, home: Home, tmp_path: Path,  # noqa: ANN001
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.ledger.keys as ledger_keys

    rotate_key(home, reason="yearly")
    _run(runner, home, "watermark", "embed", str(_noise(tmp_path / "a.wav", 1)), "-o", str(tmp_path / "o.wav"))
    monkeypatch.setattr(ledger_keys.os, "access", lambda path, mode: False)  # keys/ is 0700, another user's
    report = audit_home(home)
    assert report.ok and not [n for n in report.notes if n.kind == "unlogged-key"], report.failures
