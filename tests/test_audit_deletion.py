"""The audit's reading of ``voice.deleted``: erased files are expected, use after the erasure and odd deletions fail.

Every log is made in code: a licence consent, an enrollment whose model and kept recording are
small files in the home, and events appended through :mod:`guard.ledger`.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime, timedelta, timezone

import pytest

from guard import consent, ledger
from guard.home import Home
from guard.ledger.audit import audit_home


def _enrolled(home: Home, voice_id: str = "amy") -> str:
    """Enroll ``voice_id`` under a fresh licence consent (a model and one kept recording); return the consent id."""
    c = consent.grant(home, voice_id=voice_id, subject="Corpus", operator="Lab", purposes=["research"],
                      expires=date.today() + timedelta(days=30), license_text=f"CC BY 4.0 ({voice_id})")
    folder = home.voices_dir / voice_id
    (folder / "recordings").mkdir(parents=True)
    (folder / "model.pt").write_bytes(b"weights")
    (folder / "recordings" / "a.flac").write_bytes(b"audio")
    ledger.log_enrollment(home, voice_id=voice_id, consent_id=c.consent_id, files={"a.wav": "ab" * 32},
                          model_sha256=hashlib.sha256(b"weights").hexdigest(), model_version="1",
                          model_path=folder / "model.pt")
    return c.consent_id


def _clip(home: Home, consent_id: str, n: int) -> None:
    ledger.append(home, "clip.generated", {
        "record_id": f"rec-{n}", "payload": f"{n:08x}", "voice_id": "amy", "consent_id": consent_id,
        "text_sha256": "00" * 32, "audio_sha256": "00" * 32, "generator": "g", "generator_version": "1",
        "created_at": datetime.now(timezone.utc).isoformat(), "manifest": "embedded", "audio_path": None,
        "purpose": "research"})


def _causes(home: Home) -> list[tuple[str, str]]:
    return [(f.kind, f.id) for f in audit_home(home).causes()]


def test_files_of_a_voice_whose_deletion_is_logged_are_expected_gone(home: Home) -> None:
    cid = _enrolled(home)
    _clip(home, cid, 1)
    shutil.rmtree(home.voices_dir / "amy")
    assert [k for k, _ in _causes(home)] == ["missing-file"]  # gone, and nothing logged says why
    ledger.log_deletion(home, voice_id="amy", consent_id=cid, reason="withdrawn",
                        removed=["voices/amy/model.pt", "voices/amy/recordings/a.flac"])
    report = audit_home(home)
    assert report.ok and report.notes == []
    assert (report.checked["deletions"], report.checked["clips"], report.checked["enrollments"]) == (1, 1, 1)


def test_a_recording_missing_without_a_logged_deletion_fails(home: Home) -> None:
    _enrolled(home)
    (home.voices_dir / "amy" / "recordings" / "a.flac").unlink()
    report = audit_home(home)
    assert [f.kind for f in report.failures] == ["missing-file"]
    assert "1 of the 1 enrollment recordings of voice 'amy'" in report.failures[0].detail
    assert "(a.wav)" in report.failures[0].detail


def test_a_model_outside_a_homes_voices_folder_has_no_kept_recordings_to_check(home: Home, tmp_path) -> None:  # noqa: ANN001
    c = consent.grant(home, voice_id="amy", subject="Corpus", operator="Lab", purposes=["research"],
                      expires=date.today() + timedelta(days=30), license_text="CC BY 4.0")
    model = tmp_path / "another-generator" / "amy.pt"
    model.parent.mkdir()
    model.write_bytes(b"weights")
    ledger.log_enrollment(home, voice_id="amy", consent_id=c.consent_id, files={"a.wav": "ab" * 32},
                          model_sha256=hashlib.sha256(b"weights").hexdigest(), model_version="1", model_path=model)
    assert audit_home(home).ok


def test_a_clip_or_an_enrollment_after_the_deletion_fails(home: Home) -> None:
    cid = _enrolled(home)
    ledger.log_deletion(home, voice_id="amy", consent_id=cid, reason="withdrawn", removed=[])
    _clip(home, cid, 2)
    ledger.log_enrollment(home, voice_id="amy", consent_id=cid, files={"a.wav": "ab" * 32},
                          model_sha256="cd" * 32, model_version="1")
    causes = _causes(home)
    assert causes == [("after-deletion", "event 3 (clip.generated rec-2)"), ("after-deletion", "event 4 (voice.enrolled amy)")]
    assert "was deleted (event 2)" in audit_home(home).failures[0].detail


@pytest.mark.parametrize(("deletions", "detail"), [
    ([("bob", "consent-x")], "deletes voice 'bob', which was never enrolled before it"),
    ([("amy", "consent-other")], "names consent 'consent-other', but voice 'amy' was enrolled under consent"),
    ([("amy", None), ("amy", None)], "voice 'amy' was already deleted (event 2)"),
])
def test_a_deletion_that_does_not_fit_the_log_fails(home: Home, deletions: list, detail: str) -> None:
    cid = _enrolled(home)
    for vid, named in deletions:
        ledger.log_deletion(home, voice_id=vid, consent_id=named or cid, reason="r", removed=[])
    report = audit_home(home)
    assert [f.kind for f in report.failures] == ["bad-deletion"] and detail in report.failures[0].detail


def test_log_deletion_refuses_a_removed_list_that_is_not_one(home: Home) -> None:
    from guard.errors import ParameterError

    with pytest.raises(ParameterError, match="removed must be a list of paths"):
        ledger.log_deletion(home, voice_id="amy", consent_id="c", reason="r", removed="voices/amy/model.pt")
    assert "voice.deleted" in ledger.KINDS


def test_refusals_are_counted(home: Home) -> None:
    for purpose in ("game", "dubbing", "game"):
        ledger.log_refusal(home, voice_id="amy", purpose=purpose, reason="no consent")
    report = audit_home(home)
    assert report.checked["refusals"] == 3 and "3 refusals" in report.counts()
