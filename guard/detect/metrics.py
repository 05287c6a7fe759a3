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
    """Error rates at every threshold a detector can use, as ASVspoof's ``compute_det_curve``.

    One point per distinct score value (plus the start point, nothing flagged): a block of
    tied scores is crossed at once, because no threshold separates tied trials. On scores
    without ties this is exactly ASVspoof's curve; with ties it leaves out the points inside
    a tied block, which no threshold can produce (ASVspoof's walk through such a block gives a
    constant-score detector an EER of 1 instead of 0.5).

    Parameters
    ----------
    bonafide_scores, spoof_scores : np.ndarray [shape=(n,)], [shape=(m,)]
        Detector scores, higher = more synthetic.

    Returns
    -------
    spoof_missed : np.ndarray [shape=(k + 1,)]
        Share of spoofs scored below the threshold (passed as bona fide); ``k`` is the
        number of distinct scores (``n + m`` when none tie).
    bona_flagged : np.ndarray [shape=(k + 1,)]
        Share of bona fide scored at or above the threshold (flagged as synthetic).
    thresholds : np.ndarray [shape=(k + 1,)]
        Decreasing; flag a clip when ``score >= threshold``.

    Examples
    --------
    >>> missed, flagged, _ = det_rates(np.zeros(2), np.zeros(2))
    >>> missed.tolist(), flagged.tolist()
    ([1.0, 0.0], [0.0, 1.0])
    """
    bona = _as_scores(bonafide_scores, "bonafide_scores")
    spoof = _as_scores(spoof_scores, "spoof_scores")
    # ASVspoof convention (target = bona fide, higher = target): negate our spoof-high scores.
    target, nontarget = -bona, -spoof
    scores = np.concatenate([target, nontarget])
    labels = np.concatenate([np.ones(target.size), np.zeros(nontarget.size)])
    order = np.argsort(scores, kind="mergesort")
    labels, sorted_scores = labels[order], scores[order]
    tar_below = np.cumsum(labels)
    non_above = nontarget.size - (np.arange(1, scores.size + 1) - tar_below)
    # Keep only the last trial of each block of equal scores: the whole block is crossed at once.
    last = np.concatenate([sorted_scores[1:] != sorted_scores[:-1], [True]])
    bona_flagged = np.concatenate([[0.0], tar_below[last] / target.size])
    spoof_missed = np.concatenate([[1.0], non_above[last] / nontarget.size])
    thresholds = np.concatenate([[sorted_scores[0] - 0.001], sorted_scores[last]])
    return spoof_missed, bona_flagged, -thresholds


def equal_error_rate(bonafide_scores: np.ndarray, spoof_scores: np.ndarray) -> float:
    """EER in [0, 1] as the ASVspoof scripts compute it (higher score = more synthetic); 0.5 for a constant score."""
    return compute_eer(bonafide_scores, spoof_scores)[0]


def compute_eer(bonafide_scores: np.ndarray, spoof_scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and its threshold, as ASVspoof's ``compute_eer`` (tied scores crossed at once).

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
