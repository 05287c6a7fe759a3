"""Where a clip holds speech, by the WebRTC voice activity detector (independent of the watermark).

The watermark benchmark reports presence over the windows that are mostly speech; which
windows those are must not be judged by the watermark's own idea of what it marks (its
activity weights count the room noise of a long pause as markable). WebRTC's VAD (the
``webrtcvad`` wheel) decides per 30 ms frame of 16-bit PCM; its energy thresholds are
absolute, so the clip is first scaled to a fixed peak: a pause is then judged against the
clip's own speech, whatever the recording level.
"""

from __future__ import annotations

import warnings

import numpy as np

from guard.errors import ParameterError

RATE = 16_000
FRAME = RATE * 30 // 1000  # samples per decision
AGGRESSIVENESS = 3  # 0-3; 3 calls the least non-speech "speech"
_PEAK = 0.9  # the clip's peak magnitude before the decisions


def speech_frames(y: np.ndarray, *, sample_rate: int = RATE) -> np.ndarray:
    """Speech decision of every whole 30 ms frame of ``y`` [shape=(n // FRAME,), dtype=bool].

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at 16 kHz (the only rate used here; WebRTC's VAD also takes 8/32/48 kHz).
    sample_rate : int
        Must be 16000.

    Returns
    -------
    np.ndarray [shape=(n // FRAME,), dtype=bool]
        All False for a silent clip.
    """
    if sample_rate != RATE:
        raise ParameterError(f"speech_frames works at {RATE} Hz, given sample_rate={sample_rate}")
    with warnings.catch_warnings():  # webrtcvad imports pkg_resources
        warnings.simplefilter("ignore")
        import webrtcvad

    y = np.asarray(y, dtype=np.float64)
    n_frames = y.shape[0] // FRAME
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if n_frames == 0 or peak == 0.0:
        return np.zeros(n_frames, dtype=bool)
    pcm = np.round(y[:n_frames * FRAME] * (_PEAK / peak) * 32767).astype("<i2")
    vad = webrtcvad.Vad(AGGRESSIVENESS)
    return np.array([vad.is_speech(pcm[k * FRAME:(k + 1) * FRAME].tobytes(), RATE) for k in range(n_frames)])


def speech_share(frames: np.ndarray, start: int, length: int) -> float:
    """Share of the frames within samples [start, start + length) that are speech (0 when none lie there).

    Parameters
    ----------
    frames : np.ndarray [shape=(n_frames,), dtype=bool]
        :func:`speech_frames` of the whole clip.
    start, length : int
        The window, in samples of the clip.
    """
    first = -(-start // FRAME)
    stop = (start + length) // FRAME
    inside = frames[first:stop]
    return float(inside.mean()) if inside.size else 0.0
