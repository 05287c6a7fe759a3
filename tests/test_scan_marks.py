"""scan tells audio the home marked with `watermark embed` (``audio.marked``) from a generated clip."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
from conftest import marked_noise, voiced_glide

from guard.audio import save
from guard.cli import cli
from guard.home import Home
from guard.ledger import Ledger
from guard.scan import ScanConfig, Scanner
from guard.scan_blocks import SCAN_RATE
from guard.scan_verdict import decide

MARK = {"detected": True, "payload": "0badcafe", "p_value": 1e-12, "segments": [[0.0, 10.0]], "reason": ""}
MARK_RECORD = {"record_id": "mark-1", "voice_id": None, "consent_id": None, "created_at": "2026-01-31T10:00:00+00:00",
               "valid": False, "consent_status_at_generation": None, "consent_status_now": None, "kind": "mark",
               "seq": 4}
DET_HIGH = {"score": 3.0, "p_synthetic": 0.9, "segments": [], "warning": None}


def test_decide_says_a_marked_payload_is_no_generated_clip() -> None:
    verdict, reason = decide(MARK, MARK_RECORD, DET_HIGH, threshold=0.5)
    assert verdict == "watermarked"
    assert ("payload 0badcafe: marked with `voiceguard watermark embed` on 2026-01-31 (record mark-1, ledger event 4; "
            "audio this home marked, not a generated clip: no voice or consent behind it)") in reason
    assert "no record" not in reason and "voice None" not in reason and "\n" not in reason


def test_decide_names_a_marked_piece_joined_into_a_clip() -> None:
    other = {"payload": "12345678", "segments": [[10.0, 20.0]], "provenance": MARK_RECORD}
    _, reason = decide({**MARK, "other_marks": [other]}, None, DET_HIGH, threshold=0.5)
    assert ("also a piece marked with payload 12345678 at 10.0-20.0 s (marked with `voiceguard watermark embed` on "
            "2026-01-31, record mark-1: not a generated clip)") in reason


def test_a_marked_recording_scans_as_marked_audio_not_a_clip(runner, home: Home, tmp_path: Path) -> None:  # noqa: ANN001
    talk = save(tmp_path / "talk.wav", np.tile(voiced_glide(5.0, seed=5), 2), sample_rate=SCAN_RATE)
    out = tmp_path / "marked.wav"
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(talk), "-o", str(out)])
    assert r.exit_code == 0, r.output
    with Ledger(home) as led:
        (event,) = led.verified_events("audio.marked")
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(out)
    assert result.verdict == "watermarked" and result.watermark["payload"] == event.body["payload"]
    assert (f"payload {event.body['payload']}: marked with `voiceguard watermark embed` on {event.time.date()} "
            f"(record {event.body['record_id']}, ledger event {event.seq}; audio this home marked, not a generated "
            f"clip: no voice or consent behind it)") in result.reason
    prov = result.to_dict()["provenance"]
    assert {"record_id", "voice_id", "consent_id", "created_at", "valid"} <= set(prov)  # the contract's keys stay
    assert prov["kind"] == "mark" and prov["record_id"] == event.body["record_id"] and prov["seq"] == event.seq
    assert prov["valid"] is False and prov["voice_id"] is None and prov["consent_id"] is None


def test_a_generated_clip_scans_as_kind_clip(home: Home, tmp_path: Path) -> None:
    from guard import consent, provenance

    grant = consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                          expires=date.today() + timedelta(days=9), license_text="CC BY 4.0")
    clip = marked_noise(tmp_path / "clip.wav", home.watermark_key(), 0x00C0FFEE, seconds=10.0)
    record = provenance.issue(home, payload=0x00C0FFEE, voice_id="amy", consent_id=grant.consent_id, text="Hi.",
                              audio_path=clip, generator="test", generator_version="1")
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(clip)
    assert result.provenance["kind"] == "clip" and result.provenance["record_id"] == record.record_id
    with Ledger(home) as led:
        (event,) = led.verified_events("clip.generated")
    assert record.seq == event.seq and result.provenance["seq"] == event.seq  # its ledger event, as for marks
    assert f"record {record.record_id} (voice amy, consent {grant.consent_id}" in result.reason
