"""The LFCC-GMM baseline separates two stand-in classes and refuses what it cannot fit."""

from __future__ import annotations

import numpy as np
import pytest

from eval.baseline_gmm import lfcc_frames, train_gmm
from guard.errors import ParameterError

SR = 16000


def _noise(rng: np.random.Generator) -> np.ndarray:
    return (0.1 * rng.standard_normal(SR)).astype(np.float32)


def _buzz(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(SR) / SR
    f0 = rng.uniform(100, 200)
    return (0.05 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 15)) + 0.001 * rng.standard_normal(SR)).astype(np.float32)


def test_gmm_baseline_scores_spoof_higher(rng: np.random.Generator) -> None:
    clips = [(_noise(rng), False) for _ in range(4)] + [(_buzz(rng), True) for _ in range(4)]
    gmm = train_gmm(clips, sample_rate=SR, seed=0, n_components=4, views=1)
    assert gmm.score(_buzz(rng), sample_rate=SR) > gmm.score(_noise(rng), sample_rate=SR)


def test_gmm_baseline_bad_input(rng: np.random.Generator) -> None:
    with pytest.raises(ParameterError, match="works at 16000 Hz"):
        lfcc_frames(_noise(rng), sample_rate=8000)
    with pytest.raises(ParameterError, match="no spoof training clips"):
        train_gmm([(_noise(rng), False)], sample_rate=SR, seed=0, n_components=2, views=1)
    with pytest.raises(ParameterError, match="too few"):
        train_gmm([(np.zeros(SR, np.float32), False), (_buzz(rng), True)], sample_rate=SR, seed=0, n_components=4, views=1)
