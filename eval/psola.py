"""TD-PSOLA: time-domain pitch-synchronous overlap-add, the classic diphone-TTS pitch modifier.

A spoof family of the self-play corpus that works on the waveform itself: it cuts the speech
into two-period Hann-windowed grains centred on the glottal pulses and lays them down again
at a new spacing. The pulses, the phase within each grain and the spectral envelope stay the
original's; what changes is the spacing (so the pitch), and the joins between grains (a new
pulse rate over the old grain shape). No STFT, no vocoder: a different mechanism from every
other family of the corpus.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from eval.levels import at_rms_of
from guard.audio import check_sample_rate, valid_audio
from guard.errors import ParameterError

_HOP_S = 0.01  # F0 frames, and the grain spacing in unvoiced parts
MIN_FACTOR, MAX_FACTOR = 0.25, 4.0  # two octaves each way: beyond that the grains no longer overlap sensibly


def _checked(y: np.ndarray, f0: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``y`` as mono float32, ``f0`` as a 1-D float array of finite Hz >= 0, and the rate; else ParameterError/AudioError."""
    sample_rate = check_sample_rate(sample_rate)
    y = valid_audio(y, sample_rate=sample_rate)
    f0 = np.asarray(f0, dtype=np.float64)
    if f0.ndim != 1 or not np.all(np.isfinite(f0)) or np.any(f0 < 0):
        raise ParameterError(f"f0 must be a 1-D array of finite frequencies >= 0 Hz, given shape {f0.shape}")
    return y, f0, sample_rate


def pitch_marks(y: np.ndarray, f0: np.ndarray, *, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Analysis marks on the pulses of voiced speech, every 10 ms elsewhere.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    f0 : np.ndarray [shape=(frames,)]
        F0 in Hz every 10 ms (0 = unvoiced).
    sample_rate : int
        Rate of ``y`` in Hz.

    Returns
    -------
    marks : np.ndarray [shape=(m,), dtype=int]
        Strictly increasing sample positions.
    voiced : np.ndarray [shape=(m,), dtype=bool]
        Whether each mark sits in a voiced frame.

    Raises
    ------
    AudioError, ParameterError
        ``y`` is not mono finite float audio, ``f0`` not 1-D finite and >= 0, or the rate is out of range.
    """
    y, f0, sample_rate = _checked(y, f0, sample_rate)
    hop = int(round(_HOP_S * sample_rate))
    n = y.shape[0]
    marks, voiced = [], []
    t = 0
    while t < n:
        # the F0 frame at or before t (up to 10 ms old; corpus v6 was made this way)
        f = float(f0[min(t // hop, f0.shape[0] - 1)]) if f0.size else 0.0
        if f > 0:
            period = sample_rate / f
            if voiced and voiced[-1]:  # next pulse about a period on: search a quarter period each side
                lo, hi = max(0, int(t - period / 4)), min(n, int(t + period / 4) + 1)
            else:  # first pulse of a voiced run: search a whole period
                lo, hi = t, min(n, int(t + period) + 1)
            snapped = lo + int(np.argmax(y[lo:hi]))  # the pulse's positive peak: one polarity throughout
            t = max(snapped, marks[-1] + 1) if marks else snapped
            marks.append(t)
            voiced.append(True)
            t = int(round(t + period))
        else:
            marks.append(t)
            voiced.append(False)
            t += hop
    return np.asarray(marks, dtype=np.int64), np.asarray(voiced, dtype=bool)


def td_psola(y: np.ndarray, *, sample_rate: int, factor: float, f0: np.ndarray) -> np.ndarray:
    """Shift the pitch of voiced speech by ``factor`` (duration kept), by TD-PSOLA.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sample_rate : int
        Rate of ``y`` in Hz.
    factor : float in [MIN_FACTOR, MAX_FACTOR]
        New F0 over old (2 ** (semitones / 12)).
    f0 : np.ndarray [shape=(frames,)]
        F0 of ``y`` in Hz every 10 ms (0 = unvoiced).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        The shifted speech at the input's RMS level.

    Raises
    ------
    AudioError, ParameterError
        ``factor`` outside [MIN_FACTOR, MAX_FACTOR], or bad ``y``, ``f0`` or rate (see :func:`pitch_marks`).
    """
    if not MIN_FACTOR <= factor <= MAX_FACTOR:  # NaN fails too
        raise ParameterError(f"factor must be within {MIN_FACTOR}-{MAX_FACTOR} (two octaves), given factor={factor}")
    y, f0, sample_rate = _checked(y, f0, sample_rate)
    n = y.shape[0]
    marks, voiced = pitch_marks(y, f0, sample_rate=sample_rate)
    if marks.shape[0] < 2:
        return y.astype(np.float32)
    periods = np.diff(marks, append=marks[-1] + (marks[-1] - marks[-2]))
    padded_len = int(periods.max()) + 1
    padded = np.pad(y.astype(np.float64), padded_len)
    out = np.zeros(n + 2 * padded_len)
    ts = float(marks[0])
    while ts < n:
        k = int(np.clip(np.searchsorted(marks, ts), 1, marks.shape[0] - 1))
        k = k if abs(marks[k] - ts) < abs(marks[k - 1] - ts) else k - 1  # the nearest analysis mark
        period = int(periods[k])
        grain = padded[marks[k] + padded_len - period: marks[k] + padded_len + period] * scipy.signal.get_window("hann", 2 * period)  # periodic: grains a period apart sum to one
        start = int(round(ts)) + padded_len - period
        out[start:start + 2 * period] += grain
        ts += period / factor if voiced[k] else period
    out = out[padded_len:padded_len + n]
    return at_rms_of(out, y.astype(np.float64))
