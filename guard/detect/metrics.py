"""The one detection metric guard/ needs itself (to pick the best epoch): the equal error rate.

The full benchmark metrics (min t-DCF, DET curves, TPR at FPR) live in :mod:`eval.metrics`,
which uses this same EER so training and benchmark numbers agree.
"""

from __future__ import annotations

import numpy as np

from guard.errors import ParameterError


def _as_scores(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ParameterError(f"{name} is empty; EER needs at least one score of each class")
    if not np.all(np.isfinite(a)):
        raise ParameterError(f"{name} contains NaN or infinite scores")
    return a


def det_rates(bonafide_scores: np.ndarray, spoof_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Error rates at every threshold, computed as ASVspoof's ``compute_det_curve``.

    Parameters
    ----------
    bonafide_scores, spoof_scores : np.ndarray [shape=(n,)], [shape=(m,)]
        Detector scores, higher = more synthetic.

    Returns
    -------
    spoof_missed : np.ndarray [shape=(n + m + 1,)]
        Share of spoofs scored below the threshold (passed as bona fide).
    bona_flagged : np.ndarray [shape=(n + m + 1,)]
        Share of bona fide scored at or above the threshold (flagged as synthetic).
    thresholds : np.ndarray [shape=(n + m + 1,)]
        Decreasing; flag a clip when ``score >= threshold``.
    """
    bona = _as_scores(bonafide_scores, "bonafide_scores")
    spoof = _as_scores(spoof_scores, "spoof_scores")
    # ASVspoof convention (target = bona fide, higher = target): negate our spoof-high scores.
    target, nontarget = -bona, -spoof
    scores = np.concatenate([target, nontarget])
    labels = np.concatenate([np.ones(target.size), np.zeros(nontarget.size)])
    order = np.argsort(scores, kind="mergesort")
    labels = labels[order]
    tar_below = np.cumsum(labels)
    non_above = nontarget.size - (np.arange(1, scores.size + 1) - tar_below)
    bona_flagged = np.concatenate([[0.0], tar_below / target.size])
    spoof_missed = np.concatenate([[1.0], non_above / nontarget.size])
    thresholds = np.concatenate([[scores[order[0]] - 0.001], scores[order]])
    return spoof_missed, bona_flagged, -thresholds


def equal_error_rate(bonafide_scores: np.ndarray, spoof_scores: np.ndarray) -> float:
    """EER in [0, 1] as the ASVspoof scripts compute it (higher score = more synthetic)."""
    return compute_eer(bonafide_scores, spoof_scores)[0]


def compute_eer(bonafide_scores: np.ndarray, spoof_scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and its threshold, as ASVspoof's ``compute_eer``.

    Returns
    -------
    eer : float in [0, 1]
        Mean of the miss and false-alarm rates where they are closest.
    threshold : float
        Score (higher = more synthetic) at which that happens; flag ``score >= threshold``.
    """
    spoof_missed, bona_flagged, thresholds = det_rates(bonafide_scores, spoof_scores)
    i = int(np.nanargmin(np.abs(spoof_missed - bona_flagged)))
    return float(np.mean((spoof_missed[i], bona_flagged[i]))), float(thresholds[i])
