"""Map raw detector scores to ``p_synthetic`` with a logistic fitted on a development split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from guard.errors import DetectError


@dataclass(frozen=True)
class Calibration:
    """``p_synthetic = sigmoid(scale * score + offset)``; identity-like default (1, 0)."""

    scale: float = 1.0
    offset: float = 0.0

    def __call__(self, score: np.ndarray | float) -> np.ndarray | float:
        z = np.clip(self.scale * np.asarray(score, dtype=np.float64) + self.offset, -60.0, 60.0)
        p = 1.0 / (1.0 + np.exp(-z))
        return float(p) if np.ndim(p) == 0 else p

    def to_dict(self) -> dict:
        return asdict(self)


def fit_calibration(scores: np.ndarray, labels: np.ndarray, *, prior: float = 0.5, n_iter: int = 50) -> Calibration:
    """Fit a two-parameter logistic by Newton's method, classes weighted to ``prior``.

    Parameters
    ----------
    scores : np.ndarray [shape=(n,)]
        Raw scores, higher = more synthetic.
    labels : np.ndarray [shape=(n,)]
        1 for spoof, 0 for bona fide; both classes must be present.
    prior : float in (0, 1)
        Prior probability of spoof the calibrated output assumes (0.5: balanced).
    n_iter : int
        Newton steps (a handful suffice; a small ridge keeps separable data finite).

    Returns
    -------
    Calibration
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if s.shape != y.shape or s.ndim != 1:
        raise DetectError(f"scores and labels must be 1-D of one length, given {s.shape} and {y.shape}")
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0 or n_pos + n_neg != y.size:
        raise DetectError(f"calibration needs labels in {{0, 1}} with both classes, given {n_pos} spoof and {n_neg} bona fide")
    if not np.all(np.isfinite(s)):
        raise DetectError("calibration scores contain NaN or infinite values")
    if not 0.0 < prior < 1.0:
        raise DetectError(f"prior must be in (0, 1), given prior={prior}")
    w = np.where(y == 1, prior / n_pos, (1 - prior) / n_neg)
    x = np.stack([s, np.ones_like(s)], axis=1)
    theta = np.zeros(2)
    ridge = 1e-3
    for _ in range(n_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -60, 60)))
        grad = x.T @ (w * (p - y)) + ridge * theta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return Calibration(float(theta[0]), float(theta[1]))
