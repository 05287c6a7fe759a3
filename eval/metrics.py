"""Detection metrics as the ASVspoof challenges compute them: EER, min t-DCF, DET/ROC, TPR at FPR.

Convention throughout: a detector score is higher for *more synthetic* audio. (The ASVspoof
scripts use higher = more bona fide; the rates below are the same numbers, relabelled.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guard.detect.metrics import compute_eer, det_rates, equal_error_rate
from guard.errors import ParameterError

__all__ = ["COST_MODEL_2019", "compute_eer", "det_curve", "equal_error_rate", "min_tdcf", "plot_det", "tpr_at_fpr"]

# ASVspoof 2019 evaluation plan, section 4: priors and costs of the tandem detection cost function.
COST_MODEL_2019 = {"Pspoof": 0.05, "Ptar": 0.95 * 0.99, "Pnon": 0.95 * 0.01,
                   "Cmiss_asv": 1.0, "Cfa_asv": 10.0, "Cmiss_cm": 1.0, "Cfa_cm": 10.0}


@dataclass(frozen=True)
class DetCurve:
    """Error rates at every threshold (higher score = more synthetic; flag when score >= threshold).

    Attributes
    ----------
    bona_flagged : np.ndarray [shape=(k,)]
        False-positive rate: share of bona fide flagged as synthetic (ASVspoof: CM miss rate).
    spoof_missed : np.ndarray [shape=(k,)]
        False-negative rate: share of spoofs passed as bona fide (ASVspoof: CM false alarm rate).
    thresholds : np.ndarray [shape=(k,)]
    """

    bona_flagged: np.ndarray
    spoof_missed: np.ndarray
    thresholds: np.ndarray


def det_curve(bonafide_scores: np.ndarray, spoof_scores: np.ndarray) -> DetCurve:
    """All operating points of a detector (the points of a DET or ROC plot)."""
    spoof_missed, bona_flagged, thresholds = det_rates(bonafide_scores, spoof_scores)
    return DetCurve(bona_flagged, spoof_missed, thresholds)


def tpr_at_fpr(bonafide_scores: np.ndarray, spoof_scores: np.ndarray, *, fpr: float) -> float:
    """Share of spoofs flagged when at most ``fpr`` of bona fide audio is flagged.

    Parameters
    ----------
    fpr : float in [0, 1]
        Largest acceptable share of bona fide flagged as synthetic.
    """
    if not 0.0 <= fpr <= 1.0:
        raise ParameterError(f"fpr must be within [0, 1], given fpr={fpr}")
    curve = det_curve(bonafide_scores, spoof_scores)
    ok = curve.bona_flagged <= fpr + 1e-12
    return float(np.max(1.0 - curve.spoof_missed[ok])) if np.any(ok) else 0.0


def _asv_rates(tar: np.ndarray, non: np.ndarray, spoof: np.ndarray) -> tuple[float, float, float]:
    """ASV miss, false-alarm and spoof-miss rates at the ASV's own EER threshold (higher = target)."""
    # compute_eer's high side is its second argument: here the ASV targets.
    _, threshold = compute_eer(np.asarray(non, float), np.asarray(tar, float))
    p_fa = float(np.mean(np.asarray(non) >= threshold))
    p_miss = float(np.mean(np.asarray(tar) < threshold))
    p_miss_spoof = float(np.mean(np.asarray(spoof) < threshold))
    return p_miss, p_fa, p_miss_spoof


def min_tdcf(
    bonafide_scores: np.ndarray,
    spoof_scores: np.ndarray,
    *,
    asv_target_scores: np.ndarray,
    asv_nontarget_scores: np.ndarray,
    asv_spoof_scores: np.ndarray,
    cost_model: dict[str, float] | None = None,
) -> float:
    """Minimum normalised tandem detection cost (ASVspoof 2019 t-DCF).

    Parameters
    ----------
    bonafide_scores, spoof_scores : np.ndarray
        Countermeasure (detector) scores, higher = more synthetic.
    asv_target_scores, asv_nontarget_scores, asv_spoof_scores : np.ndarray
        Speaker-verification scores (higher = same speaker) of target, zero-effort impostor
        and spoofed trials; their EER threshold fixes the ASV operating point.
    cost_model : dict, optional
        Keys as :data:`COST_MODEL_2019` (the default).

    Returns
    -------
    float
        ``min over thresholds of (C1 * Pmiss_cm + C2 * Pfa_cm) / min(C1, C2)``.
    """
    c = {**COST_MODEL_2019, **(cost_model or {})}
    p_miss_asv, p_fa_asv, p_miss_spoof_asv = _asv_rates(asv_target_scores, asv_nontarget_scores, asv_spoof_scores)
    curve = det_curve(bonafide_scores, spoof_scores)
    c1 = c["Ptar"] * (c["Cmiss_cm"] - c["Cmiss_asv"] * p_miss_asv) - c["Pnon"] * c["Cfa_asv"] * p_fa_asv
    c2 = c["Cfa_cm"] * c["Pspoof"] * (1.0 - p_miss_spoof_asv)
    if c1 <= 0 or c2 <= 0:
        raise ParameterError(f"t-DCF is undefined for this ASV operating point (C1={c1:.4g}, C2={c2:.4g})")
    tdcf = c1 * curve.bona_flagged + c2 * curve.spoof_missed
    return float(np.min(tdcf / min(c1, c2)))


def plot_det(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, *, title: str = "DET") -> Path:
    """Draw DET curves (normal-deviate axes) of named (bonafide_scores, spoof_scores) pairs to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    ticks = np.array([0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9])
    low, high = 0.0005, 0.95  # the axes; rates beyond them are drawn on the edge, so a perfect system shows
    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    for name, (bona, spoof) in curves.items():
        curve = det_curve(bona, spoof)
        x = norm.ppf(np.clip(curve.bona_flagged, low * 1.1, high * 0.999))
        y = norm.ppf(np.clip(curve.spoof_missed, low * 1.1, high * 0.999))
        eer = equal_error_rate(bona, spoof)
        ax.plot(x, y, label=f"{name} (EER {100 * eer:.1f}%)")
    ax.set_xticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    lim = norm.ppf([low, high])
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.plot(lim, lim, color="0.8", lw=0.8, ls="--")
    ax.set_xlabel("bona fide flagged as synthetic (%)")
    ax.set_ylabel("synthetic passed as bona fide (%)")
    ax.set_title(title)
    ax.grid(True, color="0.9")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
