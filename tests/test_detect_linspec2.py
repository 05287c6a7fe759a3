"""The two-resolution front-end (``linspec2``): shapes, frame alignment, the model file option, a tiny training run, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import outputs_at_two_gains, untrained_model_file, write_buzz_corpus

from guard.audio import load
from guard.cli import cli
from guard.detect import load_model
from guard.detect.calibration import Calibration
from guard.detect.features import FeatureConfig, features
from guard.detect.io import load_model_file, save_model
from guard.detect.model import ModelConfig
from guard.errors import AudioError, ParameterError

SR = 16000
LINSPEC2 = FeatureConfig(kind="linspec2", n_filters=128)


@pytest.mark.parametrize("n_samples", [SR, SR + 77, 3 * SR])
def test_linspec2_shape_and_first_channel(n_samples: int, rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(n_samples)).astype(np.float32)
    f = features(y, config=LINSPEC2)
    assert LINSPEC2.n_channels == 2 and LINSPEC2.n_energy_channels == 2
    assert f.shape == (2, 128, n_samples // 160 + 1) and f.dtype == np.float32
    assert np.all(np.isfinite(f))
    # Channel 0 is exactly the linspec map; channel 1 is a different (longer-window) view.
    np.testing.assert_allclose(f[0], features(y, config=FeatureConfig(kind="linspec", n_filters=128)), rtol=1e-5, atol=1e-5)
    assert not np.allclose(f[0], f[1], atol=0.1)


def test_linspec2_frames_are_aligned_and_the_long_window_smears_in_time() -> None:
    y = np.zeros(SR, np.float32)
    y[8000:8004] = 1.0  # a click at 0.5 s: frame 50 at a 10 ms hop
    f = features(y, config=LINSPEC2)
    energy = np.exp(f).sum(axis=1)  # (2, frames)
    assert np.argmax(energy[0]) == 50 and np.argmax(energy[1]) == 50
    above = (energy > 0.5 * energy.max(axis=1, keepdims=True)).sum(axis=1)
    assert above[1] > above[0]  # 64 ms vs 25 ms window


def test_linspec2_resolves_closer_partials() -> None:
    # Partials on the centres of bands 15 and 17 (bands are 8000 / 129 Hz apart): the 64 ms
    # window's narrow main lobe leaves band 16 between them emptier than the 25 ms window does.
    band_hz = (SR / 2) / 129
    t = np.arange(SR) / SR
    y = (0.3 * np.sin(2 * np.pi * 16 * band_hz * t) + 0.3 * np.sin(2 * np.pi * 18 * band_hz * t)).astype(np.float32)
    f = features(y, config=LINSPEC2)[:, :, 20:80].mean(axis=2)
    contrast = [0.5 * (f[c, 15] + f[c, 17]) - f[c, 16] for c in range(2)]
    assert contrast[0] > 0 and contrast[1] > 2 * contrast[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "linspec3"}, "feature kind must be one of logmel, linspec, lfcc, linphase, linspec2, linpulse, linpulse2, given kind='linspec3'"),
        ({"kind": "linspec2", "long_win_length": 2048}, "long_win_length <= long_n_fft"),
        ({"kind": "linspec2", "long_win_length": 0}, "0 < long_win_length"),
    ],
)
def test_linspec2_config_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        FeatureConfig(**kwargs)


def test_linspec2_needs_half_the_long_window() -> None:
    assert LINSPEC2.min_samples == 513 and FeatureConfig(kind="linspec").min_samples == 257
    with pytest.raises(AudioError, match="at least 513"):
        features(np.zeros(400, np.float32), config=LINSPEC2)


def test_model_normalises_both_energy_channels(rng: np.random.Generator) -> None:
    net, a, b = outputs_at_two_gains(LINSPEC2, rng)
    assert net.norm.num_features == 2 and net.stages[0].body[0].in_channels == 2
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)  # gain is no cue in either channel


@pytest.fixture(scope="module")
def linspec2_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained (seeded) linspec2 model file with a non-default long window."""
    fc = FeatureConfig(kind="linspec2", n_filters=64, long_win_length=800)
    return untrained_model_file(tmp_path_factory.mktemp("ls2") / "ls2.pt", fc, ModelConfig(channels=(8, 16)),
                                calibration=Calibration(0.5, 0.0), meta={"seed": 0})


def test_model_file_round_trips_linspec2(linspec2_model_path: Path, tmp_path: Path, rng: np.random.Generator) -> None:
    payload = torch.load(linspec2_model_path, weights_only=True)
    assert payload["features"]["kind"] == "linspec2" and payload["features"]["long_win_length"] == 800
    mf = load_model_file(linspec2_model_path)
    assert mf.features == FeatureConfig(kind="linspec2", n_filters=64, long_win_length=800)
    again = load_model_file(save_model(tmp_path / "again.pt", mf))
    assert again.features == mf.features
    y = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    a, b = load_model(linspec2_model_path).score(y, sample_rate=SR), load_model(tmp_path / "again.pt").score(y, sample_rate=SR)
    assert a.score == b.score and np.isfinite(a.score) and 0.0 <= a.p_synthetic <= 1.0 and len(a.segments) == 2


def test_files_without_the_newer_window_fields_load_and_score_unchanged(tmp_path: Path, rng: np.random.Generator) -> None:
    fc = FeatureConfig(kind="linspec", n_filters=128)
    path = untrained_model_file(tmp_path / "new.pt", fc, ModelConfig(channels=(8, 16)))
    payload = torch.load(path, weights_only=True)
    for name in ("long_n_fft", "long_win_length", "pulse_n_fft", "pulse_hop", "fine_pulse_n_fft", "fine_pulse_hop"):
        del payload["features"][name]
    torch.save(payload, tmp_path / "old.pt")
    old = load_model_file(tmp_path / "old.pt")
    assert old.features == fc and old.build().norm.num_features == 1
    y = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    assert load_model(tmp_path / "old.pt").score(y, sample_rate=SR).score == load_model(path).score(y, sample_rate=SR).score


@pytest.fixture(scope="module")
def hum_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enveloped noise (bona fide) against harmonic buzzes (spoof), train/dev/test, 1.2 s each."""
    root = tmp_path_factory.mktemp("hum")
    return write_buzz_corpus(root, clip_s=1.2, counts=(6, 3, 3), seed=11)


def test_cli_tiny_linspec2_training_gives_a_model_that_scores(hum_corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "ls2.pt"
    res = runner.invoke(cli, ["detect", "train", "--data", str(hum_corpus / "manifest.csv"), "-o", str(out), "--epochs", "2",
                              "--views", "1", "--seed", "1", "--batch-size", "8", "--channels", "8,16", "--features", "linspec2",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["model"] == str(out)
    mf = load_model_file(out)
    assert mf.features.kind == "linspec2" and mf.features.n_filters == 128 and len(mf.meta["history"]) == 2
    detector = load_model(out)
    test = sorted((hum_corpus / "test").glob("*/*.wav"))
    results = [detector.score(load(p, sample_rate=SR), sample_rate=SR) for p in test]
    assert len(results) == 6 and all(np.isfinite(r.score) and 0.0 <= r.p_synthetic <= 1.0 for r in results)


def test_cli_train_rejects_an_unknown_front_end(hum_corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["detect", "train", "--data", str(hum_corpus / "manifest.csv"), "-o", str(tmp_path / "x.pt"),
                              "--features", "linspec3"])
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert res.exit_code == 2 and len(errors) == 1
    assert "'--features'" in errors[0] and "'linspec3'" in errors[0] and "linspec2" in errors[0]
    assert not (tmp_path / "x.pt").exists()
