"""Analytic false-positive bound of the presence statistic.

Under "no mark with this key", each group's angle against its keyed dither is uniform and
independent of the audio, so a statistic ``T = sum_k a_k cos(phi_k)`` (``a_k >= 0`` fixed
by the audio) has moment generating function ``prod_k I0(lambda a_k)``. The Chernoff bound
``P(T >= t) <= min_lambda exp(-lambda t) prod_k I0(lambda a_k)`` holds for any audio.
"""

from __future__ import annotations

import numpy as np
from scipy.special import i0e, i1e


def _log_i0(x: np.ndarray) -> np.ndarray:
    return np.log(i0e(x)) + x


def tail_bound(t: float, amplitudes: np.ndarray) -> float:
    """Upper bound on ``P(sum a_k cos(phi_k) >= t)`` for independent uniform ``phi_k``.

    Parameters
    ----------
    t : float
    amplitudes : np.ndarray [shape=(k,)], >= 0

    Returns
    -------
    float in [0, 1]
    """
    a = np.asarray(amplitudes, dtype=np.float64)
    a = a[a > 0]
    if t <= 0 or a.size == 0:
        return 1.0
    if t >= a.sum():
        return 0.0
    # the exponent -lambda t + sum log I0(lambda a) is convex; find its minimum by bisection
    lo, hi = 0.0, 1.0
    while np.sum(a * i1e(hi * a) / i0e(hi * a)) < t and hi < 1e6:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.sum(a * i1e(mid * a) / i0e(mid * a)) < t:
            lo = mid
        else:
            hi = mid
    lam = 0.5 * (lo + hi)
    return float(min(1.0, np.exp(-lam * t + np.sum(_log_i0(lam * a)))))
