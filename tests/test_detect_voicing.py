"""Voiced-speech gate of the detector: noise and silence hold none, speech and tones do."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tone, untrained_model_file

from guard.detect import voicing
from guard.detect.voicing import MIN_VOICED_S, voiced_seconds
from guard.errors import AudioError
from guard.scan_verdict import decide

SR = 16000


def _brown(rng: np.random.Generator, seconds: float) -> np.ndarray:
    y = np.cumsum(rng.standard_normal(int(seconds * SR)))
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_noise_and_silence_hold_no_voiced_speech(rng: np.random.Generator) -> None:
    white = (0.3 * rng.standard_normal(5 * SR)).astype(np.float32)
    clipped = np.clip(10 * white, -1.0, 1.0)
    for y in (white, clipped, _brown(rng, 5.0), np.zeros(5 * SR, np.float32), (1e-6 * white)):
        assert voiced_seconds(y, sample_rate=SR) < MIN_VOICED_S


def test_speech_and_tones_are_voiced(speech: np.ndarray) -> None:
    assert voiced_seconds(speech, sample_rate=SR) > 10 * MIN_VOICED_S
    assert voiced_seconds(tone(220.0, 2.0), sample_rate=SR) > 1.8  # a tone is periodic: speech vs noise only
    # any rate; the measure does not depend on the level
    loud = voiced_seconds(speech, sample_rate=SR)
    assert abs(voiced_seconds(0.01 * speech, sample_rate=SR) - loud) <= 0.02
    from guard.audio import resample

    assert abs(voiced_seconds(resample(speech, orig_sr=SR, target_sr=44100), sample_rate=44100) - loud) <= 0.1


def test_short_empty_and_bad_input() -> None:
    assert voiced_seconds(np.zeros(0, np.float32), sample_rate=SR) == 0.0
    assert voiced_seconds(tone(220.0, 0.01), sample_rate=SR) == 0.0  # shorter than one frame
    with pytest.raises(AudioError):
        voiced_seconds(np.full(SR, np.nan, np.float32), sample_rate=SR)


def test_detector_score_says_when_it_does_not_apply(tmp_path, rng: np.random.Generator, speech: np.ndarray) -> None:  # noqa: ANN001
    from guard.detect import load_model

    detector = load_model(untrained_model_file(tmp_path / "m.pt"))
    noise = detector.score((0.3 * rng.standard_normal(3 * SR)).astype(np.float32), sample_rate=SR)
    assert not noise.speech and "no voiced speech" in noise.warning and noise.to_dict()["speech"] is False
    voiced = detector.score(speech, sample_rate=SR)
    assert voiced.speech and voiced.warning is None and voiced.to_dict()["voiced_s"] > 1.0


def test_scan_does_not_call_noise_synthetic() -> None:
    no_mark = {"detected": False, "payload": None, "p_value": 0.4, "segments": [], "reason": ""}
    noise = {"score": 3.0, "p_synthetic": 0.9, "segments": [], "warning": "no voiced speech found", "speech": False}
    verdict, reason = decide(no_mark, None, noise, threshold=0.5)
    assert verdict == "no-evidence" and "does not apply" in reason
    assert decide(no_mark, None, {**noise, "speech": True}, threshold=0.5)[0] == "likely-synthetic"


def test_frames_taken_a_chunk_at_a_time_count_as_when_taken_whole(monkeypatch) -> None:  # noqa: ANN001
    rng = np.random.default_rng(3)
    t = np.arange(int(16000 * 12.0)) / 16000
    y = 0.3 * np.sin(2 * np.pi * 140 * t) * (np.sin(2 * np.pi * 0.4 * t) > 0) + 0.02 * rng.standard_normal(t.shape)
    whole = voicing.voiced_seconds(y, sample_rate=16000)
    monkeypatch.setattr(voicing, "_CHUNK_FRAMES", 7)  # chunk edges everywhere, one frame short of a multiple
    assert voicing.voiced_seconds(y, sample_rate=16000) == whole and 4.0 < whole < 8.0
