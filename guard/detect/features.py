"""Detector front-ends: log-mel, log linear-band and LFCC features from torch.stft and librosa filterbanks.

Both run inside the model (no trainable parameters), so the same code computes features at
training and at scoring time. Per-window mean subtraction over time happens in the model,
which removes gain and fixed channel colouring as cues.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.fft
import torch

from guard.errors import ParameterError

KINDS = ("logmel", "linspec", "lfcc")
_LOG_FLOOR = 1e-8


@dataclass(frozen=True)
class FeatureConfig:
    """Front-end settings; stored in every model file.

    Attributes
    ----------
    kind : {"logmel", "linspec", "lfcc"}
        Log mel band energies; log energies of linear triangular bands (fine enough to
        resolve harmonics, where phase-reconstruction artefacts show); or linear-frequency
        cepstral coefficients with deltas.
    sample_rate : int
        Rate in Hz the model works at; audio is resampled to it before scoring.
    n_fft, win_length, hop_length : int
        STFT sizes in samples (defaults: 32 ms FFT, 25 ms window, 10 ms hop at 16 kHz).
    n_filters : int
        Mel bands (logmel) or linear triangular filters (linspec, lfcc).
    n_ceps : int
        Cepstral coefficients kept (lfcc); the feature has ``3 * n_ceps`` rows with deltas.
    """

    kind: str = "logmel"
    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_filters: int = 64
    n_ceps: int = 20

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParameterError(f"feature kind must be one of {KINDS}, given kind={self.kind!r}")
        if not 0 < self.win_length <= self.n_fft or self.hop_length <= 0:
            raise ParameterError(f"need 0 < win_length <= n_fft and hop_length > 0, given {self}")

    @property
    def n_features(self) -> int:
        """Rows of the feature matrix."""
        return 3 * self.n_ceps if self.kind == "lfcc" else self.n_filters

    def to_dict(self) -> dict:
        return asdict(self)


def linear_filterbank(*, sample_rate: int, n_fft: int, n_filters: int) -> np.ndarray:
    """Triangular filters equally spaced in Hz from 0 to Nyquist (the LFCC filterbank).

    Returns
    -------
    np.ndarray [shape=(n_filters, n_fft // 2 + 1), dtype=float32]
    """
    import librosa

    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    edges = np.linspace(0.0, sample_rate / 2, n_filters + 2)
    fb = np.zeros((n_filters, freqs.shape[0]), dtype=np.float64)
    for i in range(n_filters):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        fb[i] = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return fb.astype(np.float32)


def _deltas(x: torch.Tensor) -> torch.Tensor:
    """Regression deltas over the last axis with a +-2 frame window (edges replicated)."""
    padded = torch.nn.functional.pad(x, (2, 2), mode="replicate")
    return (2 * (padded[..., 4:] - padded[..., :-4]) + (padded[..., 3:-1] - padded[..., 1:-3])) / 10.0


class FrontEnd(torch.nn.Module):
    """Waveform batch [shape=(b, n)] -> features [shape=(b, 1, n_features, frames)]."""

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        import librosa

        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        if config.kind == "logmel":
            fb = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_filters, fmin=20.0)
        else:
            fb = linear_filterbank(sample_rate=config.sample_rate, n_fft=config.n_fft, n_filters=config.n_filters)
        self.register_buffer("fb", torch.from_numpy(np.asarray(fb, dtype=np.float32)), persistent=False)
        dct = scipy.fft.dct(np.eye(config.n_filters), type=2, norm="ortho", axis=0)[: config.n_ceps]
        self.register_buffer("dct", torch.from_numpy(dct.astype(np.float32)), persistent=False)

    def n_frames(self, n_samples: int) -> int:
        """Frames produced for ``n_samples`` samples (centred STFT)."""
        return n_samples // self.config.hop_length + 1

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        c = self.config
        spec = torch.stft(y, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                          window=self.window, center=True, return_complex=True)
        power = spec.real**2 + spec.imag**2  # (b, bins, frames)
        bands = torch.log(torch.matmul(self.fb, power) + _LOG_FLOOR)  # (b, n_filters, frames)
        if c.kind == "lfcc":
            ceps = torch.matmul(self.dct, bands)
            d1 = _deltas(ceps)
            bands = torch.cat([ceps, d1, _deltas(d1)], dim=1)
        return bands.unsqueeze(1)


def features(y: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Features of one signal at ``config.sample_rate``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``config.sample_rate`` Hz, at least ``config.n_fft // 2 + 1`` samples.
    config : FeatureConfig

    Returns
    -------
    np.ndarray [shape=(config.n_features, n // hop_length + 1), dtype=float32]

    Examples
    --------
    >>> features(np.zeros(16000, np.float32), config=FeatureConfig()).shape
    (64, 101)
    """
    from guard.audio import valid_audio

    y = valid_audio(y, sample_rate=config.sample_rate, min_samples=config.n_fft // 2 + 1)
    with torch.no_grad():
        out = FrontEnd(config)(torch.from_numpy(y)[None])
    return out[0, 0].numpy()
