"""guard.provenance: marks (``audio.marked``) and clips share one payload space; each payload names one piece of audio."""

from __future__ import annotations

import math
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import marked_noise

from guard import consent, provenance
from guard.errors import ProvenanceError
from guard.home import Home
from guard.ledger import Ledger


@pytest.fixture
def granted(home: Home) -> str:
    return consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                         expires=date.today() + timedelta(days=30), license_text="CC BY 4.0").consent_id


@pytest.fixture
def marked(home: Home, tmp_path: Path) -> Path:
    return marked_noise(tmp_path / "marked.wav", home.watermark_key(), 0x600DF00D)


def _record(home: Home, path: Path, payload: int = 0x600DF00D) -> provenance.MarkRecord:
    return provenance.record_mark(home, payload=payload, audio_path=path, source_sha256="ab" * 32, strength=0.5)


def _events(home: Home) -> int:
    with Ledger(home) as led:
        return len(led.verified_events())


def test_a_recorded_mark_is_found_by_its_payload_and_is_no_clip(home: Home, marked: Path) -> None:
    mark = _record(home, marked)
    assert mark.seq == 0 and mark.record_id.startswith("mark-") and mark.audio_path == str(marked.resolve())
    assert provenance.lookup_mark(home, 0x600DF00D) == mark
    assert provenance.payload_owner(home, 0x600DF00D) == mark
    assert provenance.lookup(home, 0x600DF00D) is None  # a clip's record: there is none
    assert provenance.payload_owner(home, 0x600DF00E) is None


def test_new_payload_avoids_the_payloads_of_marks(home: Home, marked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(home, marked)
    draws = iter([0x600DF00D, 0x600DF00D, 0x12345678])
    monkeypatch.setattr(secrets, "randbits", lambda k: next(draws))
    assert provenance.new_payload(home) == 0x12345678


def test_a_clip_cannot_take_a_marks_payload(home: Home, granted: str, marked: Path, tmp_path: Path) -> None:
    mark = _record(home, marked)
    clip = marked_noise(tmp_path / "clip.wav", home.watermark_key(), 0x600DF00D, seed=1)
    with pytest.raises(ProvenanceError, match=f"payload 600df00d is already used by marked audio record "
                                              f"{mark.record_id} \\(ledger event 1: {marked.resolve()}, marked on "):
        provenance.issue(home, payload=0x600DF00D, voice_id="amy", consent_id=granted, text="Hi.", audio_path=clip,
                         generator="test", generator_version="1")
    assert _events(home) == 2  # the grant and the mark


def test_a_mark_cannot_take_a_used_payload(home: Home, granted: str, marked: Path, tmp_path: Path) -> None:
    clip = marked_noise(tmp_path / "clip.wav", home.watermark_key(), 0x0C11B, seed=1)
    rec = provenance.issue(home, payload=0x0C11B, voice_id="amy", consent_id=granted, text="Hi.", audio_path=clip,
                           generator="test", generator_version="1")
    with pytest.raises(ProvenanceError, match=f"already used by generated clip record {rec.record_id} \\(voice amy\\)"):
        _record(home, marked, payload=0x0C11B)
    first = _record(home, marked)
    with pytest.raises(ProvenanceError, match=f"already used by marked audio record {first.record_id}"):
        _record(home, marked)
    assert _events(home) == 3


@pytest.mark.parametrize(("change", "message"), [
    ({"home": "not a home"}, "home must be a guard.home.Home"),
    ({"payload": -1}, "payload must be an integer"),
    ({"payload": 2**32}, "payload must be an integer"),
    ({"payload": True}, "payload must be an integer"),
    ({"audio_path": "missing.wav"}, "no such marked file"),
    ({"source_sha256": "xyz"}, "source_sha256 must be 64 hex digits"),
    ({"strength": 0.0}, "strength must be within"),
    ({"strength": 1.5}, "strength must be within"),
    ({"strength": math.nan}, "strength must be within"),
    ({"strength": True}, "strength must be within"),
])
def test_record_mark_refuses_bad_arguments_and_logs_nothing(home: Home, marked: Path, tmp_path: Path, change: dict,
                                                            message: str) -> None:
    args = {"home": home, "payload": 7, "audio_path": marked, "source_sha256": "ab" * 32, "strength": 1.0}
    args.update(change)
    if change.get("audio_path"):
        args["audio_path"] = tmp_path / change["audio_path"]
    with pytest.raises(ProvenanceError, match=message):
        provenance.record_mark(**args)
    assert _events(home) == 0


@pytest.mark.parametrize("body", [{}, {"record_id": "m", "payload": "zz"}])
def test_a_malformed_mark_record_is_a_provenance_error(body: dict) -> None:
    with pytest.raises(ProvenanceError, match="malformed mark record"):
        provenance.MarkRecord.from_dict(body)
