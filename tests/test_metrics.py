"""EER, DET points, TPR at FPR and min t-DCF against hand-worked cases and the ASVspoof recipe."""

from __future__ import annotations

import numpy as np
import pytest

from eval.metrics import COST_MODEL_2019, compute_eer, det_curve, min_tdcf, plot_det, tpr_at_fpr
from guard.errors import ParameterError


def _asvspoof_reference_eer(target: np.ndarray, nontarget: np.ndarray) -> float:
    """The ASVspoof 2019 ``compute_eer`` (higher = bona fide), transcribed for comparison."""
    n = target.size + nontarget.size
    scores = np.concatenate((target, nontarget))
    labels = np.concatenate((np.ones(target.size), np.zeros(nontarget.size)))
    idx = np.argsort(scores, kind="mergesort")
    labels = labels[idx]
    tar_sums = np.cumsum(labels)
    non_sums = nontarget.size - (np.arange(1, n + 1) - tar_sums)
    frr = np.concatenate((np.atleast_1d(0), tar_sums / target.size))
    far = np.concatenate((np.atleast_1d(1), non_sums / nontarget.size))
    i = np.argmin(np.abs(frr - far))
    return float(np.mean((frr[i], far[i])))


def test_eer_matches_the_asvspoof_recipe(rng: np.random.Generator) -> None:
    bona = rng.normal(-1.0, 1.0, 300)
    spoof = rng.normal(1.0, 1.0, 500)
    eer, thr = compute_eer(bona, spoof)
    assert eer == pytest.approx(_asvspoof_reference_eer(-bona, -spoof))
    # Two unit Gaussians two sigma apart: EER = Phi(-1) ~ 0.159.
    assert 0.12 < eer < 0.2
    flagged = np.mean(bona >= thr)
    missed = np.mean(spoof < thr)
    assert abs(flagged - eer) < 0.02 and abs(missed - eer) < 0.02


@pytest.mark.parametrize(
    ("bona", "spoof", "expected"),
    [
        ([0.0, 0.1, 0.2], [0.8, 0.9, 1.0], 0.0),  # separable
        ([0.8, 0.9, 1.0], [0.0, 0.1, 0.2], 1.0),  # inverted
        ([0.0, 1.0], [0.5, 2.0], 0.5),
    ],
)
def test_eer_hand_cases(bona: list[float], spoof: list[float], expected: float) -> None:
    assert compute_eer(np.array(bona), np.array(spoof))[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("bona", "spoof", "match"),
    [([], [1.0], "bonafide_scores is empty"), ([0.0], [], "spoof_scores is empty"), ([np.nan], [1.0], "NaN")],
)
def test_eer_bad_input(bona: list[float], spoof: list[float], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        compute_eer(np.array(bona), np.array(spoof))


def test_det_curve_is_monotone(rng: np.random.Generator) -> None:
    curve = det_curve(rng.normal(0, 1, 50), rng.normal(1, 1, 60))
    assert np.all(np.diff(curve.bona_flagged) >= 0)
    assert np.all(np.diff(curve.spoof_missed) <= 0)
    assert curve.bona_flagged[0] == 0.0 and curve.spoof_missed[-1] == 0.0


def test_tpr_at_fpr() -> None:
    bona = np.arange(100) / 100.0  # 0.00 .. 0.99
    spoof = np.array([0.5, 0.985, 2.0, 3.0])
    # At most 1% of bona fide flagged: threshold just above 0.98 -> three spoofs caught.
    assert tpr_at_fpr(bona, spoof, fpr=0.01) == pytest.approx(0.75)
    assert tpr_at_fpr(bona, spoof, fpr=1.0) == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="fpr must be within"):
        tpr_at_fpr(bona, spoof, fpr=1.5)


def test_min_tdcf_perfect_and_useless_countermeasure(rng: np.random.Generator) -> None:
    tar, non, asv_spoof = rng.normal(3, 1, 400), rng.normal(-3, 1, 400), rng.normal(2, 1, 400)
    perfect = min_tdcf(np.zeros(50), np.ones(50), asv_target_scores=tar, asv_nontarget_scores=non, asv_spoof_scores=asv_spoof)
    assert perfect == pytest.approx(0.0, abs=1e-9)
    same = rng.normal(0, 1, 400)
    useless = min_tdcf(same[:200], same[200:], asv_target_scores=tar, asv_nontarget_scores=non, asv_spoof_scores=asv_spoof)
    # A countermeasure that cannot tell the classes apart is no better than accepting or rejecting all: ~1.
    assert 0.9 < useless <= 1.0 + 1e-9
    assert set(COST_MODEL_2019) >= {"Pspoof", "Cfa_cm"}


def test_plot_det_writes_png(tmp_path, rng: np.random.Generator) -> None:  # noqa: ANN001
    out = plot_det({"a": (rng.normal(0, 1, 40), rng.normal(2, 1, 40))}, tmp_path / "det.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _brute_force_eer(bona: np.ndarray, spoof: np.ndarray) -> float:
    """EER over every threshold a detector can use: above all scores, then each distinct score."""
    best = None
    for t in np.concatenate([[np.inf], np.unique(np.concatenate([bona, spoof]))[::-1]]):
        flagged, missed = np.mean(bona >= t), np.mean(spoof < t)
        if best is None or abs(missed - flagged) < best[0]:
            best = (abs(missed - flagged), (missed + flagged) / 2)
    return float(best[1])


@pytest.mark.parametrize(
    ("bona", "spoof", "expected"),
    [
        ([0.0] * 4, [0.0] * 4, 0.5),  # a constant-score detector is at chance, not 100 %
        ([2.0] * 3, [2.0] * 5, 0.5),
        ([0.0, 0.0, 1.0], [1.0, 1.0, 1.0], 1 / 6),  # one bona fide tied with every spoof
    ],
)
def test_eer_with_tied_scores(bona: list[float], spoof: list[float], expected: float) -> None:
    assert compute_eer(np.array(bona), np.array(spoof))[0] == pytest.approx(expected)
    assert _brute_force_eer(np.array(bona), np.array(spoof)) == pytest.approx(expected)


@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_eer_matches_brute_force_with_and_without_ties(decimals: int | None, rng: np.random.Generator) -> None:
    for _ in range(20):
        bona, spoof = rng.normal(-0.5, 1.0, 37), rng.normal(0.5, 1.0, 23)
        if decimals is not None:  # quantised scores: many ties, some across the classes
            bona, spoof = np.round(bona, decimals), np.round(spoof, decimals)
        eer, thr = compute_eer(bona, spoof)
        assert eer == pytest.approx(_brute_force_eer(bona, spoof))
        if decimals is None:
            assert eer == pytest.approx(_asvspoof_reference_eer(-bona, -spoof))


def test_det_curve_has_one_point_per_distinct_score() -> None:
    curve = det_curve(np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0]))
    assert curve.bona_flagged.tolist() == [0.0, 0.0, 1 / 3, 1.0]
    assert curve.spoof_missed.tolist() == [1.0, 0.5, 0.0, 0.0]
    assert curve.thresholds[1:].tolist() == [2.0, 1.0, 0.0]
