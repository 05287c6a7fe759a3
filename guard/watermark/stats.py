"""Analytic false-positive bounds of the presence statistic.

Under "no mark with this key", each group's angle against its keyed dither is uniform and
independent of the audio, so a statistic ``T = sum_k a_k cos(phi_k)`` (``a_k >= 0`` fixed
by the audio) has moment generating function ``M(lambda) = prod_k I0(lambda a_k)``. The
Chernoff bound ``P(T >= t) <= min_lambda exp(-lambda t) M(lambda)`` holds for any audio.

It misses the Gaussian tail's prefactor, about ``1 / (z sqrt(2 pi))`` at ``z`` standard
deviations (a factor of 16 at the z the verifier needs), so :func:`tail_bound` can also
tighten it by exponential tilting (as in the Bahadur-Rao theorem): with ``P_lambda`` the
law tilted by ``exp(lambda T) / M(lambda)``,

    P(T >= t) = exp(-lambda t) M(lambda) E_lambda[exp(-lambda (T - t)); T >= t]
              <= exp(-lambda t) M(lambda) D / lambda,

where ``D`` bounds the density of ``T`` under ``P_lambda``. By Fourier inversion
``D <= (1 / pi) int_0^inf |phi(w)| dw`` with the tilted characteristic function
``phi(w) = prod_k I0(a_k (lambda + i w)) / I0(a_k lambda)``; the integral is taken
numerically (see :func:`_density_bound`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import i0e, i1e, ive

_GRID = 384  # trapezoid points over [0, _SPAN / sigma]
_SPAN = 9.0  # the Gaussian part of |phi| has fallen to exp(-40) there
_TAIL_SPANS = 4.0  # beyond, up to this many spans, |phi| is bounded by its largest sample
_TAIL_GRID = 256
_DECAYED = 1e-10  # and that bound must be below this, else no tightening
_MARGIN = 1.05  # headroom for the numerical integral
_NEWTON_STEPS = 60  # at most; a handful reach machine precision


def _log_i0(x: np.ndarray) -> np.ndarray:
    return np.log(i0e(x)) + x


def _von_mises_cos(kappa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``cos(phi)`` for ``phi`` tilted by ``exp(kappa cos(phi))`` (von Mises).

    The mean is ``A1(kappa) = I1(kappa) / I0(kappa)``; the variance
    ``1 - A1 / kappa - A1**2`` is also ``A1'(kappa)``, and 1/2 in the limit kappa -> 0
    (taken below 1e-8, where the formula cancels).
    """
    mean = i1e(kappa) / i0e(kappa)
    var = np.where(kappa > 1e-8, 1.0 - mean / np.maximum(kappa, 1e-300) - mean**2, 0.5)
    return mean, var


def _chernoff(t: float, a: np.ndarray) -> tuple[float, float]:
    """Chernoff bound on ``P(sum a_k cos(phi_k) >= t)`` and its optimal lambda (0 < t < sum a).

    The exponent ``-lambda t + sum log I0(lambda a)`` is convex; its minimum is the root of
    ``f(lambda) = sum a A1(lambda a) - t`` (``A1 = I1 / I0``), which is increasing and
    concave in lambda. Newton's method from lambda = 0 therefore climbs to the root from
    below without overshooting, converging quadratically (a few steps). Any lambda >= 0
    gives a valid bound, so stopping early only loosens it.
    """
    lam = 0.0
    for _ in range(_NEWTON_STEPS):
        ratio, slope = _von_mises_cos(lam * a)  # A1(lambda a) and its derivative
        step = (t - float(np.sum(a * ratio))) / float(np.sum(a**2 * slope))
        lam += step
        if step <= 1e-12 * lam:
            break
    return float(min(1.0, np.exp(-lam * t + np.sum(_log_i0(lam * a))))), lam


def _density_bound(a: np.ndarray, lam: float) -> float | None:
    """Bound on the density of ``sum a_k cos(phi_k)`` tilted by ``lam``, or None where it cannot be had.

    ``(1 / pi) int_0^inf |phi(w)| dw``: the trapezoid rule over ``[0, _SPAN / sigma]``
    (``sigma``: the tilted standard deviation), plus the largest sample of ``|phi|`` over
    the next :data:`_TAIL_SPANS` - 1 spans times their length, times :data:`_MARGIN`. None
    when that largest sample is above :data:`_DECAYED`: a sum ruled by one or two
    amplitudes has an unbounded density (the arcsine law's edges), and a sum of a few has a
    heavy-tailed ``|phi|``.
    """
    kappa = lam * a
    _, var_cos = _von_mises_cos(kappa)
    sigma = float(np.sqrt(np.sum(a**2 * var_cos)))
    if not np.isfinite(sigma) or sigma <= 0:
        return None
    span = _SPAN / sigma
    scale = ive(0, kappa)

    def modulus(w: np.ndarray) -> np.ndarray:
        z = a[None, :] * (lam + 1j * w[:, None])
        return np.exp(np.sum(np.log(np.abs(ive(0, z)) / scale[None, :]), axis=1))

    tail = float(modulus(np.linspace(span, _TAIL_SPANS * span, _TAIL_GRID)).max())
    if tail > _DECAYED:
        return None
    w = np.linspace(0.0, span, _GRID)
    integral = float(np.trapezoid(modulus(w), w)) + tail * (_TAIL_SPANS - 1) * span
    return _MARGIN * integral / np.pi


def tail_bound(t: float, amplitudes: np.ndarray, *, sharp: bool = False) -> float:
    """Upper bound on ``P(sum a_k cos(phi_k) >= t)`` for independent uniform ``phi_k``.

    Parameters
    ----------
    t : float
    amplitudes : np.ndarray [shape=(k,)], >= 0
    sharp : bool
        Also try the tilted-density bound (module docstring) and return the smaller one:
        about ``z sqrt(2 pi)`` times smaller where the sum is near Gaussian, at the cost of
        ``_GRID + _TAIL_GRID`` evaluations of a complex Bessel function per amplitude (some ms).

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
    bound, lam = _chernoff(t, a)
    if sharp and lam > 0:
        density = _density_bound(a, lam)
        if density is not None:
            bound = min(bound, bound * density / lam)
    return bound
