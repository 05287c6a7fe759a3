"""The audit checks that a clip of an enrolled voice is covered by that speaker's own consent."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from guard import consent, ledger
from guard.consent.record import Consent
from guard.home import Home
from guard.ledger.audit import audit_home


def _grant(home: Home, consent_id: str, subject: str) -> None:
    now = datetime.now(timezone.utc)
    record = Consent(consent_id=consent_id, voice_id="amy", subject=subject, operator="Lab", purposes=("research",),
                     languages=("en",), valid_from=now - timedelta(days=1), expires_at=now + timedelta(days=30),
                     evidence={"kind": "license", "text": "CC BY 4.0 research corpus"}, created_at=now - timedelta(days=1))
    ledger.append(home, "consent.granted", {**record.signed_fields(), "signature": home.signing_key().sign(record.message()).hex()})


def _clip(home: Home, n: int, consent_id: str) -> None:
    ledger.append(home, "clip.generated", {
        "record_id": f"rec-{n}", "payload": f"{n:08x}", "voice_id": "amy", "consent_id": consent_id,
        "text_sha256": "00" * 32, "audio_sha256": "00" * 32, "generator": "g", "generator_version": "1",
        "created_at": datetime.now(timezone.utc).isoformat(), "manifest": "embedded", "audio_path": None,
        "purpose": "research"})


def _enrolled(home: Home) -> Path:
    model = home.voices_dir / "amy" / "model.pt"
    (model.parent / "recordings").mkdir(parents=True)
    model.write_bytes(b"voice model weights")
    (model.parent / "recordings" / "a.flac").write_bytes(b"the kept enrollment recording")
    _grant(home, "consent-amy", "Amy")
    ledger.log_enrollment(home, voice_id="amy", consent_id="consent-amy", files={"a.wav": "ab" * 32},
                          model_sha256=hashlib.sha256(model.read_bytes()).hexdigest(), model_version="1", model_path=model)
    return model


def test_clips_under_the_speakers_own_consents_pass(home: Home) -> None:
    _enrolled(home)
    _clip(home, 1, "consent-amy")
    _grant(home, "consent-amy-renewed", " amy ")  # the same subject renews (case and spaces aside)
    _clip(home, 2, "consent-amy-renewed")
    report = audit_home(home)
    assert report.ok, report.failures


def test_a_strangers_consent_does_not_cover_an_enrolled_voice(home: Home) -> None:
    _enrolled(home)
    _grant(home, "consent-mallory", "Mallory")
    _clip(home, 1, "consent-mallory")
    report = audit_home(home)
    kinds = [f.kind for f in report.failures]
    assert kinds == ["not-enrolled-speaker"], report.failures
    assert "consent-mallory" in report.failures[0].detail and "consent-amy" in report.failures[0].detail


def test_a_renewal_does_not_outlive_the_revoked_enrollment(home: Home) -> None:
    _enrolled(home)
    _grant(home, "consent-amy-renewed", "Amy")
    consent.revoke(home, "consent-amy", reason="withdrawn")
    _clip(home, 1, "consent-amy-renewed")
    report = audit_home(home)
    assert [f.kind for f in report.failures] == ["after-revocation"], report.failures
    assert "enrolled" in report.failures[0].detail


def test_clips_of_a_voice_never_enrolled_are_judged_by_their_consent(home: Home) -> None:
    # another generator using guard's provenance: no enrollment in the log
    _grant(home, "consent-amy", "Amy")
    _clip(home, 1, "consent-amy")
    assert audit_home(home).ok


def test_a_voice_id_is_enrolled_once(home: Home) -> None:
    import pytest

    from cloner.authorize import enrollment_consent
    from cloner.enroll import _check_never_enrolled
    from guard.errors import CloneError, ConsentError

    _check_never_enrolled(home, "amy")  # never enrolled: fine
    model = _enrolled(home)
    with pytest.raises(CloneError, match="'amy' was enrolled before .*enrolled once; choose another id"):
        _check_never_enrolled(home, "amy")  # even once its folder is gone
    assert enrollment_consent(home, "amy", model_consent_id="consent-amy", weights_sha256=None) == "consent-amy"
    _grant(home, "consent-other", "Mallory")
    ledger.log_enrollment(home, voice_id="amy", consent_id="consent-other", files={"a.wav": "cd" * 32},
                          model_sha256=hashlib.sha256(model.read_bytes()).hexdigest(), model_version="1", model_path=model)
    with pytest.raises(ConsentError, match="2 enrollment records"):
        enrollment_consent(home, "amy", model_consent_id="consent-other", weights_sha256=None)


def test_export_and_bundle_together_are_a_usage_error(runner, home: Home, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.cli import cli

    r = runner.invoke(cli, ["--home", str(home.root), "audit", "--bundle", str(tmp_path / "b"), "--export", str(tmp_path / "e")])
    assert r.exit_code == 2 and "cannot be combined with --bundle" in r.stderr and not (tmp_path / "e").exists()


def test_voices_list_says_when_the_speaker_renewed(home: Home) -> None:
    from cloner.authorize import consent_states

    now = datetime.now(timezone.utc)
    old = Consent(consent_id="consent-old", voice_id="amy", subject="Amy", operator="Lab", purposes=("research",),
                  languages=("en",), valid_from=now - timedelta(days=60), expires_at=now - timedelta(days=1),
                  evidence={"kind": "license", "text": "CC BY 4.0 research corpus"}, created_at=now - timedelta(days=60))
    ledger.append(home, "consent.granted", {**old.signed_fields(), "signature": home.signing_key().sign(old.message()).hex()})
    voices = [{"voice_id": "amy", "consent_id": "consent-old"}, {"voice_id": "bob", "consent_id": "consent-none"}]
    assert [v["consent_status"] for v in consent_states(home, voices)] == ["expired", "unknown"]
    _grant(home, "consent-new", "Amy")  # the same subject renews
    assert consent_states(home, voices)[0]["consent_status"] == "renewed"
