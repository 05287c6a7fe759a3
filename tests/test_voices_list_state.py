"""`voiceguard voices list`: each voice's state (ok, deleted, incomplete, missing, ...) and what is wrong with it.

The voice is a tiny untrained model (seeded) with two kept recordings, enrolled under a licence
consent; damage is done to its folder in code. The list's verdict is held to what clone and the
audit say of the same voice.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from clone_support import install_tiny_voice

from cloner import erase, pipeline, voice
from cloner.authorize import voice_states
from guard import consent
from guard.cli import cli
from guard.errors import ConsentError
from guard.home import Home
from guard.ledger.audit import audit_home

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()
TEXT = "A sentence long enough to carry a watermark, if it were ever spoken."
SUMMARY_KEYS = ["voice_id", "consent_id", "language", "sample_rate", "created_at", "speech_s", "format_version"]


def _enroll(home: Home, voice_id: str) -> Path:
    """Enroll a tiny ``voice_id`` (recordings a, b) under a licence consent; its folder."""
    record = consent.grant(home, voice_id=voice_id, subject="Reader", operator="Lab", purposes=["research"],
                           expires=NEXT_YEAR, license_text="CC BY 4.0")
    return install_tiny_voice(home, record.consent_id, recordings=("a", "b"), voice_id=voice_id)


@pytest.fixture
def amy(home: Home) -> Home:
    _enroll(home, "amy")
    return home


def _consent_id(home: Home) -> str:
    (record,) = consent.list_consents(home)
    return record.consent_id


def _listed(runner, home: Home) -> list[dict]:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "voices", "list", "--json"])
    assert res.exit_code == 0 and res.stderr == "", res.output
    return [json.loads(line) for line in res.stdout.splitlines()]


def _human(runner, home: Home) -> str:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "voices", "list"])
    assert res.exit_code == 0 and res.stdout == "", res.output
    return res.stderr


def test_a_whole_voice_is_ok_and_keeps_its_keys(amy: Home, runner) -> None:  # noqa: ANN001
    (v,) = _listed(runner, amy)
    assert list(v)[:len(SUMMARY_KEYS)] == SUMMARY_KEYS
    assert v["state"] == "ok" and v["problems"] == [] and v["consent_status"] == "valid" and v["language"] == "en-us"
    line = _human(runner, amy)
    assert line.startswith("amy ") and line.count("\n") == 1
    assert not any(word in line for word in ("DELETED", "INCOMPLETE", "MISSING"))


def test_a_deleted_voice_restored_from_a_backup_is_listed_as_deleted(amy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    backup = tmp_path / "backup"
    shutil.copytree(amy.voices_dir / "amy", backup)
    erase.delete_voice(amy, "amy", reason="consent withdrawn")
    shutil.copytree(backup, amy.voices_dir / "amy")
    (v,) = _listed(runner, amy)
    assert v["state"] == "deleted" and v["deletion_event"] == 2 and v["language"] == "en-us"
    (problem,) = v["problems"]
    assert "are back in" in problem and "erasure-incomplete" in problem and "voiceguard voices delete amy" in problem
    line = _human(runner, amy)
    assert "DELETED: erased at " in line and "(ledger event 2); its clones are refused" in line and problem in line
    # what clone and the audit say of the same voice
    with pytest.raises(ConsentError, match="was deleted"):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=tmp_path / "c.wav")
    assert [n.kind for n in audit_home(amy).notes] == ["erasure-incomplete"]


def test_a_deleted_voice_whose_files_are_gone_is_listed_as_deleted_with_no_problem(amy: Home, runner) -> None:  # noqa: ANN001
    erase.delete_voice(amy, "amy", reason="retired")
    (v,) = _listed(runner, amy)
    assert v["state"] == "deleted" and v["problems"] == [] and v["deletion_event"] == 2
    assert v["language"] is None and v["consent_id"] == _consent_id(amy)
    assert "DELETED: erased at " in _human(runner, amy)


def _remove(relative: str) -> Callable[[Path], None]:
    return lambda folder: (folder / relative).unlink()


def _append_to_model(folder: Path) -> None:
    with open(folder / voice.WEIGHTS_FILE, "ab") as fh:
        fh.write(b"x")


@pytest.mark.parametrize(("damage", "problems"), [
    (_remove("model.pt"), ["model file model.pt missing"]),
    (_append_to_model, ["model file model.pt does not match the hash in voice.json"]),
    (_remove("recordings/b.flac"), ["1 of 2 kept recordings missing (b.wav)"]),
    (lambda folder: shutil.rmtree(folder / "recordings"), ["2 of 2 kept recordings missing (a.wav, b.wav)"]),
    (lambda folder: (_remove("model.pt")(folder), _remove("recordings/a.flac")(folder)),
     ["model file model.pt missing", "1 of 2 kept recordings missing (a.wav)"]),
])
def test_a_voice_missing_its_model_or_recordings_says_what_is_missing(amy: Home, runner, damage, problems) -> None:  # noqa: ANN001
    damage(amy.voices_dir / "amy")
    (v,) = _listed(runner, amy)
    assert v["state"] == "incomplete" and v["problems"] == problems
    line = _human(runner, amy)
    assert "INCOMPLETE: " + "; ".join(problems) + "; restore them from a backup" in line
    assert not audit_home(amy).ok  # the audit fails the same voice


def test_an_enrolled_voice_whose_folder_is_gone_is_listed_as_missing(amy: Home, runner) -> None:  # noqa: ANN001
    _enroll(amy, "bea")
    shutil.rmtree(amy.voices_dir / "amy")
    amy_v, bea_v = _listed(runner, amy)
    assert [amy_v["voice_id"], bea_v["voice_id"]] == ["amy", "bea"] and bea_v["state"] == "ok"
    assert list(amy_v)[:len(SUMMARY_KEYS)] == SUMMARY_KEYS and amy_v["consent_status"] == "valid"
    assert amy_v["state"] == "missing" and amy_v["language"] is None and amy_v["sample_rate"] is None
    (problem,) = amy_v["problems"]
    assert f"its folder {amy.voices_dir / 'amy'} is gone: restore it from a backup" in problem
    assert "`voiceguard voices delete amy --reason TEXT`" in problem
    amy_line = _human(runner, amy).splitlines()[0]
    assert amy_line.startswith("amy ") and " enrolled " in amy_line and "MISSING: its folder" in amy_line


def test_a_folder_no_enrollment_matches_is_not_enrolled(home: Home, runner) -> None:  # noqa: ANN001
    record = consent.grant(home, voice_id="amy", subject="Reader", operator="Lab", purposes=["research"],
                           expires=NEXT_YEAR, license_text="CC BY 4.0")
    install_tiny_voice(home, record.consent_id, recordings=("a",), log=False)
    (v,) = _listed(runner, home)
    assert v["state"] == "not-enrolled" and "has no enrollment record in the ledger" in v["problems"][0]
    assert "NOT-ENROLLED: voice 'amy' has no enrollment record" in _human(runner, home)


def test_an_unreadable_voice_keeps_its_error(amy: Home, runner) -> None:  # noqa: ANN001
    (amy.voices_dir / "amy" / voice.META_FILE).write_text("{not json")
    (v,) = _listed(runner, amy)
    assert v["state"] == "unreadable" and "corrupt voice file" in v["error"] and v["problems"] == [v["error"]]
    assert "amy" in _human(runner, amy) and " ERROR " in _human(runner, amy)


def test_an_empty_home_lists_nothing(home: Home, runner) -> None:  # noqa: ANN001
    assert voice_states(home, []) == []
    assert _listed(runner, home) == []
    assert "no voices enrolled" in _human(runner, home)
