"""Loudness of the verifier's groups: each group's level, and means over groups of the same band and level."""

from __future__ import annotations

import numpy as np

_LEVEL_STEP_DB = 5.0  # level classes of the payload reading's reliability estimate
_LEVEL_BINS = 8
_PRIOR_GROUPS = 4.0  # pseudo-count pulling a (band, level) class towards its level's mean


def levels(logp: np.ndarray) -> np.ndarray:
    """Level of each group (its quietest cell) in dB below the loudest group of the clip [shape=(n_slots, N_BANDS)]."""
    g = logp.min(axis=1) * (10 / np.log(10))
    return g - g.max() if g.size else g


def made_up_db(made_up: np.ndarray, logp: np.ndarray) -> np.ndarray:
    """Power the declipper made up over the power, in dB, of each group's worst cell [shape=(n_slots, N_BANDS)].

    Both are log powers per cell [shape=(n_slots, CELLS_PER_SLOT, N_BANDS)].
    """
    return (made_up - logp).max(axis=1) * (10 / np.log(10))


def class_mean(level: np.ndarray, weight: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Weighted mean of ``value`` over groups of the same band and level class [shape=(n_slots, N_BANDS)].

    Level classes are _LEVEL_STEP_DB wide; a class with few groups is shrunk towards the
    mean of its level over all bands (pseudo-count _PRIOR_GROUPS).

    Parameters
    ----------
    level : np.ndarray [shape=(n_slots, N_BANDS)]
        Level of each group in dB below the loudest group of the clip (<= 0).
    weight, value : np.ndarray [shape=(n_slots, N_BANDS)]
        Weight of each group in the mean (0 leaves it out) and the value averaged.
    """
    n_levels = _LEVEL_BINS
    level_bin = np.clip((-level / _LEVEL_STEP_DB).astype(int), 0, n_levels - 1)
    cell = (level_bin * level.shape[1] + np.arange(level.shape[1])[None, :]).ravel()
    size = n_levels * level.shape[1]
    wsum = np.bincount(cell, weights=weight.ravel(), minlength=size).reshape(n_levels, -1)
    vsum = np.bincount(cell, weights=(weight * value).ravel(), minlength=size).reshape(n_levels, -1)
    by_level = vsum.sum(axis=1) / np.maximum(wsum.sum(axis=1), 1e-9)
    mean = (vsum + _PRIOR_GROUPS * by_level[:, None]) / (wsum + _PRIOR_GROUPS)
    return mean[level_bin, np.arange(level.shape[1])[None, :]]
