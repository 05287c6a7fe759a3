"""Dynamic time warping between a TTS rendering and a recording of the same sentence.

The cost is on per-utterance mean/variance-normalised mel-cepstra (energy excluded), so
two different speakers saying the same words still align, while a recording of *other*
words costs far more per frame; enrollment uses that to catch mismatched transcripts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guard.errors import ParameterError

# Cepstral coefficients 1..ALIGN_DIMS carry the phonetic content that DTW matches.
ALIGN_DIMS = 24


@dataclass(frozen=True)
class Alignment:
    """A monotonic frame alignment.

    Attributes
    ----------
    source_to_target : np.ndarray [shape=(t_source,), dtype=int]
        For every source frame, the target frame matched with it (middle of its run).
    cost_per_frame : float >= 0
        Accumulated DTW cost divided by the path length.
    path : np.ndarray [shape=(k, 2), dtype=int]
        (source, target) frame pairs, in time order.
    """

    source_to_target: np.ndarray
    cost_per_frame: float
    path: np.ndarray


def _normalise(mcep: np.ndarray) -> np.ndarray:
    x = mcep[:, 1:ALIGN_DIMS + 1].astype(np.float64)
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)


def align(source: np.ndarray, target: np.ndarray) -> Alignment:
    """DTW-align two mel-cepstral sequences.

    Parameters
    ----------
    source : np.ndarray [shape=(t_s, d)]
        e.g. the TTS rendering's ``mcep``.
    target : np.ndarray [shape=(t_t, d)]
        the recording's ``mcep``; ``d`` must match.

    Returns
    -------
    Alignment

    Examples
    --------
    >>> a = np.random.default_rng(0).standard_normal((50, 25))
    >>> align(a, a).cost_per_frame
    0.0
    """
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ParameterError(f"align needs (t, d) arrays of equal d, given {source.shape} and {target.shape}")
    if min(source.shape[0], target.shape[0]) < 2:
        raise ParameterError(f"align needs at least 2 frames each, given {source.shape[0]} and {target.shape[0]}")
    import librosa

    s, t = _normalise(source), _normalise(target)
    dist = np.sqrt(np.maximum(
        (s**2).sum(1)[:, None] + (t**2).sum(1)[None, :] - 2.0 * s @ t.T, 0.0)) / np.sqrt(s.shape[1])
    acc, path = librosa.sequence.dtw(C=dist, step_sizes_sigma=np.array([[1, 1], [0, 1], [1, 0]]),
                                     backtrack=True)
    path = path[::-1].astype(np.int64)
    cost = float(acc[-1, -1] / path.shape[0])
    frames = np.arange(source.shape[0])
    lo = np.searchsorted(path[:, 0], frames, side="left")
    hi = np.searchsorted(path[:, 0], frames, side="right")
    mapping = path[lo + (hi - lo) // 2, 1]
    return Alignment(mapping, cost, path)
