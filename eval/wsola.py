"""WSOLA: waveform-similarity overlap-add, a time-domain tempo change that keeps the pitch.

Grains of the speech itself (Hann windows, 50 % overlap at the output) are taken from the
input at the tempo's rate, each shifted by up to ``search_s`` so that it continues the
previous grain's waveform best (largest cross-correlation). No STFT, no pitch marks: it
repeats or drops whole stretches of the waveform where they line up. A training family of
the self-play corpus that re-spaces waveform grains without PSOLA's pitch marks.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from eval.levels import at_rms_of
from guard.audio import check_sample_rate, valid_audio
from guard.errors import ParameterError

MIN_RATE, MAX_RATE = 0.5, 2.0


def wsola(y: np.ndarray, *, sample_rate: int, rate: float, frame_s: float = 0.032, search_s: float = 0.008) -> np.ndarray:
    """Change the tempo of ``y`` by ``rate`` (> 1 faster), keeping its pitch.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sample_rate : int
        Rate of ``y`` in Hz.
    rate : float in [MIN_RATE, MAX_RATE]
        Input seconds per output second.
    frame_s, search_s : float > 0
        Grain length, and how far each grain may move to continue the previous one, in seconds.

    Returns
    -------
    np.ndarray [shape=(round(n / rate),), dtype=float32]
        At the input's RMS level.

    Raises
    ------
    AudioError, ParameterError
        Bad audio or rate, ``rate`` outside [MIN_RATE, MAX_RATE], or a non-positive frame or search.
    """
    sample_rate = check_sample_rate(sample_rate)
    y = valid_audio(y, sample_rate=sample_rate).astype(np.float64)
    if not MIN_RATE <= rate <= MAX_RATE:  # NaN fails too
        raise ParameterError(f"rate must be within {MIN_RATE}-{MAX_RATE}, given rate={rate}")
    if not (frame_s > 0 and search_s > 0):
        raise ParameterError(f"need frame_s > 0 and search_s > 0, given frame_s={frame_s}, search_s={search_s}")
    frame = max(4, 2 * int(round(frame_s * sample_rate / 2)))
    hop, search = frame // 2, max(1, int(round(search_s * sample_rate)))
    window = scipy.signal.get_window("hann", frame)  # periodic: grains a hop apart sum to one
    n_out = int(round(y.shape[0] / rate))
    padded = np.pad(y, (search, frame + search + int(np.ceil(hop * rate)) + hop))
    out = np.zeros(n_out + frame)
    prev = 0  # where (in y) the previous grain was taken from
    for k in range(n_out // hop + 1):
        nominal = int(round(k * hop * rate))
        if k == 0:
            start = nominal
        else:
            target = padded[search + prev + hop: search + prev + hop + frame]  # the previous grain's natural continuation
            region = padded[nominal: nominal + frame + 2 * search]  # candidates nominal - search .. nominal + search
            score = np.correlate(region, target, mode="valid")
            start = nominal - search + int(np.argmax(score))
        start = int(np.clip(start, -search, y.shape[0]))
        out[k * hop: k * hop + frame] += window * padded[search + start: search + start + frame]
        prev = start
    out = out[:n_out]
    return at_rms_of(out, y)
