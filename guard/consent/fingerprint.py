"""Whether two statement recordings are one recording: a re-encoded, trimmed or sped-up copy.

A consent statement backs one consent, so a copy of a recording that already backs another
(or a revoked) consent must be refused even when its bytes differ. Two log-mel spectrograms
(40 bands, 100-4000 Hz, 10 ms hop, each band's mean removed) are compared at their best
time lag (FFT cross-correlation over every lag), after undoing the speed change that the
length ratio suggests (and 1 % either side). Measured on espeak-ng statements (two voices)
and LibriSpeech utterances: copies through MP3 32k, Opus 16k, 30 dB noise with x0.3 gain,
1 s cut or padded, played x0.95 or x1.03: similarity 0.925-1.0; the same voice reading
another date 0.74-0.82, reading slower 0.63-0.79, another espeak voice reading the same text
0.45-0.86; different real utterances at most 0.33, real utterances re-encoded 0.99-1.0. A
person reading a statement again is a new recording (not measured on real re-readings).
"""

from __future__ import annotations

import numpy as np

from guard.audio import resample

RATE = 16000
SAME_RECORDING = 0.9  # similarity at or above which two recordings are one
_MAX_SPEED_CHANGE = 0.12  # length ratios further from 1 are different recordings
_SPEED_SLACK = 0.01


def _log_mel(y: np.ndarray) -> np.ndarray:
    import librosa

    m = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=RATE, n_fft=512, hop_length=160,
                                       n_mels=40, fmin=100.0, fmax=4000.0)
    log = np.log(m + 1e-6 * float(m.max()) + 1e-12)
    return log - log.mean(axis=1, keepdims=True)


def _best_lag(a: np.ndarray, b: np.ndarray) -> float:
    """Largest normalised cross-correlation of two (bands, frames) maps over every time lag."""
    n = a.shape[1] + b.shape[1]
    xc = np.fft.irfft(np.fft.rfft(a, n, axis=1) * np.conj(np.fft.rfft(b, n, axis=1)), n, axis=1).sum(axis=0)
    norm = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(xc.max() / norm) if norm > 0 else 0.0


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two recordings are as recordings, in [-1, 1] (>= :data:`SAME_RECORDING`: one recording).

    Parameters
    ----------
    a, b : np.ndarray [shape=(n,)]
        Mono audio at 16 kHz (:data:`RATE`), at least 0.1 s each.

    Returns
    -------
    float
        0.0 when their lengths differ by more than a speed change of 12 % explains.
    """
    if min(a.shape[0], b.shape[0]) < RATE // 10:
        return 0.0
    ratio = a.shape[0] / b.shape[0]
    if abs(ratio - 1.0) > _MAX_SPEED_CHANGE:
        return 0.0
    reference = _log_mel(a)
    best = 0.0
    for factor in sorted({1.0, ratio - _SPEED_SLACK, ratio, ratio + _SPEED_SLACK}):
        undone = b if factor == 1.0 else resample(b, orig_sr=RATE, target_sr=int(round(RATE * factor)))
        best = max(best, _best_lag(reference, _log_mel(undone)))
    return best
