"""`voiceguard voices delete`: a voice's model and recordings are erased, the erasure is logged, the audit passes.

The voice is a tiny untrained model with two kept recordings, enrolled under a spoken consent
whose statement file is made in code; ``speak`` is replaced by a seeded voiced signal, so a
clone takes a second. Stops and unwritable folders are simulated by making a call raise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from clone_support import install_tiny_voice
from conftest import voiced_glide

from cloner import erase, pipeline, voice
from guard import consent, ledger
from guard.cli import cli
from guard.consent.record import Consent
from guard.errors import CloneError, ConsentError
from guard.home import Home
from guard.ledger.audit import audit_bundle, audit_home, export_bundle
from guard.ledger.store import Ledger

TEXT = "A sentence long enough to carry a watermark, if it were ever spoken."
VOICE_FILES = ["voices/amy/model.pt", "voices/amy/recordings/a.flac", "voices/amy/recordings/a.txt",
               "voices/amy/recordings/b.flac", "voices/amy/recordings/b.txt", "voices/amy/voice.json"]


def _grant(home: Home, statement: Path) -> str:
    """Log a spoken consent for amy (research, audiobook) on ``statement``, signed by the home's key."""
    now = datetime.now(timezone.utc)
    record = Consent(consent_id="consent-amy", voice_id="amy", subject="Amy", operator="Lab",
                     purposes=("audiobook", "research"), languages=("en",), valid_from=now - timedelta(days=1),
                     expires_at=now + timedelta(days=30),
                     evidence={"kind": "statement", "file": str(statement),
                               "sha256": hashlib.sha256(statement.read_bytes()).hexdigest()},
                     created_at=now - timedelta(days=1))
    ledger.append(home, "consent.granted", {**record.signed_fields(),
                                            "signature": home.signing_key().sign(record.message()).hex()})
    return record.consent_id


@pytest.fixture
def amy(home: Home, monkeypatch) -> Home:  # noqa: ANN001
    """``home`` with voice amy enrolled (model, voice.json, two kept recordings) under a spoken consent."""
    statement = home.root / "consents" / "consent-amy.wav"
    statement.parent.mkdir()
    statement.write_bytes(b"RIFF the speaker reading the consent statement")
    consent_id = _grant(home, statement)
    install_tiny_voice(home, consent_id, recordings=("a", "b"))
    monkeypatch.setattr(pipeline, "speak", lambda model, text: voiced_glide(8.0, seed=len(text)))
    return home


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _events(home: Home, kind: str | None = None) -> list:
    with Ledger(home) as led:
        return list(led.events(kind))


def _delete(runner, home: Home, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "voices", "delete", *args])


def _hidden(home: Home) -> list[Path]:
    return sorted(home.voices_dir.glob(".amy.*"))


def _notes(home: Home) -> list:
    """The audit's notes, less ``no-challenge`` (the spoken consent made here in code cites no one-time code)."""
    return [n for n in audit_home(home).notes if n.kind != "no-challenge"]


# -- the erasure ------------------------------------------------------------------------------------------------

def test_delete_erases_the_voice_logs_it_and_the_audit_passes(amy: Home, runner, outdir: Path) -> None:  # noqa: ANN001
    pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=outdir / "before.wav")
    assert audit_home(amy).ok
    res = _delete(runner, amy, "amy", "--reason", "consent withdrawn by the speaker", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["voice_id"] == "amy" and out["consent_id"] == "consent-amy" and out["resumed"] is False
    assert out["removed"] == VOICE_FILES and out["reason"] == "consent withdrawn by the speaker"
    assert not (amy.voices_dir / "amy").exists() and _hidden(amy) == []
    assert (amy.root / "consents" / "consent-amy.wav").is_file()  # the evidence of the consent stays
    assert (outdir / "before.wav").is_file()  # and so do the clips already made
    (event,) = _events(amy, "voice.deleted")
    assert event.seq == out["event_seq"] and event.body == {
        "voice_id": "amy", "consent_id": "consent-amy", "reason": "consent withdrawn by the speaker",
        "removed": VOICE_FILES}
    report = audit_home(amy)
    assert report.ok, report.failures
    assert report.checked["deletions"] == 1 and _notes(amy) == []
    assert runner.invoke(cli, ["--home", str(amy.root), "audit"]).exit_code == 0
    listed = runner.invoke(cli, ["--home", str(amy.root), "voices", "list", "--json"])
    (shown,) = [json.loads(line) for line in listed.stdout.splitlines()]  # listed as deleted, nothing left to fix
    assert listed.exit_code == 0 and shown["voice_id"] == "amy" and shown["state"] == "deleted"
    assert shown["problems"] == [] and shown["deletion_event"] == out["event_seq"]


def test_a_bundle_of_a_log_with_a_deletion_audits_clean(amy: Home, tmp_path: Path) -> None:
    erase.delete_voice(amy, "amy", reason="retired")
    export_bundle(amy, tmp_path / "bundle")
    report = audit_bundle(tmp_path / "bundle")
    assert report.ok and report.checked["deletions"] == 1


def test_a_clone_of_a_deleted_voice_is_refused_and_logged(amy: Home, runner, outdir: Path) -> None:  # noqa: ANN001
    erase.delete_voice(amy, "amy", reason="retired")
    res = runner.invoke(cli, ["--home", str(amy.root), "clone", "amy", TEXT, "-o", str(outdir / "c.wav"),
                              "--purpose", "research"])
    assert res.exit_code == 1 and res.stderr.startswith("Error: clone refused:") and res.stderr.count("\n") == 1
    assert "voice 'amy' was deleted at" in res.stderr and "never cloned again" in res.stderr  # not "unknown voice"
    assert list(outdir.iterdir()) == []
    assert [(e.body["voice_id"], e.body["purpose"]) for e in _events(amy, "clone.refused")] == [("amy", "research")]
    report = audit_home(amy)
    assert report.ok and report.checked["refusals"] == 1


def test_a_voice_folder_restored_after_its_deletion_is_refused_noted_and_removed_again(amy: Home, runner,  # noqa: ANN001
                                                                                       outdir: Path,
                                                                                       tmp_path: Path) -> None:
    backup = shutil.copytree(amy.voices_dir / "amy", tmp_path / "backup")
    erase.delete_voice(amy, "amy", reason="retired")
    shutil.copytree(backup, amy.voices_dir / "amy")  # restored from a backup after the erasure
    with pytest.raises(ConsentError, match=r"clone refused: voice 'amy' was deleted at .* \(ledger event 2: retired\)"):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=outdir / "c.wav")
    assert list(outdir.iterdir()) == [] and len(_events(amy, "clone.refused")) == 1
    (note,) = _notes(amy)
    assert audit_home(amy).ok and note.kind == "erasure-incomplete"
    assert "voices delete amy" in note.detail and str(amy.voices_dir / "amy") in note.detail
    res = _delete(runner, amy, "amy", "--reason", "again", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["resumed"] is True and out["removed"] == VOICE_FILES and out["reason"] == "retired"
    assert len(_events(amy, "voice.deleted")) == 1  # finishing logs nothing more
    assert not (amy.voices_dir / "amy").exists() and _notes(amy) == []


def test_files_removed_by_hand_fail_the_audit_until_their_erasure_is_logged(amy: Home, runner) -> None:  # noqa: ANN001
    folder = amy.voices_dir / "amy"
    (folder / "model.pt").unlink()
    shutil.rmtree(folder / "recordings")
    res = runner.invoke(cli, ["--home", str(amy.root), "audit"])
    assert res.exit_code == 1 and "FAIL missing-file" in res.stderr
    assert "log that with `voiceguard voices delete amy --reason TEXT`" in res.stderr
    res = _delete(runner, amy, "amy", "--reason", "erased by hand", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["removed"] == ["voices/amy/voice.json"]
    assert runner.invoke(cli, ["--home", str(amy.root), "audit"]).exit_code == 0


def test_a_voice_folder_gone_altogether_is_one_failure_then_a_deletion_of_nothing(amy: Home, runner) -> None:  # noqa: ANN001
    shutil.rmtree(amy.voices_dir / "amy")
    report = audit_home(amy)
    assert [f.kind for f in report.failures] == ["missing-file"] and "voice model" in report.failures[0].detail
    res = _delete(runner, amy, "amy", "--reason", "erased by hand")
    assert res.exit_code == 0 and res.stdout == ""
    assert "Deleted voice amy: removed nothing (no files were left)" in res.stderr
    assert _events(amy, "voice.deleted")[0].body["removed"] == [] and audit_home(amy).ok


def test_deleting_under_a_valid_consent_says_how_to_revoke_it_too(amy: Home, runner) -> None:  # noqa: ANN001
    res = _delete(runner, amy, "amy", "--reason", "the studio closed the project")
    assert res.exit_code == 0 and res.stdout == ""
    assert "Deleted voice amy: removed 6 files" in res.stderr and "statement stays" in res.stderr
    assert "`voiceguard consent revoke consent-amy --reason TEXT`" in res.stderr
    assert consent.get(amy, "consent-amy").status() == "valid"  # deleting does not revoke


def test_deleting_after_the_revocation_needs_no_hint(amy: Home, runner) -> None:  # noqa: ANN001
    consent.revoke(amy, "consent-amy", reason="withdrawn")
    res = _delete(runner, amy, "amy", "--reason", "withdrawn")
    assert res.exit_code == 0 and "revoke" not in res.stderr.replace("Revoked", "")


# -- bad input changes nothing ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "code", "message"), [
    (["nobody", "--reason", "r"], 1, "Error: unknown voice 'nobody' (enrolled: amy)"),
    (["Amy", "--reason", "r"], 1, "Error: voice id must be 1-64 lowercase letters"),
    (["../amy", "--reason", "r"], 1, "Error: voice id must be 1-64 lowercase letters"),
    (["amy", "--reason", "   "], 2, "Invalid value for '--reason': is empty; say why"),
    (["amy"], 2, "Missing option '--reason'"),
    ([], 2, "Missing argument 'VOICE_ID'"),
])
def test_bad_input_is_one_error_and_deletes_nothing(amy: Home, runner, args: list[str], code: int,  # noqa: ANN001
                                                    message: str) -> None:
    before = len(_events(amy))
    res = _delete(runner, amy, *args)
    assert res.exit_code == code and message in res.stderr and "Traceback" not in res.output
    if code == 1:
        assert res.stderr.count("\n") == 1
    assert len(_events(amy)) == before and (amy.voices_dir / "amy" / "model.pt").is_file()


def test_an_unknown_voice_lists_only_the_voices_the_ledger_enrolled(amy: Home, runner) -> None:  # noqa: ANN001
    for stray in ("foo", "nova2"):  # folders nobody enrolled: not voices to offer
        (amy.voices_dir / stray).mkdir()
    res = _delete(runner, amy, "nobody", "--reason", "r")
    assert res.exit_code == 1 and res.stderr.startswith("Error: unknown voice 'nobody' (enrolled: amy); ")
    assert _delete(runner, amy, "amy", "--reason", "r").exit_code == 0
    res = _delete(runner, amy, "nobody", "--reason", "r")  # a deleted voice is no longer offered either
    assert res.exit_code == 1 and res.stderr.startswith("Error: unknown voice 'nobody' (enrolled: none); ")


def test_a_voice_deleted_already_is_an_error(amy: Home, runner) -> None:  # noqa: ANN001
    assert _delete(runner, amy, "amy", "--reason", "first").exit_code == 0
    res = _delete(runner, amy, "amy", "--reason", "second")
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert res.stderr.startswith("Error: voice 'amy' was already deleted at ") and "nothing of it is left" in res.stderr
    assert len(_events(amy, "voice.deleted")) == 1


def test_a_folder_the_ledger_never_enrolled_is_left_alone(amy: Home, runner) -> None:  # noqa: ANN001
    ghost = amy.voices_dir / "ghost"
    ghost.mkdir()
    (ghost / "voice.json").write_text("{}")
    res = _delete(runner, amy, "ghost", "--reason", "r")
    assert res.exit_code == 1 and "has no enrollment record in the ledger" in res.stderr
    assert (ghost / "voice.json").is_file() and _events(amy, "voice.deleted") == []


def test_an_unwritable_voices_folder_deletes_and_logs_nothing(amy: Home, runner, monkeypatch) -> None:  # noqa: ANN001
    real = os.access
    monkeypatch.setattr(erase.os, "access", lambda p, mode: False if Path(p) == amy.voices_dir / "amy" / "recordings"
                        else real(p, mode))
    res = _delete(runner, amy, "amy", "--reason", "r")
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert f"{amy.voices_dir / 'amy' / 'recordings'} is not writable here" in res.stderr
    assert "nothing was deleted or logged" in res.stderr
    assert _events(amy, "voice.deleted") == [] and sorted(
        p.relative_to(amy.root).as_posix() for p in (amy.voices_dir / "amy").rglob("*") if p.is_file()) == VOICE_FILES


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file modes")
def test_a_read_only_voices_folder_deletes_and_logs_nothing(amy: Home, runner) -> None:  # noqa: ANN001
    amy.voices_dir.chmod(0o555)
    try:
        res = _delete(runner, amy, "amy", "--reason", "r")
    finally:
        amy.voices_dir.chmod(0o755)
    assert res.exit_code == 1 and "is not writable here" in res.stderr
    assert _events(amy, "voice.deleted") == [] and (amy.voices_dir / "amy" / "model.pt").is_file()


def test_a_read_only_ledger_deletes_nothing(amy: Home, monkeypatch) -> None:  # noqa: ANN001
    from guard.errors import LedgerError
    from guard.ledger import store

    monkeypatch.setattr(store, "writable", lambda path: False)
    with pytest.raises(LedgerError, match="read-only here"):
        erase.delete_voice(amy, "amy", reason="r")
    assert (amy.voices_dir / "amy" / "model.pt").is_file() and _hidden(amy) == []


# -- stopped part-way -------------------------------------------------------------------------------------------

def test_a_deletion_stopped_before_its_event_lands_leaves_the_voice_as_it_was(amy: Home, monkeypatch) -> None:  # noqa: ANN001
    moved = []

    def stop(self, *args):  # noqa: ANN001, ANN002, ANN202 - signing comes after the folder was moved aside
        moved.extend(_hidden(amy))
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "_sign_head", stop)
    with pytest.raises(KeyboardInterrupt):
        erase.delete_voice(amy, "amy", reason="r")
    monkeypatch.undo()
    assert len(moved) == 1 and moved[0].name.startswith(".amy.deleting-")
    assert _hidden(amy) == [] and (amy.voices_dir / "amy" / "model.pt").is_file()
    assert _events(amy, "voice.deleted") == [] and audit_home(amy).ok
    assert [v["voice_id"] for v in voice.list_voices(amy)] == ["amy"]


def test_files_left_after_the_event_are_named_and_a_second_run_finishes(amy: Home, runner, monkeypatch,  # noqa: ANN001
                                                                       outdir: Path) -> None:
    def refuse(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(erase.shutil, "rmtree", refuse)
    res = _delete(runner, amy, "amy", "--reason", "r")
    monkeypatch.undo()
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert "is logged (ledger event 2) and its clones are refused, but" in res.stderr
    assert "run `voiceguard voices delete amy --reason TEXT` again to finish" in res.stderr
    (left,) = _hidden(amy)
    assert not (amy.voices_dir / "amy").exists()
    with pytest.raises(ConsentError, match="clone refused"):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=outdir / "c.wav")
    (note,) = _notes(amy)
    assert audit_home(amy).ok and note.kind == "erasure-incomplete" and str(left) in note.detail
    res = _delete(runner, amy, "amy", "--reason", "r", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["resumed"] is True
    assert len(json.loads(res.stdout)["removed"]) == len(VOICE_FILES)
    assert _hidden(amy) == [] and _notes(amy) == [] and len(_events(amy, "voice.deleted")) == 1


def test_a_deletion_logged_by_another_process_meanwhile_is_not_logged_twice(amy: Home, monkeypatch) -> None:  # noqa: ANN001
    calls = []
    real = erase._history

    def racing(home, voice_id):  # noqa: ANN001, ANN202 - the second look, under the write lock, sees the other one
        calls.append(voice_id)
        enrolled, deleted = real(home, voice_id)
        return (enrolled, deleted) if len(calls) == 1 else (enrolled, _events(home, "voice.enrolled")[0])

    monkeypatch.setattr(erase, "_history", racing)
    with pytest.raises(CloneError, match="deleted by another process meanwhile"):
        erase.delete_voice(amy, "amy", reason="r")
    assert _events(amy, "voice.deleted") == [] and (amy.voices_dir / "amy" / "model.pt").is_file()


@pytest.mark.parametrize("linked", ["folder", "recording"])
def test_a_voice_reached_through_a_link_is_not_logged_as_erased(amy: Home, tmp_path: Path, linked: str) -> None:
    folder = amy.voices_dir / "amy"
    if linked == "folder":  # the voice's data lives elsewhere, the home holds a link to it
        elsewhere = tmp_path / "elsewhere"
        shutil.move(str(folder), elsewhere)
        folder.symlink_to(elsewhere, target_is_directory=True)
        data = elsewhere / "model.pt"
    else:
        data = tmp_path / "b.flac"
        shutil.move(str(folder / "recordings" / "b.flac"), data)
        (folder / "recordings" / "b.flac").symlink_to(data)
    with pytest.raises(CloneError, match="is a link .* nothing was deleted or logged"):
        erase.delete_voice(amy, "amy", reason="retired")
    assert data.is_file() and _events(amy, "voice.deleted") == []


def test_a_clone_of_a_voice_whose_folder_was_removed_by_hand_says_so(amy: Home, outdir: Path) -> None:
    shutil.rmtree(amy.voices_dir / "amy")
    with pytest.raises(ConsentError, match=r"voice .amy. is enrolled in the ledger but its model is missing .*"
                                           r"`voiceguard voices delete amy"):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=outdir / "c.wav")
    assert len(_events(amy, "clone.refused")) == 1 and list(outdir.iterdir()) == []
