"""The audit's notes on what a home keeps that its log does not account for: voice folders no enrollment names,
files in folders inside ``consents/``.

Each home is made in code: licence consents, tiny enrolled voices (seeded), and folders and files
put beside them by hand.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from clone_support import install_tiny_voice

from cloner import erase
from guard import consent
from guard.cli import cli
from guard.home import Home
from guard.ledger.audit import audit_home

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def _enroll(home: Home, voice_id: str, *, log: bool = True) -> Path:
    """A tiny ``voice_id`` under a licence consent (enrolled in the ledger with ``log``); its folder."""
    record = consent.grant(home, voice_id=voice_id, subject="Reader", operator="Lab", purposes=["research"],
                           expires=NEXT_YEAR, license_text=f"CC BY 4.0 ({voice_id})")
    return install_tiny_voice(home, record.consent_id, recordings=("a",), voice_id=voice_id, log=log)


@pytest.fixture
def amy(home: Home) -> Home:
    _enroll(home, "amy")
    return home


def _notes(home: Home) -> list[tuple[str, str]]:
    return [(n.kind, n.id) for n in audit_home(home).notes]


def test_an_enrolled_voice_is_no_stray(amy: Home) -> None:
    report = audit_home(amy)
    assert report.ok and report.notes == []


@pytest.mark.parametrize("make", ["copied", "junk", "not-logged"])
def test_a_voice_folder_no_enrollment_names_is_noted(amy: Home, make: str) -> None:
    stray = amy.voices_dir / "nova2"
    if make == "copied":  # another enrolled voice's folder under a new name
        shutil.copytree(amy.voices_dir / "amy", stray)
    elif make == "junk":
        stray.mkdir()
        (stray / "model.pt").write_bytes(b"junk")
    else:  # an enrollment stopped after its folder was renamed into place, before its event was logged
        _enroll(amy, "nova2", log=False)
    report = audit_home(amy)
    assert report.ok and _notes(amy) == [("unenrolled-voice", str(stray))]
    detail = report.notes[0].detail
    assert "no enrollment in the ledger names voice 'nova2'" in detail and "biometric" in detail
    assert "remove it if nothing needs it" in detail


def test_the_cli_prints_the_note_and_passes(amy: Home, runner) -> None:  # noqa: ANN001
    (amy.voices_dir / "foo").mkdir()
    res = runner.invoke(cli, ["--home", str(amy.root), "audit"])
    assert res.exit_code == 0 and f"NOTE unenrolled-voice: {amy.voices_dir / 'foo'}: no enrollment" in res.stderr


def test_a_file_in_voices_is_an_unreferenced_file(amy: Home) -> None:
    (amy.voices_dir / "notes.txt").write_text("x")
    assert _notes(amy) == [("unreferenced-file", str(amy.voices_dir / "notes.txt"))]


def test_a_deleted_voice_restored_is_noted_once_as_erasure_incomplete(amy: Home, tmp_path: Path) -> None:
    backup = shutil.copytree(amy.voices_dir / "amy", tmp_path / "backup")
    erase.delete_voice(amy, "amy", reason="retired")
    shutil.copytree(backup, amy.voices_dir / "amy")
    assert _notes(amy) == [("erasure-incomplete", "voice amy")]


def test_files_in_a_folder_inside_consents_are_noted(amy: Home) -> None:
    sub = amy.root / "consents" / "sub"
    (sub / "deeper").mkdir(parents=True)
    (sub / "x.wav").write_bytes(b"RIFF a statement somebody filed away")
    (sub / "deeper" / "y.wav").write_bytes(b"RIFF another")
    (amy.root / "consents" / "empty").mkdir()  # holds nothing to protect
    report = audit_home(amy)
    assert report.ok and _notes(amy) == [("unreferenced-file", str(sub))]
    assert "no consent refers to the 2 file(s) in this folder (deeper/y.wav, x.wav)" in report.notes[0].detail


def test_a_home_without_voices_or_consents_has_no_strays(home: Home) -> None:
    report = audit_home(home)
    assert report.ok and report.notes == []


def test_the_folder_of_an_enrollment_killed_while_writing_is_noted(amy: Home) -> None:
    from guard.ledger.files import enrollment_staging

    staged = enrollment_staging(amy, "nova")  # the name enroll writes a voice under before its rename
    (staged / "recordings").mkdir(parents=True)
    (staged / "model.pt").write_bytes(b"half")
    report = audit_home(amy)
    assert report.ok and _notes(amy) == [("enrollment-interrupted", str(staged))]
    detail = report.notes[0].detail
    assert "enrollment of voice 'nova' stopped" in detail and "biometric" in detail and f"rm -r {staged}" in detail


def test_the_removal_the_note_suggests_is_quoted_for_a_shell(tmp_path: Path) -> None:
    from guard.home import init_home
    from guard.ledger.files import enrollment_staging

    spaced, _ = init_home(tmp_path / "Voice Projects" / "home")
    staged = enrollment_staging(spaced, "ada")
    staged.mkdir(parents=True)
    [note] = audit_home(spaced).notes
    assert note.kind == "enrollment-interrupted" and f"(rm -r '{staged}')" in note.detail


@pytest.mark.parametrize("name", [".bea.deleting-0123456789ab", ".nova.12345.tmp", ".nova.0123456789ab.tmp.x"])
def test_other_hidden_folders_are_neither_voices_nor_enrollments(amy: Home, name: str) -> None:
    (amy.voices_dir / name).mkdir()
    assert audit_home(amy).notes == []


def test_the_folder_enroll_leaves_when_killed_before_its_rename_is_noted(amy: Home, monkeypatch) -> None:  # noqa: ANN001
    import types

    import cloner.enroll as enroll_module

    def killed(*_args) -> None:  # noqa: ANN002
        raise KeyboardInterrupt

    def model_written(_model, folder: Path) -> str:  # noqa: ANN001
        folder.mkdir()
        (folder / "model.pt").write_bytes(b"weights")
        return "0" * 64

    monkeypatch.setattr(enroll_module, "save_voice", model_written)
    monkeypatch.setattr(enroll_module.os, "rename", killed)
    monkeypatch.setattr(enroll_module.shutil, "rmtree", lambda *_a, **_k: None)  # a kill runs no clean-up
    with pytest.raises(KeyboardInterrupt):
        enroll_module._install(amy, types.SimpleNamespace(voice_id="nova"), [], amy.voices_dir / "nova", ())
    [(kind, where)] = _notes(amy)
    assert kind == "enrollment-interrupted" and Path(where).parent == amy.voices_dir
    assert Path(where).name.startswith(".nova.") and (Path(where) / "model.pt").exists()
