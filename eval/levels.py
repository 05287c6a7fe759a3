"""Level matching shared by the self-play generator families."""

from __future__ import annotations

import numpy as np


def at_rms_of(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``out`` scaled to the RMS level of ``like``, as float32 (all zeros when ``out`` is silent or empty).

    Parameters
    ----------
    out : np.ndarray [shape=(m,)]
        Generated audio.
    like : np.ndarray [shape=(n,)]
        The audio whose level to match; its RMS is computed in its own dtype.

    Returns
    -------
    np.ndarray [shape=(m,), dtype=float32]
    """
    rms_in = float(np.sqrt(np.mean(like**2)))
    rms_out = float(np.sqrt(np.mean(out**2))) if out.size else 0.0
    return (out * (rms_in / rms_out if rms_out > 0 else 0.0)).astype(np.float32)
