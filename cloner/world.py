"""WORLD vocoder analysis and synthesis (pyworld): waveform <-> F0, mel-cepstrum, aperiodicity.

The features are the ones the conversion network maps: a coded (mel-warped cepstral)
spectral envelope from ``pyworld.code_spectral_envelope`` and band aperiodicity from
``pyworld.code_aperiodicity``, on a fixed frame grid of :data:`FRAME_PERIOD_MS`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from guard.audio import valid_audio
from guard.errors import ParameterError

with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    import pyworld

FRAME_PERIOD_MS = 5.0
F0_FLOOR_HZ = 60.0
F0_CEIL_HZ = 500.0
# Coded-envelope order per working rate: enough to keep formants, small enough to learn.
MCEP_DIMS = {8000: 24, 16000: 40}
# Aperiodicity band edges in Hz (pyworld's own coding has 0 bands at 8 kHz and 1 at 16 kHz).
BAP_EDGES_HZ = {8000: (0, 500, 1000, 2000, 4000), 16000: (0, 500, 1000, 2000, 4000, 6000, 8000)}
SAMPLE_RATES = tuple(MCEP_DIMS)
_AP_FLOOR_DB = -60.0


@dataclass(frozen=True)
class WorldFeatures:
    """WORLD parameters of one utterance on a :data:`FRAME_PERIOD_MS` grid.

    Attributes
    ----------
    f0_hz : np.ndarray [shape=(t,), dtype=float64]
        Fundamental frequency; 0 on unvoiced frames.
    mcep : np.ndarray [shape=(t, d)]
        Coded spectral envelope (``d = MCEP_DIMS[sample_rate]``); column 0 is log energy.
    bap : np.ndarray [shape=(t, b)]
        Band aperiodicity in dB (``b = len(BAP_EDGES_HZ[sample_rate]) - 1`` bands), <= 0.
    sample_rate : int
    """

    f0_hz: np.ndarray
    mcep: np.ndarray
    bap: np.ndarray
    sample_rate: int

    @property
    def n_frames(self) -> int:
        return int(self.f0_hz.shape[0])

    @property
    def voiced(self) -> np.ndarray:
        """Boolean mask [shape=(t,)] of voiced frames."""
        return self.f0_hz > 0

    def slice(self, start: int, stop: int) -> WorldFeatures:
        """Frames ``start:stop``."""
        return WorldFeatures(self.f0_hz[start:stop], self.mcep[start:stop], self.bap[start:stop], self.sample_rate)


def check_world_rate(sample_rate: int) -> int:
    """Return ``sample_rate`` if WORLD features are defined for it, else raise ParameterError."""
    if sample_rate not in MCEP_DIMS:
        raise ParameterError(f"WORLD features are defined at {SAMPLE_RATES} Hz, given sample_rate={sample_rate}")
    return int(sample_rate)


def fft_size(sample_rate: int) -> int:
    """CheapTrick FFT size for :data:`F0_FLOOR_HZ` at ``sample_rate``."""
    return int(pyworld.get_cheaptrick_fft_size(check_world_rate(sample_rate), F0_FLOOR_HZ))


def _band_matrices(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(encode [f, b], decode [b, f]) matrices between a CheapTrick grid and bands."""
    n_bins = fft_size(sample_rate) // 2 + 1
    freqs = np.linspace(0.0, sample_rate / 2, n_bins)
    edges = np.asarray(BAP_EDGES_HZ[sample_rate], dtype=np.float64)
    band = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, len(edges) - 2)
    enc = np.zeros((n_bins, len(edges) - 1))
    enc[np.arange(n_bins), band] = 1.0
    enc /= enc.sum(axis=0, keepdims=True)
    centers = (edges[:-1] + edges[1:]) / 2
    dec = np.stack([np.interp(freqs, centers, np.eye(len(centers))[i]) for i in range(len(centers))])
    return enc, dec


def code_aperiodicity(ap: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Band means, in dB, of a D4C aperiodicity [shape=(t, fft_size//2+1)] -> [shape=(t, b)]."""
    enc, _ = _band_matrices(sample_rate)
    ap_db = 20.0 * np.log10(np.clip(ap, 10 ** (_AP_FLOOR_DB / 20), 1.0))
    return ap_db @ enc


def decode_aperiodicity(bap: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Band aperiodicity in dB [shape=(t, b)] -> linear D4C aperiodicity, interpolated between bands."""
    _, dec = _band_matrices(sample_rate)
    ap_db = np.clip(bap, _AP_FLOOR_DB, 0.0) @ dec
    return np.ascontiguousarray(10.0 ** (ap_db / 20.0))


def f0_contour(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """F0 alone (DIO + StoneMask) [shape=(t,)], in Hz, 0 on unvoiced frames; cheaper than :func:`analyze`."""
    sample_rate = check_world_rate(sample_rate)
    y = valid_audio(y, sample_rate=sample_rate, min_samples=int(sample_rate * FRAME_PERIOD_MS / 1000))
    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=FRAME_PERIOD_MS)
    return pyworld.stonemask(x, f0, t, sample_rate)


def analyze(y: np.ndarray, *, sample_rate: int) -> WorldFeatures:
    """WORLD analysis: DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity, then coded.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono speech at ``sample_rate``; at least one frame long.
    sample_rate : int in :data:`SAMPLE_RATES`

    Returns
    -------
    WorldFeatures with ``t = n / (sample_rate * FRAME_PERIOD_MS / 1000) + 1`` frames.

    Examples
    --------
    >>> feats = analyze(np.zeros(16000, np.float32), sample_rate=16000)
    >>> feats.mcep.shape
    (201, 40)
    """
    sample_rate = check_world_rate(sample_rate)
    y = valid_audio(y, sample_rate=sample_rate, min_samples=int(sample_rate * FRAME_PERIOD_MS / 1000))
    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=FRAME_PERIOD_MS)
    f0 = pyworld.stonemask(x, f0, t, sample_rate)
    n_fft = fft_size(sample_rate)
    sp = pyworld.cheaptrick(x, f0, t, sample_rate, f0_floor=F0_FLOOR_HZ, fft_size=n_fft)
    ap = pyworld.d4c(x, f0, t, sample_rate, fft_size=n_fft)
    # Digital silence gives a zero envelope; a floor keeps the log finite.
    sp = np.maximum(sp, 1e-16)
    mcep = pyworld.code_spectral_envelope(sp, sample_rate, MCEP_DIMS[sample_rate])
    bap = code_aperiodicity(ap, sample_rate=sample_rate)
    return WorldFeatures(f0, mcep, bap, sample_rate)


def synthesize(features: WorldFeatures) -> np.ndarray:
    """WORLD synthesis from (possibly converted) features.

    Parameters
    ----------
    features : WorldFeatures
        ``f0_hz`` >= 0, finite ``mcep`` and ``bap`` with matching frame counts.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32] at ``features.sample_rate``.
    """
    sample_rate = check_world_rate(features.sample_rate)
    t = features.n_frames
    if t < 1 or features.mcep.shape[0] != t or features.bap.shape[0] != t:
        raise ParameterError(f"feature frame counts differ: f0 {t}, mcep {features.mcep.shape}, bap {features.bap.shape}")
    for name, arr in (("f0_hz", features.f0_hz), ("mcep", features.mcep), ("bap", features.bap)):
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{name} holds NaN or infinite values")
    n_fft = fft_size(sample_rate)
    sp = pyworld.decode_spectral_envelope(np.ascontiguousarray(features.mcep, dtype=np.float64), sample_rate, n_fft)
    bap = np.asarray(features.bap, dtype=np.float64)
    ap = decode_aperiodicity(bap, sample_rate=sample_rate)
    f0 = np.maximum(np.ascontiguousarray(features.f0_hz, dtype=np.float64), 0.0)
    y = pyworld.synthesize(f0, sp, ap, sample_rate, frame_period=FRAME_PERIOD_MS)
    return y.astype(np.float32)


def resynthesize(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Analysis then synthesis, unchanged: what the vocoder alone does to ``y`` (its ceiling)."""
    return synthesize(analyze(y, sample_rate=sample_rate))[: y.shape[0]]


def mcd_db(a: np.ndarray, b: np.ndarray) -> float:
    """Mel-cepstral distortion in dB between aligned coded envelopes, excluding energy (c0).

    Parameters
    ----------
    a, b : np.ndarray [shape=(t, d)]
        Frame-aligned ``mcep`` arrays.
    """
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] == 0:
        raise ParameterError(f"mcd needs two equal, non-empty (t, d) arrays, given {a.shape} and {b.shape}")
    diff = a[:, 1:] - b[:, 1:]
    return float(10.0 / np.log(10.0) * np.sqrt(2.0) * np.mean(np.sqrt(np.sum(diff**2, axis=1))))
