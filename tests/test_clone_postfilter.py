"""The spectral post-filter learns a fixed coloration and keeps length and phase."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from cloner import postfilter
from guard.errors import ParameterError

SR = 8000


def test_learns_to_undo_a_lowpass(speech: np.ndarray) -> None:
    from guard.audio import resample

    torch.set_num_threads(1)
    real = resample(speech, orig_sr=16000, target_sr=SR)
    b, a = scipy.signal.butter(4, 1500, fs=SR)
    dull = scipy.signal.lfilter(b, a, real).astype(np.float32)  # the "vocoder" loses the highs
    pf = postfilter.train_postfilter([dull], [real], sample_rate=SR, steps=60, seed=0)
    fixed = pf(dull)
    assert fixed.shape == dull.shape and fixed.dtype == np.float32

    def high_band_db(y: np.ndarray) -> float:
        mag = np.exp(postfilter.log_magnitude(y, sample_rate=SR))
        return float(10 * np.log10(np.mean(mag[:, 80:] ** 2)))

    assert abs(high_band_db(fixed) - high_band_db(real)) < 0.5 * abs(high_band_db(dull) - high_band_db(real))


def test_bad_arguments(speech: np.ndarray) -> None:
    with pytest.raises(ParameterError, match="steps"):
        postfilter.train_postfilter([speech], [speech], sample_rate=16000, steps=0, seed=0)
    with pytest.raises(ParameterError, match="equally many"):
        postfilter.train_postfilter([speech], [], sample_rate=16000, steps=1, seed=0)
    with pytest.raises(ParameterError, match="sample_rate"):
        postfilter.log_magnitude(speech, sample_rate=22050)
