"""Speaker embeddings (resemblyzer's GE2E encoder, weights shipped in its wheel; offline).

One embedding per utterance: 256 numbers, L2-normalised, so the cosine similarity of two
embeddings says how alike two voices sound. The consent check and the clone benchmark use it.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from guard.audio import check_sample_rate, resample, valid_audio
from guard.errors import AudioError, ParameterError

EMBED_RATE = 16000
EMBED_DIM = 256
MIN_SPEECH_S = 0.5  # after silences are trimmed; below this an embedding says little
_VAD_WINDOW = EMBED_RATE * 30 // 1000
_HOP_FRAMES = 77  # resemblyzer's default rate (1.3 windows a second) in its 10 ms frames
WINDOW_S = 1.6  # seconds of speech in each window the encoder embeds (its 160 frames)
WINDOW_HOP_S = _HOP_FRAMES / 100  # seconds from one window's start to the next's

_LOCK = threading.Lock()
_ENCODER: Any = None


def _encoder() -> Any:
    global _ENCODER
    with _LOCK:
        if _ENCODER is None:
            with warnings.catch_warnings():  # resemblyzer and webrtcvad import deprecated namespaces
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                from resemblyzer import VoiceEncoder
            _ENCODER = VoiceEncoder("cpu", verbose=False)
        return _ENCODER


def _speech_only(y: np.ndarray) -> np.ndarray:
    """Loudness raised to -30 dBFS (never lowered), long silences cut by resemblyzer's VAD."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from resemblyzer.audio import normalize_volume, trim_long_silences
    z = normalize_volume(y.astype(np.float64), -30, increase_only=True)
    z = np.clip(z, -1.0, 1.0)
    if z.shape[0] < _VAD_WINDOW * 8:
        return z.astype(np.float32)
    return trim_long_silences(z).astype(np.float32)


def embed_speaker(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Embed the voice in ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono audio, mostly one speaker's speech.
    sample_rate : int > 0
        Rate of ``y`` in Hz (resampled to 16 kHz inside).

    Returns
    -------
    np.ndarray [shape=(256,)], float32
        L2-normalised embedding.

    Raises
    ------
    AudioError
        When ``y`` is not valid audio or holds less than 0.5 s of speech.

    Examples
    --------
    >>> e = embed_speaker(y, sample_rate=16000)                       # doctest: +SKIP
    >>> e.shape
    (256,)
    """
    return embed_speaker_windows(y, sample_rate=sample_rate)[0]


def embed_speaker_windows(y: np.ndarray, *, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Embed the voice in ``y`` as a whole and in overlapping windows, at the cost of the whole.

    The encoder embeds every utterance as windows of :data:`WINDOW_S` seconds of speech (after long
    silences are cut), one every :data:`WINDOW_HOP_S` seconds, and averages them; this returns both.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono audio, mostly one speaker's speech.
    sample_rate : int > 0
        Rate of ``y`` in Hz (resampled to 16 kHz inside).

    Returns
    -------
    embedding : np.ndarray [shape=(256,)], float32
        L2-normalised embedding of the whole, as :func:`embed_speaker` returns.
    windows : np.ndarray [shape=(w, 256)], float32
        L2-normalised embedding of each window, in time order (w >= 1; a short recording's one
        window is zero-padded).

    Raises
    ------
    AudioError
        When ``y`` is not valid audio or holds less than 0.5 s of speech.
    """
    sample_rate = check_sample_rate(sample_rate)
    y = valid_audio(y, sample_rate=sample_rate)
    z = resample(y, orig_sr=sample_rate, target_sr=EMBED_RATE) if sample_rate != EMBED_RATE else y
    if float(np.max(np.abs(z), initial=0.0)) < 1e-4:
        raise AudioError("no speech to embed: the audio is silent")
    z = _speech_only(z)
    if z.shape[0] < MIN_SPEECH_S * EMBED_RATE:
        raise AudioError(f"too little speech to embed a speaker: {z.shape[0] / EMBED_RATE:.2f} s after trimming "
                         f"silence, need at least {MIN_SPEECH_S} s")
    import torch

    with torch.inference_mode():
        e, windows, _ = _encoder().embed_utterance(z, return_partials=True, rate=EMBED_RATE / (_HOP_FRAMES * 160))
    e = np.asarray(e, dtype=np.float32)
    windows = np.asarray(windows, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(windows, axis=1, keepdims=True), 1e-12)
    return e / max(float(np.linalg.norm(e)), 1e-12), windows / norms


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings, in [-1, 1].

    Parameters
    ----------
    a, b : np.ndarray [shape=(d,)]
        Embeddings of the same dimension (need not be normalised).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ParameterError(f"embeddings must be 1-D and of one shape, given a.shape={a.shape}, b.shape={b.shape}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if not (np.isfinite(na) and np.isfinite(nb)) or na == 0 or nb == 0:
        raise ParameterError("embeddings must be finite and non-zero")
    return float(np.dot(a, b) / (na * nb))


def mean_embedding(embeddings: list[np.ndarray]) -> np.ndarray:
    """The normalised mean of several utterance embeddings (one speaker's centroid)."""
    if not embeddings:
        raise ParameterError("need at least one embedding to average")
    m = np.mean(np.stack(embeddings), axis=0)
    return (m / max(float(np.linalg.norm(m)), 1e-12)).astype(np.float32)
