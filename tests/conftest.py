"""Shared fixtures: a seeded rng, signals made in code, a fresh home, a CLI runner."""

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


def dominant_freq_hz(y: np.ndarray, sample_rate: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.shape[0])))
    return float(np.argmax(spec) * sample_rate / y.shape[0])


@pytest.fixture
def speech() -> np.ndarray:
    """About 3 s of espeak-ng speech at 16 kHz (synthetic, made in code)."""
    from cloner.tts import synthesize

    return synthesize("The quick brown fox jumps over the lazy dog near the river bank.", voice="en-us", sample_rate=SR)


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
