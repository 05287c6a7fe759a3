"""Spoof generator families of the self-play corpus: copy-synthesis of real speech by several mechanisms.

Each family is a :data:`SpoofFn`, ``fn(y, sample_rate, rng) -> y_spoof`` on a mono clip;
:data:`COPY_FAMILIES` names them, :data:`FAMILIES` adds ``espeak`` (speech made from text,
not a copy of a clip: :mod:`eval.selfplay_build`). :mod:`eval.selfplay` says which mechanism
each family stands for and which split it goes to. librosa, pyworld and the vocoders are
imported inside the families that use them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.signal

from eval.levels import at_rms_of

SpoofFn = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def world_copy(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """WORLD analysis and synthesis with the cloner's vocoder (coded envelope and aperiodicity)."""
    del rng
    from cloner.world import resynthesize

    return resynthesize(y, sample_rate=sample_rate)


def pitch_shift(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Phase-vocoder pitch (and formant) shift by +-2..4 semitones."""
    import librosa

    steps = float(rng.choice([-4, -3, -2, 2, 3, 4]))
    return librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=steps).astype(np.float32)


def time_stretch(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Phase-vocoder tempo change (pitch and formants kept): 0.8-0.9x or 1.1-1.25x."""
    import librosa

    del sample_rate
    rate = float(rng.uniform(0.8, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.25))
    return librosa.effects.time_stretch(y, rate=rate).astype(np.float32)


def griffin_lim(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Keep the STFT magnitude, rebuild the phase with 32 Griffin-Lim iterations."""
    import librosa

    n_fft = int(rng.choice([512, 1024]))
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=n_fft // 4))
    seed = int(rng.integers(2**31))
    out = librosa.griffinlim(mag, n_iter=32, hop_length=n_fft // 4, n_fft=n_fft, random_state=seed, length=y.shape[0])
    return out.astype(np.float32)


def _levinson(r: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Levinson-Durbin on autocorrelations [shape=(frames, order + 1)] -> (a with a[:, 0] = 1, error)."""
    a = np.zeros((r.shape[0], order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for k in range(1, order + 1):
        refl = -np.sum(a[:, :k] * r[:, k:0:-1], axis=1) / np.maximum(err, 1e-12)
        prev = a.copy()
        a[:, 1:k] = prev[:, 1:k] + refl[:, None] * prev[:, k - 1:0:-1]
        a[:, k] = refl
        err = err * (1.0 - refl**2)
    return a, np.maximum(err, 0.0)


def lpc_vocoder(y: np.ndarray, sample_rate: int, rng: np.random.Generator, *, order: int = 18) -> np.ndarray:
    """LPC analysis (30 ms Hann frames every 10 ms) and synthesis from pulses (voiced) or noise."""
    import pyworld

    hop, win = sample_rate // 100, int(0.03 * sample_rate)
    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, frame_period=10.0)
    f0 = pyworld.stonemask(x, f0, t, sample_rate)
    n = f0.shape[0]
    padded = np.pad(x, (win // 2, win))
    window = np.hanning(win)
    frames = padded[np.arange(n)[:, None] * hop + np.arange(win)[None]] * window
    r = np.fft.irfft(np.abs(np.fft.rfft(frames, n=2 * win)) ** 2)[:, : order + 1]
    r[:, 0] = r[:, 0] * (1 + 1e-6) + 1e-10  # white-noise correction keeps the filter stable
    a, err = _levinson(r, order)
    gain = np.sqrt(err / np.sum(window**2))
    f0_samples = np.repeat(f0, hop)
    pulses = (np.diff(np.floor(np.cumsum(f0_samples / sample_rate)), prepend=0) > 0) & (f0_samples > 0)
    excitation = np.where(f0_samples > 0, pulses * np.sqrt(sample_rate / np.maximum(f0_samples, 1.0)), rng.standard_normal(n * hop))
    out, zi = np.zeros(n * hop), np.zeros(order)
    for i in range(n):
        out[i * hop:(i + 1) * hop], zi = scipy.signal.lfilter([gain[i]], a[i], excitation[i * hop:(i + 1) * hop], zi=zi)
    return out[: y.shape[0]].astype(np.float32)


def _f0_track(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 in Hz every 10 ms (0 = unvoiced), DIO + StoneMask."""
    import pyworld

    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, frame_period=10.0)
    return pyworld.stonemask(x, f0, t, sample_rate)


def phase_rebuild(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Keep the STFT magnitude, rebuild the phase in one pass: peak-locked phase-vocoder propagation.

    Each frame's spectral peaks (quadratic interpolation on log magnitude) advance their
    phase by their instantaneous frequency; every other bin takes its nearest peak's phase
    (identity phase locking, +pi per bin for the Hann main lobe). No iterations and no
    consistency projection: a different phase-retrieval mechanism from Griffin-Lim.
    """
    import librosa

    del sample_rate
    n_fft = int(rng.choice([512, 1024]))
    hop = n_fft // 4
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    bins = np.arange(mag.shape[0])
    phase = np.empty_like(mag)
    prev = rng.uniform(-np.pi, np.pi, mag.shape[0])
    for t in range(mag.shape[1]):
        m = mag[:, t]
        lm = np.log(m + 1e-9)
        peak = np.flatnonzero((m[1:-1] > m[:-2]) & (m[1:-1] >= m[2:]) & (m[1:-1] > 1e-3 * (m.max() + 1e-12))) + 1
        if peak.size == 0:
            cur = prev + 2 * np.pi * bins * hop / n_fft
        else:
            den = lm[peak - 1] - 2 * lm[peak] + lm[peak + 1]
            delta = np.where(np.abs(den) > 1e-9, 0.5 * (lm[peak - 1] - lm[peak + 1]) / np.where(den == 0, 1, den), 0.0)
            peak_phase = prev[peak] + 2 * np.pi * (peak + np.clip(delta, -0.5, 0.5)) * hop / n_fft
            edges = (peak[1:] + peak[:-1]) / 2.0
            owner = np.searchsorted(edges, bins)
            cur = peak_phase[owner] + np.pi * (bins - peak[owner])
        phase[:, t] = cur
        prev = cur
    out = librosa.istft(mag * np.exp(1j * phase), hop_length=hop, n_fft=n_fft, length=y.shape[0])
    return out.astype(np.float32)


def cepstral_vocoder(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Cepstrally smoothed STFT envelope imposed on a pulse-train/noise excitation (STFT synthesis).

    The envelope keeps 20-40 cepstral coefficients; voiced frames (DIO F0) are excited by
    a pulse train mixed with 10-40 % noise, unvoiced frames by noise. A source-filter
    vocoder built differently from ``world`` (no spectral/aperiodicity coding) and ``lpc``
    (no all-pole filter).
    """
    import librosa

    n_fft, hop = 512, sample_rate // 100
    lifter = int(rng.integers(20, 41))
    noise_mix = float(rng.uniform(0.1, 0.4))
    f0 = _f0_track(y, sample_rate)
    f0_samples = np.repeat(f0, hop)[: y.shape[0]]
    f0_samples = np.pad(f0_samples, (0, y.shape[0] - f0_samples.shape[0]))
    pulses = ((np.diff(np.floor(np.cumsum(f0_samples / sample_rate)), prepend=0) > 0) & (f0_samples > 0))
    pulses = pulses * np.sqrt(sample_rate / np.maximum(f0_samples, 1.0))
    noise = rng.standard_normal(y.shape[0])
    excitation = np.where(f0_samples > 0, (1 - noise_mix) * pulses + noise_mix * noise, noise)
    env = _cepstral_envelope(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)), lifter=lifter)
    exc = librosa.stft(excitation, n_fft=n_fft, hop_length=hop)
    exc_level = np.sqrt(np.mean(np.abs(exc) ** 2, axis=0, keepdims=True)) + 1e-9
    out = librosa.istft(env * exc / exc_level, hop_length=hop, n_fft=n_fft, length=y.shape[0])
    return out.astype(np.float32)


def _cepstral_envelope(mag: np.ndarray, *, lifter: int) -> np.ndarray:
    """Spectral envelope [shape=mag.shape] of STFT magnitudes [shape=(bins, frames)], keeping ``lifter`` cepstral coefficients."""
    ceps = np.fft.irfft(np.log(mag + 1e-7), axis=0)
    ceps[lifter:-lifter] = 0.0
    return np.exp(np.fft.rfft(ceps, axis=0).real)


def harmonic_noise(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Harmonic-plus-noise (sinusoidal) vocoder: F0 harmonics below a cut-off, shaped noise above and in unvoiced frames.

    Voiced frames (DIO F0) are rebuilt as a sum of harmonics of the F0 track up to a
    maximum voiced frequency of 3.5-6 kHz, each with the amplitude the 64 ms STFT shows at
    its frequency and a phase that integrates the F0 from a random start (fixed per
    harmonic, so the waveform shape repeats but is not the original's); above the cut-off
    and in unvoiced frames, noise shaped by a cepstral envelope (30 coefficients). A third
    parametric mechanism besides the pulse-excited ``world``/``lpc``/``cepvoc`` and the
    phase-retrieval families; the second dev-only family of corpus v5 (see the model card).
    """
    import librosa

    n, n_fft, hop = y.shape[0], 1024, sample_rate // 100
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))  # frame t centred at t * hop
    f0 = _f0_track(y, sample_rate)[: mag.shape[1]]
    f0 = np.pad(f0, (0, mag.shape[1] - f0.shape[0]))
    voiced = f0 > 0
    times = np.arange(mag.shape[1]) * hop
    if voiced.any():
        filled = np.interp(times, times[voiced], f0[voiced])  # unvoiced gaps bridged so the phase runs on smoothly
    else:
        filled = np.full(times.shape[0], 100.0)
    f0_s = np.interp(np.arange(n), times, filled)
    voiced_s = np.interp(np.arange(n), times, voiced.astype(np.float64)) > 0.5
    cutoff = float(rng.uniform(3500.0, 6000.0))
    phase = 2 * np.pi * np.cumsum(f0_s) / sample_rate
    bin_hz = sample_rate / n_fft
    harm = np.zeros(n)
    for k in range(1, int(cutoff // max(float(filled.min()), 50.0)) + 1):
        freq = k * filled  # per frame
        inside = voiced & (freq < cutoff)
        if not inside.any():
            break
        pos = freq / bin_hz
        lo = np.clip(pos.astype(int), 0, mag.shape[0] - 2)
        frac = np.clip(pos - lo, 0.0, 1.0)
        cols = np.arange(mag.shape[1])
        amp = ((1 - frac) * mag[lo, cols] + frac * mag[lo + 1, cols]) * 4.0 / n_fft * inside  # Hann: |X| = A * n_fft / 4
        harm += np.interp(np.arange(n), times, amp) * np.cos(k * phase + rng.uniform(0, 2 * np.pi))
    env = _cepstral_envelope(mag, lifter=30)
    freqs = np.arange(mag.shape[0]) * bin_hz
    noise_mask = np.where(voiced[None, :], (freqs >= cutoff)[:, None], True)
    white = librosa.stft(rng.standard_normal(n), n_fft=n_fft, hop_length=hop)
    noise = librosa.istft(white / np.sqrt(0.375 * n_fft) * env * noise_mask, hop_length=hop, n_fft=n_fft, length=n)
    out = harm * voiced_s + noise
    return at_rms_of(out, y)


def psola_shift(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """TD-PSOLA pitch shift by +-2..4 semitones on DIO pitch marks (duration and formants kept); see :mod:`eval.psola`."""
    from eval.psola import td_psola

    steps = float(rng.choice([-4, -3, -2, 2, 3, 4]))
    return td_psola(y, sample_rate=sample_rate, factor=2.0 ** (steps / 12), f0=_f0_track(y, sample_rate))


def neural_vocoder(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Copy-synthesis through a small MelGAN-style neural vocoder trained here (see :mod:`eval.neural_vocoder`)."""
    from eval.neural_vocoder import resynthesize

    del rng
    return resynthesize(y, sample_rate=sample_rate)


def wsola_stretch(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """WSOLA tempo change (pitch kept) by 0.8-0.9x or 1.1-1.25x; see :mod:`eval.wsola`."""
    from eval.wsola import wsola

    rate = float(rng.uniform(0.8, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.25))
    return wsola(y, sample_rate=sample_rate, rate=rate)


COPY_FAMILIES: dict[str, SpoofFn] = {"world": world_copy, "pvshift": pitch_shift, "timestretch": time_stretch,
                                     "griffinlim": griffin_lim, "lpc": lpc_vocoder, "phaserebuild": phase_rebuild,
                                     "cepvoc": cepstral_vocoder, "harmonic": harmonic_noise, "psola": psola_shift,
                                     "wsola": wsola_stretch, "neuralvoc": neural_vocoder}
FAMILIES = ("espeak", *COPY_FAMILIES)
