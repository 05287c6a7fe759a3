"""A small log-power spectrogram of a scanned file, for the HTML report (:mod:`guard.report`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Overview:
    """A small log-power spectrogram of a scanned file, for the report.

    Attributes
    ----------
    image_db : np.ndarray [shape=(n_bands, n_frames), dtype=float16]
        Power in dB (max 0), bands linear from 0 Hz to ``max_freq_hz``, frames in time order.
    duration_s : float >= 0
    max_freq_hz : float > 0
    """

    image_db: np.ndarray
    duration_s: float
    max_freq_hz: float


def overview(y: np.ndarray, *, sample_rate: int, n_bands: int = 128, max_frames: int = 600) -> Overview:
    """Compute an :class:`Overview` (at most ``max_frames`` frames, ``n_bands`` bands).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sample_rate : int > 0
        Rate of ``y`` in Hz.
    """
    n_fft = 512
    duration_s = y.shape[0] / sample_rate
    hop = max(128, int(np.ceil(max(y.shape[0] - n_fft, 1) / max_frames)))
    y32 = y if y.dtype == np.float32 else y.astype(np.float32)
    # only the frames are computed: no copy of a long ``y`` (230 MB an hour)
    padded = y32 if y32.shape[0] >= n_fft else np.pad(y32, (0, n_fft - y32.shape[0]))
    starts = np.arange(0, padded.shape[0] - n_fft + 1, hop)
    frames = padded[starts[:, None] + np.arange(n_fft)[None, :]] * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)).T ** 2  # (n_fft // 2 + 1, n_frames)
    usable = power[: n_fft // 2]
    bands = usable.reshape(n_bands, -1, usable.shape[1]).mean(axis=1) if (n_fft // 2) % n_bands == 0 else usable
    db = 10 * np.log10(bands + 1e-12)
    db = np.maximum(db - db.max(), -90.0)
    return Overview(db.astype(np.float16), duration_s, sample_rate / 2)
