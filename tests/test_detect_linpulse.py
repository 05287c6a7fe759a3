"""The pulse-depth front-end (``linpulse``): values on signals with known answers, alignment, config, model file, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import outputs_at_two_gains, untrained_model_file, write_buzz_corpus

from guard.cli import cli
from guard.detect import load_model
from guard.detect.calibration import Calibration
from guard.detect.features import FeatureConfig, features
from guard.detect.io import load_model_file
from guard.detect.model import ModelConfig
from guard.errors import ParameterError

SR = 16000
LINPULSE = FeatureConfig(kind="linpulse", n_filters=128)


def _harmonics(f0: float, *, aligned: bool, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Equal-amplitude harmonics of ``f0`` up to 7 kHz, in phase (a pulse train) or with random phases."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    k = np.arange(1, int(7000 // f0) + 1)
    phases = np.zeros(k.shape[0]) if aligned else rng.uniform(0, 2 * np.pi, k.shape[0])
    y = np.cos(2 * np.pi * f0 * k[:, None] * t[None, :] + phases[:, None]).sum(axis=0)
    return (0.1 * y / np.sqrt(np.mean(y**2))).astype(np.float32)  # same rms either way


@pytest.mark.parametrize("n_samples", [SR, SR + 77, 3 * SR])
def test_linpulse_shape_and_first_channel(n_samples: int, rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(n_samples)).astype(np.float32)
    f = features(y, config=LINPULSE)
    assert LINPULSE.n_channels == 2 and LINPULSE.n_energy_channels == 1
    assert f.shape == (2, 128, n_samples // 160 + 1) and f.dtype == np.float32 and np.all(np.isfinite(f))
    np.testing.assert_allclose(f[0], features(y, config=FeatureConfig(kind="linspec", n_filters=128)), rtol=1e-5, atol=1e-5)
    # white noise: the short-window power of a bin is near-exponential, its depth near 1
    assert 0.6 < float(f[1].mean()) < 1.1


def test_pulse_depth_is_zero_for_a_tone_and_high_for_a_pulse_train() -> None:
    t = np.arange(SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    assert float(features(tone, config=LINPULSE)[1][10:20, 5:-5].mean()) < 1e-3  # bands around 1 kHz
    pulses = _harmonics(100.0, aligned=True)
    assert float(features(pulses, config=LINPULSE)[1][:100, 5:-5].mean()) > 1.5


@pytest.mark.parametrize("f0", [110.0, 220.0])
def test_scrambled_phases_flatten_the_pulses_the_spectrum_stays(f0: float) -> None:
    # The same harmonic amplitudes: the 25 ms energy map barely changes, the pulse depth drops.
    aligned = features(_harmonics(f0, aligned=True), config=LINPULSE)[:, :110, 5:-5]
    scrambled = features(_harmonics(f0, aligned=False), config=LINPULSE)[:, :110, 5:-5]
    energy_change = np.abs(aligned[0].mean(axis=1) - scrambled[0].mean(axis=1)).mean()
    assert energy_change < 0.5  # natural-log units
    assert float(scrambled[1].mean()) < 0.8 * float(aligned[1].mean())


def test_linpulse_frames_are_aligned_with_the_energy_frames() -> None:
    rng = np.random.default_rng(3)
    y = (0.001 * rng.standard_normal(SR)).astype(np.float32)
    y[8000 - 40:8000 + 40] += (0.5 * rng.standard_normal(80)).astype(np.float32)  # a 5 ms burst at 0.5 s: frame 50
    f = features(y, config=LINPULSE)
    assert int(np.argmax(f[0].mean(axis=0))) == 50
    depth = f[1].mean(axis=0)
    assert int(np.argmax(depth)) in (49, 50, 51) and depth[50] > 1.4 * np.median(depth)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "linpulse", "pulse_hop": 0}, "pulse_hop > 0"),
        ({"kind": "linpulse", "pulse_hop": 48}, "hop_length a multiple of pulse_hop"),
        ({"kind": "linpulse", "pulse_n_fft": 1}, "pulse_n_fft >= 2"),
    ],
)
def test_linpulse_config_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        FeatureConfig(**kwargs)


def test_model_normalises_only_the_energy_channel(rng: np.random.Generator) -> None:
    net, a, b = outputs_at_two_gains(LINPULSE, rng)
    assert net.norm.num_features == 2 and net.stages[0].body[0].in_channels == 2
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)  # depth is a ratio: gain is no cue either


def test_model_file_round_trips_linpulse(tmp_path: Path, rng: np.random.Generator) -> None:
    fc = FeatureConfig(kind="linpulse", n_filters=64, pulse_n_fft=80, pulse_hop=32)
    path = untrained_model_file(tmp_path / "lp.pt", fc, ModelConfig(channels=(8, 16)), calibration=Calibration(0.5, 0.0))
    assert torch.load(path, weights_only=True)["features"]["pulse_hop"] == 32
    assert load_model_file(path).features == fc
    y = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    scored = load_model(path).score(y, sample_rate=SR)
    assert np.isfinite(scored.score) and 0.0 <= scored.p_synthetic <= 1.0


def test_cli_tiny_linpulse_training_gives_a_model_that_scores(runner, tmp_path: Path) -> None:  # noqa: ANN001
    corpus = write_buzz_corpus(tmp_path / "corpus", clip_s=1.2, counts=(6, 3, 3), seed=12)
    out = tmp_path / "lp.pt"
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus / "manifest.csv"), "-o", str(out), "--epochs", "2",
                              "--views", "1", "--seed", "1", "--batch-size", "8", "--channels", "8,16", "--features", "linpulse",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["model"] == str(out)
    mf = load_model_file(out)
    assert mf.features.kind == "linpulse" and len(mf.meta["history"]) == 2
