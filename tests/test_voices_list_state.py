"""`voiceguard voices list`: each voice's state (ok, deleted, consent-revoked, missing, ...) and what is wrong with it.

The voice is a tiny untrained model (seeded) with two kept recordings, enrolled under a licence
consent; damage is done to its folder in code. The list's verdict is held to what clone and the
audit say of the same voice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from clone_support import install_tiny_voice

from cloner import erase, pipeline, voice
from cloner.authorize import VOICE_KEYS, absent_voice, voice_states
from guard import consent, ledger
from guard.cli import cli
from guard.consent.record import Consent
from guard.errors import ConsentError
from guard.home import Home
from guard.ledger.audit import audit_home
from guard.ledger.files import deletion_aside

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
    assert "its files are still in" in problem and "erasure-incomplete" in problem and "voiceguard voices delete amy" in problem
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


def test_an_unreadable_voice_keeps_its_error_and_its_enrollment(amy: Home, runner) -> None:  # noqa: ANN001
    (amy.voices_dir / "amy" / voice.META_FILE).write_text("{not json")
    (v,) = _listed(runner, amy)
    assert v["state"] == "unreadable" and "corrupt voice file" in v["error"] and v["problems"] == [v["error"]]
    assert list(v) == list(VOICE_KEYS)  # the keys of every other state, none added or left out
    assert v["consent_id"] == _consent_id(amy) and v["consent_status"] == "valid"  # from the ledger
    assert v["created_at"] is not None and v["language"] is None and v["deleted_at"] is None
    line = _human(runner, amy)
    assert line.startswith("amy ") and f"consent {_consent_id(amy)} (valid)" in line
    assert "UNREADABLE: " in line and "corrupt voice file" in line and "ERROR" not in line


def test_an_unreadable_folder_no_enrollment_names_has_every_key_too(home: Home, runner) -> None:  # noqa: ANN001
    (home.voices_dir / "stray").mkdir(parents=True)
    (v,) = _listed(runner, home)
    assert list(v) == list(VOICE_KEYS) and v["state"] == "unreadable" and "voice.json missing" in v["error"]
    assert v["consent_id"] is None and v["consent_status"] is None and v["created_at"] is None
    assert _human(runner, home).startswith("stray ") and "UNREADABLE: " in _human(runner, home)


def test_a_deleted_voice_whose_restored_files_lack_voice_json_is_only_deleted(amy: Home, runner,  # noqa: ANN001
                                                                            tmp_path: Path) -> None:
    backup = shutil.copytree(amy.voices_dir / "amy" / "recordings", tmp_path / "backup")
    erase.delete_voice(amy, "amy", reason="retired")
    shutil.copytree(backup, amy.voices_dir / "amy" / "recordings")  # the recordings come back, voice.json does not
    (v,) = _listed(runner, amy)
    assert list(v) == list(VOICE_KEYS) and v["state"] == "deleted" and v["consent_id"] == _consent_id(amy)
    assert "voice.json missing" in v["error"] and str(amy.voices_dir / "amy") in v["problems"][0]
    line = _human(runner, amy)
    assert "DELETED: erased at " in line and "UNREADABLE" not in line and "ERROR" not in line


def test_files_a_logged_deletion_left_in_a_hidden_folder_are_named(amy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    backup = shutil.copytree(amy.voices_dir / "amy", tmp_path / "backup")
    erase.delete_voice(amy, "amy", reason="retired")
    left = amy.voices_dir / ".amy.deleting-abcdef123456"
    shutil.copytree(backup, left)  # what a deletion stopped after its event was logged leaves
    (v,) = _listed(runner, amy)
    (problem,) = v["problems"]
    assert v["state"] == "deleted" and str(left) in problem and "voiceguard voices delete amy" in problem
    (note,) = audit_home(amy).notes
    assert note.kind == "erasure-incomplete" and str(left) in note.detail


def _stop_a_deletion(home: Home, voice_id: str = "amy") -> Path:
    """What a `voices delete` killed after moving the folder aside, before its event was committed, leaves."""
    aside = deletion_aside(home, voice_id)
    (home.voices_dir / voice_id).rename(aside)
    return aside


def test_a_deletion_stopped_before_it_was_logged_is_named_with_both_ways_out(amy: Home, runner) -> None:  # noqa: ANN001
    aside = _stop_a_deletion(amy)
    assert aside.name.startswith(".amy.deleting-")
    (v,) = _listed(runner, amy)
    assert list(v) == list(VOICE_KEYS) and v["state"] == "deletion-interrupted"
    (problem,) = v["problems"]
    assert str(aside) in problem and "`voiceguard voices delete amy --reason TEXT` again to finish it" in problem
    assert f"rename {aside} back to {amy.voices_dir / 'amy'} to keep the voice" in problem
    assert "backup" not in problem
    assert "DELETION-INTERRUPTED: " + problem in _human(runner, amy)
    refusal = absent_voice(amy, "amy")  # what clone is refused with
    assert str(aside) in refusal and "rename" in refusal and "backup" not in refusal
    report = audit_home(amy)
    (note,) = report.notes
    assert note.kind == "deletion-interrupted" and note.detail == problem
    (failure,) = report.failures  # the enrolled model is not where the log says; the fix is no backup
    assert failure.kind == "missing-file" and str(aside) in failure.detail and "backup" not in failure.detail


def test_renaming_the_folder_back_keeps_the_voice(amy: Home, runner) -> None:  # noqa: ANN001
    _stop_a_deletion(amy).rename(amy.voices_dir / "amy")
    (v,) = _listed(runner, amy)
    assert v["state"] == "ok" and v["problems"] == [] and audit_home(amy).ok and audit_home(amy).notes == []


def test_running_the_deletion_again_finishes_it(amy: Home, runner) -> None:  # noqa: ANN001
    aside = _stop_a_deletion(amy)
    res = runner.invoke(cli, ["--home", str(amy.root), "voices", "delete", "amy", "--reason", "r", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["resumed"] is False and f"voices/{aside.name}/model.pt" in out["removed"] and not aside.exists()
    (v,) = _listed(runner, amy)
    assert v["state"] == "deleted" and v["problems"] == []
    report = audit_home(amy)
    assert report.ok and report.notes == []


def test_a_copy_a_stopped_deletion_left_beside_the_voice_is_a_problem_of_it(amy: Home, runner,  # noqa: ANN001
                                                                          tmp_path: Path) -> None:
    backup = shutil.copytree(amy.voices_dir / "amy", tmp_path / "backup")
    aside = _stop_a_deletion(amy)
    shutil.copytree(backup, amy.voices_dir / "amy")  # put back from a backup, the hidden folder still there
    (v,) = _listed(runner, amy)
    (problem,) = v["problems"]
    assert v["state"] == "ok" and str(aside) in problem and f"remove {aside} by hand to keep the voice" in problem
    assert "OK: " + problem in _human(runner, amy)
    report = audit_home(amy)
    assert report.ok and [(n.kind, n.detail) for n in report.notes] == [("deletion-interrupted", problem)]


def _old_consent(home: Home, voice_id: str, *, consent_id: str, expired: bool) -> None:
    """Log a licence consent for ``voice_id`` (research), granted 60 days ago, signed by the home's key; expired
    yesterday, or valid for a month."""
    now = datetime.now(timezone.utc)
    record = Consent(consent_id=consent_id, voice_id=voice_id, subject="Reader", operator="Lab",
                     purposes=("research",), languages=("en",), valid_from=now - timedelta(days=60),
                     expires_at=now + timedelta(days=-1 if expired else 30),
                     evidence={"kind": "license", "text": "CC BY 4.0"}, created_at=now - timedelta(days=60))
    ledger.append(home, "consent.granted", {**record.signed_fields(),
                                            "signature": home.signing_key().sign(record.message()).hex()})


def test_a_voice_whose_consent_was_revoked_is_not_ok(amy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    consent.revoke(amy, _consent_id(amy), reason="withdrawn")
    (v,) = _listed(runner, amy)
    assert v["state"] == "consent-revoked" and v["consent_status"] == "revoked"
    (problem,) = v["problems"]
    with pytest.raises(ConsentError) as refused:  # the problem is clone's own refusal
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=tmp_path / "c.wav")
    assert str(refused.value) == f"clone refused: {problem}"
    assert "CONSENT-REVOKED: " + problem in _human(runner, amy)


def test_a_voice_whose_consent_expired_is_not_ok_until_the_speaker_renews_it(home: Home, runner,  # noqa: ANN001
                                                                            tmp_path: Path) -> None:
    _old_consent(home, "amy", consent_id="consent-old", expired=True)
    install_tiny_voice(home, "consent-old", recordings=("a",))
    (v,) = _listed(runner, home)
    assert v["state"] == "consent-expired" and v["consent_status"] == "expired"
    assert "consent-old for voice 'amy' is expired" in v["problems"][0]
    with pytest.raises(ConsentError, match="is expired"):
        pipeline.clone(home, "amy", TEXT, purpose="research", out_path=tmp_path / "c.wav")
    _old_consent(home, "amy", consent_id="consent-new", expired=False)  # the same subject renews
    (v,) = _listed(runner, home)
    assert v["state"] == "ok" and v["consent_status"] == "renewed" and v["problems"] == []


def test_a_voice_whose_consent_statement_is_gone_is_refused_under_a_valid_consent(home: Home, runner) -> None:  # noqa: ANN001
    statement = home.root / "consents" / "consent-amy.wav"
    statement.parent.mkdir()
    statement.write_bytes(b"RIFF the speaker reading the consent statement")
    now = datetime.now(timezone.utc)
    record = Consent(consent_id="consent-amy", voice_id="amy", subject="Amy", operator="Lab", purposes=("research",),
                     languages=("en",), valid_from=now - timedelta(days=1), expires_at=now + timedelta(days=30),
                     evidence={"kind": "statement", "file": str(statement),
                               "sha256": hashlib.sha256(statement.read_bytes()).hexdigest()},
                     created_at=now - timedelta(days=1))
    ledger.append(home, "consent.granted", {**record.signed_fields(),
                                            "signature": home.signing_key().sign(record.message()).hex()})
    install_tiny_voice(home, "consent-amy", recordings=("a",))
    statement.unlink()
    (v,) = _listed(runner, home)
    assert v["state"] == "consent-refused" and v["consent_status"] == "valid"
    assert "its statement recording" in v["problems"][0] and "is missing" in v["problems"][0]


def test_an_empty_home_lists_nothing(home: Home, runner) -> None:  # noqa: ANN001
    assert voice_states(home, []) == []
    assert _listed(runner, home) == []
    assert "no voices enrolled" in _human(runner, home)


def test_a_clone_after_a_stopped_deletion_names_the_hidden_folder(amy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    aside = _stop_a_deletion(amy)
    res = runner.invoke(cli, ["--home", str(amy.root), "clone", "amy", TEXT, "-o", str(tmp_path / "c.wav"),
                              "--purpose", "research"])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert res.stderr.startswith("Error: clone refused: voice 'amy' is enrolled in the ledger but its model is not in")
    assert str(aside) in res.stderr and "rename" in res.stderr and "backup" not in res.stderr


def test_a_clone_of_an_unknown_voice_lists_only_enrolled_voices(amy: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    (amy.voices_dir / "foo").mkdir()
    res = runner.invoke(cli, ["--home", str(amy.root), "clone", "nosuch", TEXT, "-o", str(tmp_path / "c.wav"),
                              "--purpose", "research"])
    assert res.exit_code == 1 and res.stderr == "Error: clone refused: unknown voice 'nosuch' (enrolled: amy)\n"
