"""The two-window pulse front-end (``linpulse2``): channels, the finer window's sharper view, config, model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import outputs_at_two_gains, untrained_model_file

from guard.detect import load_model
from guard.detect.features import FeatureConfig, features
from guard.detect.io import load_model_file
from guard.detect.model import ModelConfig
from guard.errors import ParameterError

SR = 16000
LINPULSE2 = FeatureConfig(kind="linpulse2", n_filters=128)


def _pulse_train(f0: float, *, seconds: float = 1.0) -> np.ndarray:
    """Impulses of height 0.5 every 1 / f0 s (rounded to whole samples): every harmonic in phase."""
    y = np.zeros(int(seconds * SR), dtype=np.float32)
    y[:: int(round(SR / f0))] = 0.5
    return y


def _scrambled(y: np.ndarray, *, seed: int) -> np.ndarray:
    """``y`` with the same magnitude spectrum and random phases (one FFT over the whole clip)."""
    spec = np.fft.rfft(y)
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, spec.shape[0])
    return np.fft.irfft(np.abs(spec) * np.exp(1j * phases), n=y.shape[0]).astype(np.float32)


@pytest.mark.parametrize("n_samples", [SR, SR + 77, 3 * SR])
def test_linpulse2_adds_a_third_channel_and_keeps_the_first_two(n_samples: int, rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(n_samples)).astype(np.float32)
    f = features(y, config=LINPULSE2)
    assert LINPULSE2.n_channels == 3 and LINPULSE2.n_energy_channels == 1
    assert f.shape == (3, 128, n_samples // 160 + 1) and f.dtype == np.float32 and np.all(np.isfinite(f))
    np.testing.assert_allclose(f[:2], features(y, config=FeatureConfig(kind="linpulse", n_filters=128)), rtol=1e-5, atol=1e-5)
    assert 0.6 < float(f[2].mean()) < 1.3  # white noise: near-exponential short-window power


def test_the_fine_window_sees_low_pitched_pulses_the_coarse_one_blurs() -> None:
    # 100 Hz pulses: the 4 ms window already spans 40 % of a period, the 1 ms window 10 %.
    f = features(_pulse_train(100.0), config=LINPULSE2)[:, :100, 5:-5]
    assert float(f[2].mean()) > 1.5 * float(f[1].mean())


@pytest.mark.parametrize("f0", [90.0, 140.0])
def test_random_phases_flatten_the_fine_pulse_map_more_than_the_energy_map(f0: float) -> None:
    pulses = _pulse_train(f0)
    a, b = features(pulses, config=LINPULSE2)[:, :110, 5:-5], features(_scrambled(pulses, seed=1), config=LINPULSE2)[:, :110, 5:-5]
    assert np.abs(a[0].mean(axis=1) - b[0].mean(axis=1)).mean() < 0.5  # natural-log units
    assert float(b[2].mean()) < 0.5 * float(a[2].mean())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "linpulse2", "fine_pulse_hop": 0}, "fine_pulse_hop > 0, given fine_pulse_n_fft=16, fine_pulse_hop=0"),
        ({"kind": "linpulse2", "fine_pulse_hop": 48}, "given fine_pulse_n_fft=16, fine_pulse_hop=48, hop_length=160"),
        ({"kind": "linpulse2", "fine_pulse_n_fft": 1}, "given fine_pulse_n_fft=1, fine_pulse_hop=4"),
    ],
)
def test_linpulse2_config_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        FeatureConfig(**kwargs)


def test_model_normalises_only_the_energy_channel(rng: np.random.Generator) -> None:
    net, a, b = outputs_at_two_gains(LINPULSE2, rng)
    assert net.norm.num_features == 3 and net.stages[0].body[0].in_channels == 3
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_model_file_round_trips_linpulse2(tmp_path: Path, rng: np.random.Generator) -> None:
    fc = FeatureConfig(kind="linpulse2", n_filters=64, fine_pulse_n_fft=32, fine_pulse_hop=8)
    path = untrained_model_file(tmp_path / "lp2.pt", fc, ModelConfig(channels=(8, 16)))
    assert torch.load(path, weights_only=True)["features"]["fine_pulse_hop"] == 8
    assert load_model_file(path).features == fc
    scored = load_model(path).score((0.1 * rng.standard_normal(4 * SR)).astype(np.float32), sample_rate=SR)
    assert np.isfinite(scored.score) and 0.0 <= scored.p_synthetic <= 1.0
