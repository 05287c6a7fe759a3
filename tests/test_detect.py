"""Detector front-ends, CNN, scoring of any length, calibration, model files, augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import untrained_model_file, voiced_glide

from guard.detect import DEFAULT_MODEL_PATH, Detector, DetectorResult, load_model
from guard.detect.augment import CHAIN, augment, telephone
from guard.detect.calibration import Calibration, fit_calibration
from guard.detect.features import FeatureConfig, features, linear_filterbank
from guard.detect.io import FORMAT, VERSION, load_model_file, save_model
from guard.detect.model import DetectorNet, ModelConfig, n_parameters
from guard.detect.scoring import MIN_DURATION_S, RELIABLE_DURATION_S, WINDOW_S, window_starts
from guard.errors import AudioError, DetectError, ParameterError

SR = 16000


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained (seeded) model file: enough to test loading and scoring mechanics."""
    return untrained_model_file(tmp_path_factory.mktemp("model") / "m.pt", calibration=Calibration(2.0, -1.0), meta={"seed": 0})


@pytest.fixture(scope="module")
def detector(model_path: Path) -> Detector:
    return load_model(model_path)


@pytest.mark.parametrize(("kind", "n_filters", "rows"), [("logmel", 64, 64), ("linspec", 128, 128), ("lfcc", 30, 60)])
def test_feature_shapes(kind: str, n_filters: int, rows: int, rng: np.random.Generator) -> None:
    y = rng.standard_normal(SR).astype(np.float32) * 0.1
    f = features(y, config=FeatureConfig(kind=kind, n_filters=n_filters))
    assert f.shape == (rows, SR // 160 + 1)
    assert np.all(np.isfinite(f))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"kind": "cqt"}, "feature kind must be one of"), ({"win_length": 1024}, "win_length <= n_fft"), ({"hop_length": 0}, "hop_length > 0")],
)
def test_feature_config_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        FeatureConfig(**kwargs)


def test_features_reject_bad_audio() -> None:
    with pytest.raises(AudioError, match="at least 257"):
        features(np.zeros(100, np.float32), config=FeatureConfig())


def test_linspec_resolves_harmonics() -> None:
    t = np.arange(SR) / SR
    y = sum(np.sin(2 * np.pi * 200 * k * t) for k in range(1, 10)).astype(np.float32) * 0.05
    f = features(y, config=FeatureConfig(kind="linspec", n_filters=128)).mean(axis=1)
    band_hz = 8000 / 129
    peaks = [int(round(200 * k / band_hz)) - 1 for k in range(1, 10)]
    troughs = [int(round(300 * k / band_hz)) - 1 for k in (1, 3, 5)]  # between harmonics 1-2, 4-5, 7-8
    assert min(f[peaks]) > max(f[troughs]) + 1.0


def test_linear_filterbank_covers_the_band() -> None:
    fb = linear_filterbank(sample_rate=SR, n_fft=512, n_filters=20)
    assert fb.shape == (20, 257)
    assert np.all(fb >= 0) and np.all(fb.max(axis=1) > 0.5)
    centres = fb.argmax(axis=1)
    assert np.all(np.diff(centres) > 0)


def test_model_is_small_and_takes_any_length() -> None:
    net = DetectorNet(FeatureConfig(), ModelConfig()).eval()
    assert n_parameters(net) <= 1_000_000
    with torch.no_grad():
        for n in (SR // 4, SR, 3 * SR):
            assert net.forward_audio(torch.zeros(2, n)).shape == (2,)


@pytest.mark.parametrize(("kwargs", "match"), [({"channels": ()}, "channels"), ({"dropout": 1.0}, "dropout")])
def test_model_config_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        ModelConfig(**kwargs)


@pytest.mark.parametrize(("n", "window", "hop", "expected"), [(10, 20, 5, [0]), (20, 20, 5, [0]), (32, 20, 5, [0, 5, 10, 12]), (30, 20, 5, [0, 5, 10])])
def test_window_starts(n: int, window: int, hop: int, expected: list[int]) -> None:
    assert window_starts(n, window=window, hop=hop) == expected


def test_score_long_clip_gives_segments(detector: Detector) -> None:
    y = voiced_glide(10.0)
    r = detector.score(y, sample_rate=SR)
    assert isinstance(r, DetectorResult) and r.warning is None and r.speech
    assert 0.0 <= r.p_synthetic <= 1.0
    assert r.p_synthetic == pytest.approx(1 / (1 + np.exp(-(2.0 * r.score - 1.0))))
    assert r.segments[0][0] == 0.0 and r.segments[-1][1] == pytest.approx(10.0)
    assert all(b - a == pytest.approx(WINDOW_S) for a, b, _ in r.segments)
    assert set(r.to_dict()) == {"score", "p_synthetic", "segments", "warning", "voiced_s", "speech"}


def test_score_other_rate_is_resampled(detector: Detector, rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(4 * 8000)).astype(np.float32)
    r = detector.score(y, sample_rate=8000)
    assert r.segments[-1][1] == pytest.approx(4.0, abs=1e-3)


def test_short_clip_scored_with_warning(detector: Detector, rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(int(0.5 * SR))).astype(np.float32)
    r = detector.score(y, sample_rate=SR)
    assert r.warning is not None and f"{RELIABLE_DURATION_S} s" in r.warning
    assert "no voiced speech" in r.warning  # noise: both warnings, in one line
    assert len(r.segments) == 1 and r.segments[0][1] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.zeros(int(0.1 * SR), np.float32), DetectError, f"at least {MIN_DURATION_S} s"),
        (np.zeros((2, SR), np.float32), AudioError, "mono"),
        (np.full(SR, np.nan, np.float32), AudioError, "NaN"),
        (np.zeros(SR, np.int16), AudioError, "floating point"),
        ([0.0] * SR, AudioError, "numpy array"),
    ],
)
def test_score_bad_input(detector: Detector, y: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        detector.score(y, sample_rate=SR)


def test_score_silence_is_finite(detector: Detector) -> None:
    r = detector.score(np.zeros(2 * SR, np.float32), sample_rate=SR)
    assert np.isfinite(r.score)


def test_model_file_roundtrip(model_path: Path, tmp_path: Path) -> None:
    mf = load_model_file(model_path)
    assert mf.meta == {"seed": 0} and mf.calibration == Calibration(2.0, -1.0)
    again = save_model(tmp_path / "again.pt", mf)
    assert load_model_file(again).features == mf.features


def test_model_file_refuses_other_versions_and_junk(model_path: Path, tmp_path: Path) -> None:
    payload = torch.load(model_path, weights_only=True)
    payload["version"] = VERSION + 1
    torch.save(payload, tmp_path / "v2.pt")
    with pytest.raises(DetectError, match=f"version {VERSION + 1}.*reads version {VERSION}"):
        load_model(tmp_path / "v2.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(DetectError, match="not a voiceguard detector model"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(DetectError, match="not a voiceguard detector model"):
        load_model(tmp_path / "junk.pt")
    payload = torch.load(model_path, weights_only=True)
    payload["state_dict"] = {"nope": torch.zeros(1)}
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(DetectError, match="damaged"):
        load_model(tmp_path / "damaged.pt")
    with pytest.raises(DetectError, match="not found"):
        load_model(tmp_path / "absent.pt")


class _Evil:
    def __reduce__(self):  # noqa: ANN204 - what a malicious pickle does
        return (print, ("pwned",))


def test_model_file_refuses_pickled_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.save({"format": FORMAT, "version": VERSION, "x": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(DetectError, match="not a voiceguard detector model"):
        load_model(tmp_path / "evil.pt")
    assert "pwned" not in capsys.readouterr().out


def test_calibration_fit(rng: np.random.Generator) -> None:
    bona, spoof = rng.normal(-2, 1, 4000), rng.normal(2, 1, 2000)
    cal = fit_calibration(np.concatenate([bona, spoof]), np.r_[np.zeros(4000), np.ones(2000)])
    # Unit Gaussians at -2 and +2: the true log-likelihood ratio is 4 * score.
    assert 3.0 < cal.scale < 5.0 and abs(cal.offset / cal.scale) < 0.3
    assert cal(-10.0) < 0.01 < 0.99 < cal(10.0)
    assert cal(0.0) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize(
    ("scores", "labels", "match"),
    [([0.0, 1.0], [0, 0], "both classes"), ([0.0, 1.0], [0, 2], "labels in"), ([0.0], [0, 1], "one length"), ([np.nan, 1.0], [0, 1], "NaN")],
)
def test_calibration_bad_input(scores: list, labels: list, match: str) -> None:
    with pytest.raises(DetectError, match=match):
        fit_calibration(np.array(scores), np.array(labels))


def test_augment_is_seeded_and_finite(rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(2 * SR)).astype(np.float32)
    a, names_a = augment(y, sample_rate=SR, rng=np.random.default_rng(7))
    b, names_b = augment(y, sample_rate=SR, rng=np.random.default_rng(7))
    assert names_a == names_b and np.array_equal(a, b)
    assert a.dtype == np.float32 and np.all(np.isfinite(a))
    with pytest.raises(ParameterError, match="Generator"):
        augment(y, sample_rate=SR, rng=7)


@pytest.mark.parametrize("name", [name for name, _, _ in CHAIN])
def test_each_transform_keeps_audio_usable(name: str, rng: np.random.Generator) -> None:
    fn = dict((n, f) for n, f, _ in CHAIN)[name]
    y = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    z = fn(y, SR, np.random.default_rng(1))
    assert z.ndim == 1 and z.shape[0] > SR // 2 and np.all(np.isfinite(z)) and np.max(np.abs(z)) <= 1.5


def test_telephone_removes_the_upper_band(rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    z = telephone(y, SR, rng)
    spec = np.abs(np.fft.rfft(z))
    freqs = np.fft.rfftfreq(z.shape[0], 1 / SR)
    assert spec[freqs > 4500].mean() < 0.05 * spec[(freqs > 500) & (freqs < 3000)].mean()


def test_default_model_ships_and_loads() -> None:
    assert DEFAULT_MODEL_PATH.is_file(), "guard/detect/default_model.pt must ship with the package"
    assert DEFAULT_MODEL_PATH.stat().st_size <= 5 * 1024 * 1024
    det = load_model()
    assert n_parameters(det.net) <= 1_000_000
    assert {"seed", "train_attacks", "best_dev_eer"} <= set(det.meta)
