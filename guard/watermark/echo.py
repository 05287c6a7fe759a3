"""Find and undo one strong discrete echo before the mark is read.

A copy of the clip delayed by D samples and scaled by ``a`` (a room's single reflection,
an echoing call, the suite's ``echo_0.5s`` attack) overlays the mark with a copy of itself
shifted by a fraction of a slot, which blurs every group. The echo is ``1 + a z^-D``, so
the log-magnitude spectrum of the clip carries a ripple of period ``RATE / D`` whose real
cepstrum has a peak of height ``a / 2`` at quefrency D (Bogert, Healy & Tukey 1963). When
that peak stands far above the rest of the long-quefrency cepstrum, the inverse filter
``1 / (1 + a z^-D)`` restores the clip up to the echo-of-echo terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from guard.watermark.layout import RATE

MIN_DELAY_S = 0.03  # below this the "echo" is a pitch period or a short room reflection
MAX_DELAY_S = 1.0
_PEAK_OVER_NOISE = 9.0  # peak height over the robust spread of the cepstrum around it
_MIN_GAIN = 0.15
_MAX_GAIN = 0.95  # the inverse filter is stable for |a| < 1
_REFINE = np.array([1.0, 1.15, 1.3, 1.5, 1.75])


@dataclass(frozen=True)
class Echo:
    """One discrete echo: ``y[n] = x[n] + gain * x[n - delay]``.

    Attributes
    ----------
    delay : int
        Samples at 16 kHz.
    gain : float
        Relative amplitude, in (-1, 1).
    """

    delay: int
    gain: float


def find_echo(y16: np.ndarray) -> Echo | None:
    """The strongest discrete echo of a 16 kHz clip, or None when there is no clear one.

    Parameters
    ----------
    y16 : np.ndarray [shape=(n,)]
        Mono audio at 16 kHz; the echo's delay must be under a third of its length.
    """
    n = y16.shape[0]
    lo, hi = int(MIN_DELAY_S * RATE), min(int(MAX_DELAY_S * RATE), n // 3)
    if hi <= lo + 16:
        return None
    part = _cepstrum(y16)[lo:hi]
    peak = int(np.argmax(np.abs(part)))
    spread = 1.4826 * float(np.median(np.abs(part - np.median(part))))
    height = float(part[peak])
    if spread <= 0 or abs(height) < _PEAK_OVER_NOISE * spread:
        return None
    first = 2.0 * height  # the peak is gain / 2; codecs and the clip's ends shrink it
    if abs(first) < _MIN_GAIN:
        return None
    delay = lo + peak
    # refine the gain: the one whose inverse filter leaves the smallest peak at the delay
    gains = np.clip(first * _REFINE, -_MAX_GAIN, _MAX_GAIN)
    left = [abs(float(_cepstrum(remove_echo(y16, Echo(delay, float(g))))[delay])) for g in gains]
    return Echo(delay, float(gains[int(np.argmin(left))]))


def _cepstrum(y16: np.ndarray) -> np.ndarray:
    """Real cepstrum [shape=(n,)] of the whole clip."""
    n = y16.shape[0]
    spectrum = np.abs(scipy.fft.rfft(y16.astype(np.float64), n=n))
    floor = 1e-6 * max(float(spectrum.max()), 1e-20)
    return scipy.fft.irfft(np.log(spectrum + floor), n=n)


def remove_echo(y16: np.ndarray, echo: Echo) -> np.ndarray:
    """Apply the inverse filter ``1 / (1 + gain z^-delay)`` [shape=(n,), dtype=float32]."""
    x = y16.astype(np.float64).copy()
    d = echo.delay
    for start in range(d, x.shape[0], d):
        stop = min(start + d, x.shape[0])
        x[start:stop] -= echo.gain * x[start - d:stop - d]
    return x.astype(np.float32)
