"""The shared attack suite: every attack runs, is seeded, keeps the rate, and does what it says."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tone

from eval.attacks import ATTACKS, HARD_ATTACKS, MODERATE_ATTACKS, Attack, apply_attack
from guard.errors import AudioError, ParameterError

SR = 16000
CHANGES_LENGTH = {"crop_3s", "crop_5s", "splice", "speed_0.95", "speed_1.05", "stretch_0.9", "stretch_1.1"}


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    rng = np.random.default_rng(5)
    y = tone(220.0, 6.0) + tone(1500.0, 6.0, amplitude=0.1) + 0.02 * rng.standard_normal(6 * SR).astype(np.float32)
    return (y * np.hanning(y.shape[0]) ** 0.1).astype(np.float32)


def test_named_sets_are_in_the_registry() -> None:
    assert len(MODERATE_ATTACKS) == 14 and len(HARD_ATTACKS) == 12
    assert set(MODERATE_ATTACKS) | set(HARD_ATTACKS) <= set(ATTACKS)
    assert all(isinstance(a, Attack) and a.name == n and a.description for n, a in ATTACKS.items())


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_attack_runs_and_keeps_rate(signal: np.ndarray, name: str) -> None:
    out = apply_attack(name, signal, sample_rate=SR, seed=0)
    assert out.dtype == np.float32 and out.ndim == 1 and np.all(np.isfinite(out))
    if name not in CHANGES_LENGTH:
        assert out.shape == signal.shape


@pytest.mark.parametrize("name", ["white_noise_20db", "pink_noise_30db", "crop_3s", "reverb", "splice"])
def test_seeded(signal: np.ndarray, name: str) -> None:
    a = apply_attack(name, signal, sample_rate=SR, seed=1)
    b = apply_attack(name, signal, sample_rate=SR, seed=1)
    c = apply_attack(name, signal, sample_rate=SR, seed=2)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


@pytest.mark.parametrize(("name", "snr_db"), [("white_noise_30db", 30.0), ("white_noise_10db", 10.0), ("pink_noise_20db", 20.0)])
def test_noise_at_the_stated_snr(signal: np.ndarray, name: str, snr_db: float) -> None:
    out = apply_attack(name, signal, sample_rate=SR, seed=0)
    measured = 10 * np.log10(np.sum(signal.astype(np.float64) ** 2) / np.sum((out - signal).astype(np.float64) ** 2))
    assert abs(measured - snr_db) < 0.5


def test_lengths_of_crops_speed_and_splice(signal: np.ndarray) -> None:
    assert apply_attack("crop_3s", signal, sample_rate=SR, seed=0).shape[0] == 3 * SR
    assert apply_attack("crop_5s", signal[: 2 * SR], sample_rate=SR, seed=0).shape[0] == 2 * SR  # shorter: unchanged
    assert abs(apply_attack("speed_1.05", signal, sample_rate=SR, seed=0).shape[0] - signal.shape[0] / 1.05) < 3
    assert abs(apply_attack("stretch_0.9", signal, sample_rate=SR, seed=0).shape[0] - signal.shape[0] / 0.9) < 600
    spliced = apply_attack("splice", signal, sample_rate=SR, seed=0)
    assert spliced.shape[0] == signal.shape[0] + 4 * SR
    assert np.array_equal(spliced[2 * SR:2 * SR + signal.shape[0]], signal)


def test_filters_remove_their_band() -> None:
    y = tone(200.0, 2.0) + tone(5000.0, 2.0)
    low = apply_attack("lowpass_3500hz", y, sample_rate=SR, seed=0)
    high = apply_attack("highpass_1500hz", y, sample_rate=SR, seed=0)
    spec_low, spec_high = np.abs(np.fft.rfft(low)), np.abs(np.fft.rfft(high))
    bins = {f: int(f * y.shape[0] / SR) for f in (200, 5000)}
    assert spec_low[bins[5000]] < 0.01 * spec_low[bins[200]]
    assert spec_high[bins[200]] < 0.01 * spec_high[bins[5000]]


def test_gain_and_clipping() -> None:
    y = tone(300.0, 1.0, amplitude=0.5)
    assert np.allclose(apply_attack("gain_x0.1", y, sample_rate=SR, seed=0), 0.1 * y, atol=1e-7)
    loud = apply_attack("gain_x10_clip", y, sample_rate=SR, seed=0)
    assert loud.max() == pytest.approx(1.0) and np.mean(np.abs(loud) >= 0.999) > 0.5


def test_telephone_band_limits() -> None:
    y = tone(150.0, 2.0) + tone(1000.0, 2.0) + tone(6000.0, 2.0)
    out = apply_attack("telephone", y, sample_rate=SR, seed=0)
    spec = np.abs(np.fft.rfft(out))
    level = {f: spec[int(f * y.shape[0] / SR)] for f in (150, 1000, 6000)}
    assert level[6000] < 0.01 * level[1000] and level[150] < 0.3 * level[1000]


def test_echo_delay() -> None:
    y = np.zeros(SR, np.float32)
    y[100] = 1.0
    out = apply_attack("echo_0.5s", y, sample_rate=SR, seed=0)
    assert out[100] == 1.0 and out[100 + SR // 2] == pytest.approx(0.5)


def test_codecs_keep_alignment() -> None:
    y = tone(440.0, 2.0)
    out = apply_attack("mp3_32k", y, sample_rate=SR, seed=0)
    assert np.corrcoef(out[SR // 2:-SR // 2], y[SR // 2:-SR // 2])[0, 1] > 0.9


def test_works_at_other_rates() -> None:
    y = tone(440.0, 2.0, sample_rate=44100)
    for name in ("telephone", "lowpass_3500hz", "resample_8k", "bandpass_300_3400hz", "opus_16k"):
        assert apply_attack(name, y, sample_rate=44100, seed=0).shape == y.shape


@pytest.mark.parametrize(("name", "y", "error"), [
    ("nope", np.zeros(SR, np.float32), ParameterError),
    ("none", np.full(SR, np.nan, np.float32), AudioError),
    ("none", np.zeros((2, SR), np.float32), AudioError),
])
def test_bad_input(name: str, y: np.ndarray, error: type) -> None:
    with pytest.raises(error):
        apply_attack(name, y, sample_rate=SR, seed=0)
