"""Training augmentation for the detector, applied alike to bona fide and spoofed audio.

Each transform removes a shortcut a detector could otherwise learn instead of synthesis
artefacts: loudness (gain), leading/trailing silence (trim and pad), bandwidth (band limits,
the telephone chain), codec (MP3/Opus round trips), channel (RawBoost-like convolutive,
impulsive and coloured noise; reverberation). All randomness comes from the ``rng`` given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.signal

from guard.audio import resample, transcode, valid_audio
from guard.errors import ParameterError

Transform = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)) + 1e-12))


def gain(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Scale to a random RMS level between -40 and -12 dBFS (peaks kept below 1)."""
    target_db = rng.uniform(-40.0, -12.0)
    out = y * (10 ** (target_db / 20) / _rms(y))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out / peak * 0.99 if peak > 0.99 else out


def active_bounds(y: np.ndarray, *, sample_rate: int, floor_db: float = 40.0) -> tuple[int, int]:
    """First and last sample (exclusive) of frames within ``floor_db`` of the loudest 20 ms frame."""
    hop = max(1, sample_rate // 50)
    n = y.shape[0] // hop
    if n < 2:
        return 0, y.shape[0]
    frames = y[: n * hop].reshape(n, hop).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    active = np.flatnonzero(level > level.max() - floor_db)
    return int(active[0] * hop), int(min(y.shape[0], (active[-1] + 1) * hop))


def silence(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Trim leading/trailing silence, then pad each side with 0-0.6 s of faint noise."""
    start, stop = active_bounds(y, sample_rate=sample_rate)
    core = y[start:stop] if stop - start > sample_rate // 10 else y
    level = _rms(core) * 10 ** (rng.uniform(-70.0, -35.0) / 20)
    pads = [rng.normal(0.0, level, int(rng.uniform(0.0, 0.6) * sample_rate)) for _ in range(2)]
    return np.concatenate([pads[0], core, pads[1]]).astype(np.float32)


def noise(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Add white or pink-ish noise at 10-40 dB SNR."""
    snr_db = rng.uniform(10.0, 40.0)
    n = rng.normal(0.0, 1.0, y.shape[0])
    if rng.random() < 0.5:  # a one-pole low-pass colours it
        n = scipy.signal.lfilter([1.0], [1.0, -rng.uniform(0.5, 0.98)], n)
    n *= _rms(y) / _rms(n) * 10 ** (-snr_db / 20)
    return (y + n).astype(np.float32)


def band_limit(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Low-pass at 3.4-7.5 kHz and/or high-pass at 50-300 Hz (Butterworth, zero phase)."""
    nyq = sample_rate / 2
    out = y.astype(np.float64)
    if rng.random() < 0.8:
        cut = min(rng.uniform(3400.0, 7500.0), 0.95 * nyq)
        out = scipy.signal.sosfiltfilt(scipy.signal.butter(6, cut / nyq, "low", output="sos"), out)
    if rng.random() < 0.5:
        cut = rng.uniform(50.0, 300.0)
        out = scipy.signal.sosfiltfilt(scipy.signal.butter(2, cut / nyq, "high", output="sos"), out)
    return out.astype(np.float32)


def telephone(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Narrowband phone line: 300-3400 Hz band-pass, 8 kHz, G.711 mu-law, back to the input rate."""
    del rng
    nyq = sample_rate / 2
    sos = scipy.signal.butter(4, [300.0 / nyq, min(3400.0, 0.95 * nyq) / nyq], "band", output="sos")
    z = scipy.signal.sosfilt(sos, y.astype(np.float64)).astype(np.float32)
    z = resample(z, orig_sr=sample_rate, target_sr=8000)
    mu = 255.0
    z = np.clip(z, -1.0, 1.0)
    q = np.round(np.sign(z) * np.log1p(mu * np.abs(z)) / np.log1p(mu) * 127) / 127
    z = (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)
    out = resample(z, orig_sr=8000, target_sr=sample_rate)
    return _fit_length(out, y.shape[0])


def codec(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A lossy round trip: MP3 at 24-64 kbit/s or Opus at 12-32 kbit/s."""
    if rng.random() < 0.5:
        return transcode(y, sample_rate=sample_rate, codec="mp3", bitrate_bps=int(rng.choice([24000, 32000, 48000, 64000])))
    return transcode(y, sample_rate=sample_rate, codec="opus", bitrate_bps=int(rng.choice([12000, 16000, 24000, 32000])))


def rawboost(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """RawBoost-like channel noise: a random FIR colouring, sparse impulses, coloured noise."""
    out = y.astype(np.float64)
    if rng.random() < 0.7:  # linear convolutive: a random smooth magnitude response
        taps = int(rng.integers(16, 64)) | 1
        freqs = np.linspace(0.0, 1.0, 9)
        gains_db = rng.uniform(-8.0, 8.0, 9)
        fir = scipy.signal.firwin2(taps, freqs, 10 ** (gains_db / 20))
        out = scipy.signal.lfilter(fir, [1.0], out)
    if rng.random() < 0.4:  # impulsive: a small share of samples disturbed
        idx = rng.random(out.shape[0]) < rng.uniform(0.001, 0.01)
        out[idx] += rng.normal(0.0, 0.3, int(idx.sum())) * np.abs(out[idx])
    if rng.random() < 0.4:  # stationary coloured noise at 20-40 dB SNR
        n = scipy.signal.lfilter(scipy.signal.firwin(31, rng.uniform(0.05, 0.9)), [1.0], rng.normal(0, 1, out.shape[0]))
        out += n * _rms(out) / _rms(n) * 10 ** (-rng.uniform(20.0, 40.0) / 20)
    return out.astype(np.float32)


def reverb(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic room response: exponentially decaying noise, RT60 0.1-0.6 s."""
    rt60_s = rng.uniform(0.1, 0.6)
    n = int(rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    rir = rng.normal(0.0, 1.0, n) * np.exp(-6.9 * t / rt60_s)
    rir[0] = 1.0 / rng.uniform(0.3, 1.0)  # direct path against the reverberant tail
    wet = scipy.signal.fftconvolve(y.astype(np.float64), rir)[: y.shape[0]]
    return (wet * _rms(y) / _rms(wet)).astype(np.float32)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if y.shape[0] >= n else np.pad(y, (0, n - y.shape[0]))


# (transform, probability of being applied) in the order they run.
CHAIN: tuple[tuple[str, Transform, float], ...] = (
    ("silence", silence, 0.8),
    ("reverb", reverb, 0.15),
    ("rawboost", rawboost, 0.4),
    ("band_limit", band_limit, 0.25),
    ("noise", noise, 0.3),
    ("telephone", telephone, 0.15),
    ("codec", codec, 0.3),
    ("gain", gain, 1.0),
)


def augment(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Apply a random subset of :data:`CHAIN` to ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sample_rate : int > 0
    rng : np.random.Generator
        The only source of randomness: the same seed gives the same output.

    Returns
    -------
    y_aug : np.ndarray [shape=(m,), dtype=float32]
        ``m`` differs from ``n`` when silence was trimmed or padded.
    applied : list of str
        Names of the transforms applied, in order.
    """
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a numpy Generator, given {type(rng).__name__}")
    out = valid_audio(y, sample_rate=sample_rate, min_samples=sample_rate // 10)
    applied = []
    for name, fn, p in CHAIN:
        if rng.random() < p:
            out = fn(out, sample_rate, rng)
            applied.append(name)
    return np.nan_to_num(out).astype(np.float32), applied
