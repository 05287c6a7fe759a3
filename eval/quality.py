"""Signal-quality and payload metrics of marked audio: SNR, PESQ-wb, STOI, bit accuracy.

Detection metrics (EER, TPR at FPR, ...) live in :mod:`eval.metrics`.
"""

from __future__ import annotations

import numpy as np

from guard.audio import check_sample_rate, resample, valid_audio
from guard.errors import ParameterError


def _pair(ref: np.ndarray, test: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    ref = valid_audio(ref, sample_rate=sample_rate)
    test = valid_audio(test, sample_rate=sample_rate)
    if ref.shape != test.shape:
        raise ParameterError(f"reference and test must have the same length, given {ref.shape[0]} and {test.shape[0]} samples")
    return ref, test


def snr_db(ref: np.ndarray, test: np.ndarray, *, sample_rate: int) -> float:
    """Signal-to-noise ratio of ``test`` against ``ref``, in dB (inf when identical).

    Parameters
    ----------
    ref, test : np.ndarray [shape=(n,)]
    sample_rate : int > 0
    """
    ref, test = _pair(ref, test, sample_rate)
    noise = float(np.sum((test.astype(np.float64) - ref) ** 2))
    signal = float(np.sum(ref.astype(np.float64) ** 2))
    if noise == 0.0:
        return float("inf")
    if signal == 0.0:
        raise ParameterError("reference is silent: SNR is undefined")
    return 10.0 * np.log10(signal / noise)


def pesq_wb(ref: np.ndarray, test: np.ndarray, *, sample_rate: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO 1.04-4.64) at 16 kHz.

    Parameters
    ----------
    ref, test : np.ndarray [shape=(n,)]
        At ``sample_rate``; resampled to 16 kHz. At least 0.25 s of speech is needed.
    sample_rate : int > 0
    """
    from pesq import pesq

    ref, test = _pair(ref, test, check_sample_rate(sample_rate))
    if not np.any(ref) or not np.any(test):
        raise ParameterError("PESQ needs speech in both signals; one of them is silent")
    ref16 = resample(ref, orig_sr=sample_rate, target_sr=16000)
    test16 = resample(test, orig_sr=sample_rate, target_sr=16000)
    try:
        return float(pesq(16000, ref16, test16, "wb"))
    except Exception as exc:  # the C library raises its own errors for no speech / too short
        raise ParameterError(f"PESQ cannot score this pair: {exc}") from None


def stoi(ref: np.ndarray, test: np.ndarray, *, sample_rate: int) -> float:
    """Short-time objective intelligibility (0-1) of ``test`` against ``ref``.

    Parameters
    ----------
    ref, test : np.ndarray [shape=(n,)]
    sample_rate : int > 0
    """
    from pystoi import stoi as _stoi

    ref, test = _pair(ref, test, check_sample_rate(sample_rate))
    return float(_stoi(ref.astype(np.float64), test.astype(np.float64), sample_rate, extended=False))


def bit_accuracy(expected: int, decoded: int | None, *, n_bits: int = 32) -> float:
    """Fraction of the ``n_bits`` payload bits read right; 0.5 (chance) when nothing was read.

    Parameters
    ----------
    expected : int in [0, 2**n_bits)
    decoded : int in [0, 2**n_bits) or None
    n_bits : int > 0
    """
    for name, value in (("expected", expected), ("decoded", decoded)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 1 << n_bits):
            raise ParameterError(f"{name} must be an integer in [0, 2**{n_bits}), given {name}={value!r}")
    if decoded is None:
        return 0.5
    return 1.0 - bin(int(expected) ^ int(decoded)).count("1") / n_bits
