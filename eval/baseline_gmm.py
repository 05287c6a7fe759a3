"""The LFCC-GMM baseline of ASVspoof 2019: one GMM per class on LFCC frames, score = mean LLR.

The official baseline uses 512 diagonal components on 20 LFCC + deltas + double deltas; we
default to fewer components for speed on a small CPU (the count is recorded in results).
Training uses the same augmentation as the CNN (one clean and ``views - 1`` augmented copies
of each clip), so the two are compared on equal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture

from guard.detect.augment import augment
from guard.detect.features import FeatureConfig, features
from guard.errors import ParameterError

LFCC = FeatureConfig(kind="lfcc", n_filters=20, n_ceps=20)


def lfcc_frames(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """LFCC frames [shape=(t, 60)] of speech at ``sample_rate`` (must equal ``LFCC.sample_rate``)."""
    if sample_rate != LFCC.sample_rate:
        raise ParameterError(f"the baseline works at {LFCC.sample_rate} Hz, given sample_rate={sample_rate}")
    return features(y, config=LFCC).T


@dataclass
class GmmBaseline:
    """Two trained GMMs; :meth:`score` gives higher values for more synthetic audio."""

    bonafide: GaussianMixture
    spoof: GaussianMixture

    def score(self, y: np.ndarray, *, sample_rate: int) -> float:
        """Mean per-frame log-likelihood ratio, spoof over bona fide."""
        x = lfcc_frames(y, sample_rate=sample_rate)
        return float(np.mean(self.spoof.score_samples(x) - self.bonafide.score_samples(x)))


def train_gmm(
    clips: Iterable[tuple[np.ndarray, bool]],
    *,
    sample_rate: int,
    seed: int,
    n_components: int = 64,
    views: int = 2,
    max_frames: int = 60_000,
) -> GmmBaseline:
    """Fit the two GMMs.

    Parameters
    ----------
    clips : iterable of (y, is_spoof)
        Training audio at ``sample_rate``.
    seed : int
        Seeds augmentation, frame subsampling and EM initialisation.
    n_components : int
        Diagonal Gaussians per class (the official baseline: 512).
    views : int >= 1
        Copies of each clip: the clean one plus ``views - 1`` augmented.
    max_frames : int
        Frames per class drawn at random for EM (keeps training within minutes).
    """
    rng = np.random.default_rng(seed)
    frames: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for y, is_spoof in clips:
        for v in range(views):
            z = y if v == 0 else augment(y, sample_rate=sample_rate, rng=rng)[0]
            frames[is_spoof].append(lfcc_frames(z, sample_rate=sample_rate))
    models = {}
    for is_spoof, parts in frames.items():
        if not parts:
            raise ParameterError(f"no {'spoof' if is_spoof else 'bona fide'} training clips for the GMM baseline")
        x = np.concatenate(parts).astype(np.float64)
        # Digital silence gives identical frames, which collapse a component: drop repeats.
        x = np.unique(np.round(x, 4), axis=0)
        if x.shape[0] > max_frames:
            x = x[rng.choice(x.shape[0], max_frames, replace=False)]
        if x.shape[0] < 2 * n_components:
            raise ParameterError(f"{x.shape[0]} distinct frames are too few for {n_components} GMM components")
        gmm = GaussianMixture(n_components=n_components, covariance_type="diag", max_iter=100, reg_covar=1e-3,
                              random_state=int(rng.integers(2**31)))
        try:
            models[is_spoof] = gmm.fit(x)
        except ValueError as exc:
            raise ParameterError(f"the LFCC-GMM baseline failed to fit: {str(exc).splitlines()[0]}") from None
    return GmmBaseline(models[False], models[True])
