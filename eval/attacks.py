"""The attack suite every benchmark shares: named, seeded, parameterized signal degradations.

Each :class:`Attack` maps mono float32 audio at a rate to degraded audio at the same rate
(the same length, except crops, splices and speed/tempo changes). Codecs run through
:func:`guard.audio.transcode` (PyAV); time stretch and pitch shift through librosa.
audiomentations' RoomSimulator needs pyroomacoustics, which is not installed, so reverb
convolves with a seeded synthetic room impulse response (exponentially decaying noise).

>>> z = apply_attack("mp3_32k", y, sample_rate=16000, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import signal

from guard.audio import check_sample_rate, resample, transcode, valid_audio
from guard.errors import ParameterError

AttackFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Attack:
    """A named degradation: ``apply(y, sample_rate=..., rng=...)`` with fixed ``params``."""

    name: str
    fn: AttackFn
    params: dict = field(default_factory=dict)
    description: str = ""

    def apply(self, y: np.ndarray, *, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """Degrade ``y`` [shape=(n,)] at ``sample_rate`` Hz; returns float32 at the same rate."""
        sample_rate = check_sample_rate(sample_rate)
        y = valid_audio(y, sample_rate=sample_rate)
        out = self.fn(y, sample_rate=sample_rate, rng=rng, **self.params)
        return np.ascontiguousarray(out, dtype=np.float32)


def _power(y: np.ndarray) -> float:
    return float(np.mean(np.square(y, dtype=np.float64))) + 1e-20


def _none(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    return y.copy()


def _white_noise(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    noise = rng.standard_normal(y.shape[0])
    return y + noise * np.sqrt(_power(y) / 10 ** (snr_db / 10))


def _pink_noise(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    n = y.shape[0]
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spec /= np.sqrt(np.maximum(f, f[1] if n > 1 else 1.0))
    noise = np.fft.irfft(spec, n)
    return y + noise * np.sqrt(_power(y) / (_power(noise) * 10 ** (snr_db / 10)))


def _codec(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, codec: str, bitrate_bps: int) -> np.ndarray:
    return transcode(y, sample_rate=sample_rate, codec=codec, bitrate_bps=bitrate_bps)


def _via_rate(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, via_hz: int) -> np.ndarray:
    z = resample(resample(y, orig_sr=sample_rate, target_sr=via_hz), orig_sr=via_hz, target_sr=sample_rate)
    return _fit(z, y.shape[0])


def _fit(z: np.ndarray, n: int) -> np.ndarray:
    return z[:n] if z.shape[0] >= n else np.pad(z, (0, n - z.shape[0]))


def _filter(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, kind: str, cutoff_hz) -> np.ndarray:  # noqa: ANN001
    nyq = sample_rate / 2
    cut = np.atleast_1d(np.asarray(cutoff_hz, dtype=float))
    if np.any(cut >= nyq):  # a cutoff above Nyquist leaves nothing to remove on that side
        if kind == "lowpass":
            return y.copy()
        if kind == "bandpass":
            kind, cut = "highpass", cut[:1]
    wn = cut / nyq if cut.size > 1 else float(cut[0] / nyq)
    sos = signal.butter(6, wn, btype=kind, output="sos")
    return signal.sosfiltfilt(sos, y)


def _telephone(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    z = resample(y, orig_sr=sample_rate, target_sr=8000).astype(np.float64)
    z = signal.sosfiltfilt(signal.butter(4, [300 / 4000, 3400 / 4000], btype="bandpass", output="sos"), z)
    mu = 255.0
    z = np.clip(z, -1.0, 1.0)
    enc = np.round((np.sign(z) * np.log1p(mu * np.abs(z)) / np.log1p(mu) + 1) * 127.5) / 127.5 - 1
    z = np.sign(enc) * np.expm1(np.abs(enc) * np.log1p(mu)) / mu
    return _fit(resample(z.astype(np.float32), orig_sr=8000, target_sr=sample_rate), y.shape[0])


def _gain(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, factor: float) -> np.ndarray:
    return np.clip(y * factor, -1.0, 1.0)


def _echo(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, delay_s: float, decay: float) -> np.ndarray:
    d = int(round(delay_s * sample_rate))
    out = y.astype(np.float64).copy()
    if d < y.shape[0]:
        out[d:] += decay * y[: y.shape[0] - d]
    return out


def _reverb(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, rt60_s: float) -> np.ndarray:
    n = int(rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    rir[0] = 1.0 / 0.3  # direct path dominates the first reflections, as in a small room
    rir *= 0.3
    out = signal.fftconvolve(y, rir)[: y.shape[0]]
    return out * np.sqrt(_power(y) / _power(out))


def _speed(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, factor: float) -> np.ndarray:
    # play back faster/slower: resample, then read at the original rate
    return resample(y, orig_sr=int(round(sample_rate * factor)), target_sr=sample_rate)


def _stretch(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, rate: float) -> np.ndarray:
    import librosa

    return librosa.effects.time_stretch(y, rate=rate)


def _pitch(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, semitones: float) -> np.ndarray:
    import librosa

    return librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=semitones)


def _crop(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, duration_s: float) -> np.ndarray:
    n = int(round(duration_s * sample_rate))
    if n >= y.shape[0]:
        return y.copy()
    start = int(rng.integers(0, y.shape[0] - n + 1))
    return y[start:start + n].copy()


@lru_cache(maxsize=8)
def _filler(sample_rate: int) -> np.ndarray:
    from cloner.tts import synthesize

    text = "This part was never marked. It was spoken by another voice and glued around the clip."
    return synthesize(text, voice="en", pitch=30, sample_rate=sample_rate)


def _splice(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, pad_s: float) -> np.ndarray:
    """Unmarked espeak speech (``pad_s`` seconds each side) around the clip, levels matched."""
    filler = _filler(sample_rate).astype(np.float64)
    filler = filler * np.sqrt(_power(y) / _power(filler))
    n = int(round(pad_s * sample_rate))
    reps = int(np.ceil(2 * n / filler.shape[0])) + 1
    long = np.tile(filler, reps)
    start = int(rng.integers(0, filler.shape[0]))
    pad = long[start:start + 2 * n]
    return np.concatenate([pad[:n], y, pad[n:]])


def _requantize(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator, bits: int) -> np.ndarray:
    q = 2.0 ** (bits - 1)
    return np.round(np.clip(y, -1.0, 1.0) * q) / q


def _a(name: str, fn: AttackFn, description: str, **params: object) -> Attack:
    return Attack(name, fn, dict(params), description)


ATTACKS: dict[str, Attack] = {a.name: a for a in [
    _a("none", _none, "no change"),
    _a("white_noise_30db", _white_noise, "white noise at 30 dB SNR", snr_db=30.0),
    _a("white_noise_20db", _white_noise, "white noise at 20 dB SNR", snr_db=20.0),
    _a("white_noise_10db", _white_noise, "white noise at 10 dB SNR", snr_db=10.0),
    _a("pink_noise_30db", _pink_noise, "pink noise at 30 dB SNR", snr_db=30.0),
    _a("pink_noise_20db", _pink_noise, "pink noise at 20 dB SNR", snr_db=20.0),
    _a("mp3_32k", _codec, "MP3 at 32 kbit/s", codec="mp3", bitrate_bps=32_000),
    _a("mp3_16k", _codec, "MP3 at 16 kbit/s", codec="mp3", bitrate_bps=16_000),
    _a("aac_32k", _codec, "AAC at 32 kbit/s", codec="aac", bitrate_bps=32_000),
    _a("opus_24k", _codec, "Opus at 24 kbit/s", codec="opus", bitrate_bps=24_000),
    _a("opus_16k", _codec, "Opus at 16 kbit/s", codec="opus", bitrate_bps=16_000),
    _a("resample_8k", _via_rate, "down to 8 kHz and back", via_hz=8000),
    _a("telephone", _telephone, "8 kHz, 300-3400 Hz bandpass, 8-bit mu-law"),
    _a("lowpass_3500hz", _filter, "6th-order Butterworth lowpass at 3.5 kHz", kind="lowpass", cutoff_hz=3500.0),
    _a("highpass_500hz", _filter, "6th-order Butterworth highpass at 500 Hz", kind="highpass", cutoff_hz=500.0),
    _a("highpass_1500hz", _filter, "6th-order Butterworth highpass at 1.5 kHz", kind="highpass", cutoff_hz=1500.0),
    _a("bandpass_300_3400hz", _filter, "6th-order Butterworth bandpass 300-3400 Hz", kind="bandpass", cutoff_hz=(300.0, 3400.0)),
    _a("gain_x0.1", _gain, "volume x0.1 (-20 dB)", factor=0.1),
    _a("gain_x10_clip", _gain, "volume x10 (+20 dB), clipped to [-1, 1]", factor=10.0),
    _a("echo_0.5s", _echo, "echo after 0.5 s at half amplitude", delay_s=0.5, decay=0.5),
    _a("reverb", _reverb, "room reverb, RT60 0.4 s (synthetic impulse response)", rt60_s=0.4),
    _a("speed_0.95", _speed, "playback speed x0.95 (pitch and tempo)", factor=0.95),
    _a("speed_1.05", _speed, "playback speed x1.05 (pitch and tempo)", factor=1.05),
    _a("stretch_0.9", _stretch, "time stretch to rate 0.9 (tempo only)", rate=0.9),
    _a("stretch_1.1", _stretch, "time stretch to rate 1.1 (tempo only)", rate=1.1),
    _a("pitch_+1", _pitch, "pitch shift up one semitone", semitones=1.0),
    _a("pitch_-1", _pitch, "pitch shift down one semitone", semitones=-1.0),
    _a("crop_3s", _crop, "a random 3 s window", duration_s=3.0),
    _a("crop_5s", _crop, "a random 5 s window", duration_s=5.0),
    _a("splice", _splice, "2 s of unmarked speech on each side", pad_s=2.0),
    _a("requantize_8bit", _requantize, "8-bit uniform requantization", bits=8),
]}

MODERATE_ATTACKS: tuple[str, ...] = (
    "none", "mp3_32k", "aac_32k", "opus_24k", "resample_8k", "telephone", "white_noise_30db",
    "pink_noise_30db", "lowpass_3500hz", "highpass_500hz", "gain_x0.1", "gain_x10_clip",
    "echo_0.5s", "splice",
)
HARD_ATTACKS: tuple[str, ...] = (
    "white_noise_20db", "white_noise_10db", "mp3_16k", "opus_16k", "highpass_1500hz", "speed_0.95",
    "speed_1.05", "stretch_0.9", "stretch_1.1", "pitch_+1", "pitch_-1", "reverb",
)


def apply_attack(name: str, y: np.ndarray, *, sample_rate: int, seed: int) -> np.ndarray:
    """Apply the attack ``name`` with a generator seeded by ``seed``.

    Parameters
    ----------
    name : str
        A key of :data:`ATTACKS`.
    y : np.ndarray [shape=(n,)]
    sample_rate : int > 0
    seed : int

    Raises
    ------
    ParameterError
        For an unknown attack name (the message lists the known ones).
    """
    if name not in ATTACKS:
        raise ParameterError(f"unknown attack {name!r}; known: {', '.join(ATTACKS)}")
    return ATTACKS[name].apply(y, sample_rate=sample_rate, rng=np.random.default_rng(seed))
