"""Shared fixtures: a seeded rng, signals made in code, a tiny detector corpus, untrained detector models, a fresh home, a CLI runner, a persona's consent statement with its code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

SR = 16000
LIBRISPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample"
ASTERISK_EN = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def tone(freq_hz: float, duration_s: float, sample_rate: int = SR, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone, float32."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def chirp(f0_hz: float, f1_hz: float, duration_s: float, sample_rate: int = SR) -> np.ndarray:
    """A linear chirp from f0 to f1, float32."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    phase = 2 * np.pi * (f0_hz * t + (f1_hz - f0_hz) * t**2 / (2 * duration_s))
    return (0.3 * np.sin(phase)).astype(np.float32)


def voiced_glide(seconds: float = 1.5, *, seed: int = 0) -> np.ndarray:
    """A gliding 110-150 Hz harmonic tone (1/k amplitudes) with a little seeded noise: voiced-speech-like for DIO; float32 at SR."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(130 + 20 * np.sin(2 * np.pi * 0.7 * t)) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 25)) + 0.01 * rng.standard_normal(t.size)
    return (0.1 * y).astype(np.float32)


def median_f0(y: np.ndarray) -> float:
    """Median DIO F0 of the voiced frames of ``y`` (at SR), in Hz."""
    from eval.selfplay_families import _f0_track

    f0 = _f0_track(y, SR)
    return float(np.median(f0[f0 > 0]))


def write_glide_speakers(root: Path, n: int) -> Path:
    """``n`` stand-in speakers for the self-play builder under ``root`` (LibriSpeech-style names, one glide each)."""
    from guard.audio import save

    root.mkdir()
    for spk in range(n):
        save(root / f"{100 + spk}-1-0000.flac", voiced_glide(seed=spk), sample_rate=SR)
    return root


def dominant_freq_hz(y: np.ndarray, sample_rate: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.shape[0])))
    return float(np.argmax(spec) * sample_rate / y.shape[0])


def write_buzz_corpus(root: Path, *, clip_s: float, counts: tuple[int, int, int], seed: int) -> Path:
    """A tiny detector corpus under ``root``: noise under a slow envelope (bona fide) against harmonic buzzes (spoof).

    ``counts`` clips per class for train, dev and test, each ``clip_s`` seconds at SR, with
    ``root/manifest.csv`` (file,label,split,speaker,attack). Returns ``root``.
    """
    from guard.audio import save

    rng = np.random.default_rng(seed)
    n = int(clip_s * SR)
    t = np.arange(n) / SR
    lines = ["file,label,split,speaker,attack"]
    for split, count in zip(("train", "dev", "test"), counts):
        for i in range(count):
            env = np.repeat(rng.uniform(0.2, 1.0, n // 800 + 1), 800)[:n]
            bona = 0.1 * env * rng.standard_normal(n)
            f0 = rng.uniform(100, 200)
            spoof = 0.05 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))
            for label, y in (("bonafide", bona), ("spoof", spoof)):
                rel = f"{split}/{label}/{i}.wav"
                (root / split / label).mkdir(parents=True, exist_ok=True)
                save(root / rel, y.astype(np.float32), sample_rate=SR)
                lines.append(f"{rel},{label},{split},s{i},{'-' if label == 'bonafide' else 'buzz'}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def untrained_model_file(path: Path, features=None, model=None, *, calibration=None, meta=None) -> Path:  # noqa: ANN001
    """Save an untrained detector (torch seed 0) at ``path``: enough to test file and scoring mechanics.

    ``features`` / ``model`` / ``calibration`` default to ``FeatureConfig()``,
    ``ModelConfig()`` and ``Calibration()``; ``meta`` to ``{}``.
    """
    import torch

    from guard.detect.calibration import Calibration
    from guard.detect.features import FeatureConfig
    from guard.detect.io import ModelFile, save_model
    from guard.detect.model import DetectorNet, ModelConfig

    torch.manual_seed(0)
    fc, mc = features or FeatureConfig(), model or ModelConfig()
    net = DetectorNet(fc, mc).eval()
    return save_model(path, ModelFile(fc, mc, calibration or Calibration(), net.state_dict(), meta or {}))


def outputs_at_two_gains(features, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """An untrained (seed 0, channels 8, 8) net for ``features`` and its logits for noise and the same noise x10.

    Returns
    -------
    net : DetectorNet
    a, b : torch.Tensor [shape=(2,)]
    """
    import torch

    from guard.detect.model import DetectorNet, ModelConfig

    torch.manual_seed(0)
    net = DetectorNet(features, ModelConfig(channels=(8, 8))).eval()
    y = torch.from_numpy((0.05 * rng.standard_normal((2, 2 * SR))).astype(np.float32))
    with torch.no_grad():
        return net, net.forward_audio(y), net.forward_audio(10.0 * y)


def marked_noise(path: Path, key: bytes, payload: int, *, seconds: float = 4.0, seed: int = 0) -> Path:
    """Seeded white noise (0.1 rms, 16 kHz) carrying ``payload`` under ``key``, saved at ``path`` (format from its extension)."""
    from guard.audio import save
    from guard.watermark import embed

    y = (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)
    return save(path, embed(y, sample_rate=SR, payload=payload, key=key), sample_rate=SR)


@pytest.fixture
def speech() -> np.ndarray:
    """About 3 s of espeak-ng speech at 16 kHz (synthetic, made in code)."""
    from cloner.tts import synthesize

    return synthesize("The quick brown fox jumps over the lazy dog near the river bank.", voice="en-us", sample_rate=SR)


@pytest.fixture(scope="session")
def nova_statement(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Persona nova reading the statement of clone_support.NOVA_TERMS until clone_support.EXPIRES with
    clone_support.STATEMENT_CODE (synthetic speech, made once per session); log the code in a home with
    clone_support.issue_code to grant it."""
    from clone_support import EXPIRES, NOVA_TERMS, STATEMENT_CODE

    from cloner import personas
    from guard.audio import save
    from guard.consent.template import statement_text

    text = statement_text(**NOVA_TERMS, expires=EXPIRES, code=STATEMENT_CODE)
    return save(tmp_path_factory.mktemp("statement") / "statement.wav", personas.get("nova").speak(text, sample_rate=SR),
                sample_rate=SR)


@pytest.fixture
def home(tmp_path: Path):
    """A fresh, initialised voiceguard home."""
    from guard.home import init_home

    h, _ = init_home(tmp_path / "home")
    return h


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    for item in items:
        if "librispeech" in item.keywords and not LIBRISPEECH.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"{LIBRISPEECH} not present"))
