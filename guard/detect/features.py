"""Detector front-ends: log-mel, log linear-band (one or two resolutions), LFCC, phase- and pulse-aware features from torch.stft.

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

KINDS = ("logmel", "linspec", "lfcc", "linphase", "linspec2", "linpulse", "linpulse2")
_LOG_FLOOR = 1e-8


@dataclass(frozen=True)
class FeatureConfig:
    """Front-end settings; stored in every model file.

    Attributes
    ----------
    kind : {"logmel", "linspec", "lfcc", "linphase", "linspec2", "linpulse", "linpulse2"}
        Log mel band energies; log energies of linear triangular bands (fine enough to
        resolve harmonics, where phase-reconstruction artefacts show); linear-frequency
        cepstral coefficients with deltas; ``linphase``: the ``linspec`` map plus two
        phase channels on the same bands; or ``linspec2``: the ``linspec`` map plus the
        same bands from a longer STFT (``long_n_fft``, ``long_win_length``) on the same hop,
        so both channels have the same frames; or ``linpulse``: the ``linspec`` map plus
        how much each band's energy pulses within each frame (see :class:`FrontEnd`); or
        ``linpulse2``: ``linpulse`` plus a second pulse map from a shorter window
        (``fine_pulse_n_fft``, ``fine_pulse_hop``), which sees the pulses of low voices
        sharply and spans more harmonics per band.
    sample_rate : int
        Rate in Hz the model works at; audio is resampled to it before scoring.
    n_fft, win_length, hop_length : int
        STFT sizes in samples (defaults: 32 ms FFT, 25 ms window, 10 ms hop at 16 kHz).
    n_filters : int
        Mel bands (logmel) or linear triangular filters (linspec, lfcc).
    n_ceps : int
        Cepstral coefficients kept (lfcc); the feature has ``3 * n_ceps`` rows with deltas.
    long_n_fft, long_win_length : int
        The second STFT of ``linspec2`` (default 64 ms at 16 kHz); unused by other kinds.
        Files written before these fields existed read the defaults.
    pulse_n_fft, pulse_hop : int
        The short STFT of ``linpulse`` (default 4 ms window every 1 ms at 16 kHz);
        ``hop_length`` must be a multiple of ``pulse_hop`` (checked for every kind, used by
        ``linpulse`` and ``linpulse2`` only).
    fine_pulse_n_fft, fine_pulse_hop : int
        The second, shorter STFT of ``linpulse2`` (default 1 ms window every 0.25 ms at
        16 kHz); ``hop_length`` must be a multiple of ``fine_pulse_hop`` (checked for every
        kind, used by ``linpulse2`` only).
    """

    kind: str = "logmel"
    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_filters: int = 64
    n_ceps: int = 20
    long_n_fft: int = 1024
    long_win_length: int = 1024
    pulse_n_fft: int = 64
    pulse_hop: int = 16
    fine_pulse_n_fft: int = 16
    fine_pulse_hop: int = 4

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParameterError(f"feature kind must be one of {', '.join(KINDS)}, given kind={self.kind!r}")
        if not 0 < self.win_length <= self.n_fft or self.hop_length <= 0:
            raise ParameterError(f"need 0 < win_length <= n_fft and hop_length > 0, given {self}")
        if not 0 < self.long_win_length <= self.long_n_fft:
            raise ParameterError(f"need 0 < long_win_length <= long_n_fft, given long_win_length={self.long_win_length}, "
                                 f"long_n_fft={self.long_n_fft}")
        for prefix in ("pulse", "fine_pulse"):
            n_fft, hop = getattr(self, f"{prefix}_n_fft"), getattr(self, f"{prefix}_hop")
            if n_fft < 2 or hop <= 0 or self.hop_length % hop:
                raise ParameterError(f"need {prefix}_n_fft >= 2 and hop_length a multiple of {prefix}_hop > 0, given "
                                     f"{prefix}_n_fft={n_fft}, {prefix}_hop={hop}, hop_length={self.hop_length}")

    @property
    def n_features(self) -> int:
        """Rows of the feature matrix."""
        return 3 * self.n_ceps if self.kind == "lfcc" else self.n_filters

    @property
    def n_channels(self) -> int:
        """Feature maps per input (3 for ``linphase`` and ``linpulse2``, 2 for ``linspec2`` and ``linpulse``, else 1)."""
        return {"linphase": 3, "linspec2": 2, "linpulse": 2, "linpulse2": 3}.get(self.kind, 1)

    @property
    def n_energy_channels(self) -> int:
        """Leading channels that are log energies (mean-normalised over time in the model)."""
        return 2 if self.kind == "linspec2" else 1

    @property
    def min_samples(self) -> int:
        """Shortest input the centred STFT(s) accept."""
        return (max(self.n_fft, self.long_n_fft) if self.kind == "linspec2" else self.n_fft) // 2 + 1

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


def _phase_curvature(spec: torch.Tensor, *, dim: int) -> torch.Tensor:
    """|wrapped second difference of the STFT phase| along ``dim`` (-1 time, -2 frequency), in [0, pi].

    ``angle(X[i+1] X[i-1] conj(X[i])**2)`` needs no unwrapping and is 0 for a steady
    sinusoid along time and for a single impulse along frequency; phase rebuilt from
    magnitude alone breaks both. The edges repeat their neighbour, so the shape is kept.
    """
    n = spec.shape[dim]
    mid = spec.narrow(dim, 1, n - 2)
    curv = torch.angle(spec.narrow(dim, 2, n - 2) * spec.narrow(dim, 0, n - 2) * torch.conj(mid) ** 2).abs()
    return torch.cat([curv.narrow(dim, 0, 1), curv, curv.narrow(dim, n - 3, 1)], dim=dim)


def pulse_depth(power: torch.Tensor, *, per_frame: int, n_frames: int) -> torch.Tensor:
    """Coefficient of variation (std / mean) of a short-window power over each frame.

    Voiced speech puts its harmonics in phase once per glottal cycle, so the energy of a
    band, seen through a window shorter than the pitch period, pulses at F0 (deep
    modulation); phase rebuilt from magnitudes (phase vocoders, Griffin-Lim) spreads the
    harmonics' phases and flattens the pulses, while a pulse-train excitation deepens
    them. A magnitude spectrogram with a 25 ms window sees neither. Stationary noise gives
    about 1 (an exponential power), a steady tone 0.

    Parameters
    ----------
    power : torch.Tensor [shape=(b, bins, m)]
        Power of a centred short STFT whose hop is ``per_frame`` times shorter than the
        frames' hop.
    per_frame : int
        Short frames per frame; frame t gathers short frames ``t * per_frame - per_frame // 2``
        to ``t * per_frame + (per_frame - 1) // 2`` (those nearest its centre; edges repeat).
    n_frames : int
        Frames to produce.

    Returns
    -------
    torch.Tensor [shape=(b, bins, n_frames)]
    """
    left = per_frame // 2
    right = max(0, n_frames * per_frame - left - power.shape[-1])
    padded = torch.nn.functional.pad(power, (left, right), mode="replicate")
    blocks = padded[..., : n_frames * per_frame].reshape(*power.shape[:-1], n_frames, per_frame)
    mean = blocks.mean(dim=-1)
    return blocks.std(dim=-1, correction=0) / (mean + _LOG_FLOOR)


class FrontEnd(torch.nn.Module):
    """Waveform batch [shape=(b, n)] -> features [shape=(b, n_channels, n_features, frames)].

    ``linphase`` channels: 0 the log band energies; 1 and 2 the power-weighted band means of
    the phase curvature along time and along frequency (:func:`_phase_curvature`), in radians.
    ``linspec2`` channels: 0 the log band energies; 1 the log energies of the same bands (in
    Hz) from the ``long_win_length`` window, centred on the same frame times. The hypothesis behind it (not
    borne out on the self-play dev split, see MODEL_CARD.md): phase errors of magnitude-only
    resynthesis smear energy in a longer window more than in a 25 ms one.
    ``linpulse`` channels: 0 the log band energies; 1 the pulse depth of each band in each
    frame (:func:`pulse_depth`), read at the band's centre frequency. ``linpulse2`` adds
    channel 2: the same from the ``fine_pulse_n_fft`` window.
    """

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
        if config.kind == "linspec2":
            self.register_buffer("window_long", torch.hann_window(config.long_win_length), persistent=False)
            fb_long = linear_filterbank(sample_rate=config.sample_rate, n_fft=config.long_n_fft, n_filters=config.n_filters)
            self.register_buffer("fb_long", torch.from_numpy(fb_long), persistent=False)
        if config.kind in ("linpulse", "linpulse2"):
            centres = (np.arange(config.n_filters) + 1) * (config.sample_rate / 2) / (config.n_filters + 1)
            windows = [(config.pulse_n_fft, config.pulse_hop)]
            if config.kind == "linpulse2":
                windows.append((config.fine_pulse_n_fft, config.fine_pulse_hop))
            self.pulse_windows = windows
            for i, (n_fft, _) in enumerate(windows):
                nearest = np.rint(centres / (config.sample_rate / n_fft)).astype(np.int64)
                self.register_buffer(f"window_pulse{i}", torch.hann_window(n_fft), persistent=False)
                self.register_buffer(f"pulse_bin{i}", torch.from_numpy(nearest), persistent=False)
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
        if c.kind == "linspec2":
            long = torch.stft(y, n_fft=c.long_n_fft, hop_length=c.hop_length, win_length=c.long_win_length,
                              window=self.window_long, center=True, return_complex=True)
            long_bands = torch.log(torch.matmul(self.fb_long, long.real**2 + long.imag**2) + _LOG_FLOOR)
            return torch.stack([bands, long_bands], dim=1)
        if c.kind in ("linpulse", "linpulse2"):
            maps = [bands]
            for i, (n_fft, hop) in enumerate(self.pulse_windows):
                short = torch.stft(y, n_fft=n_fft, hop_length=hop, window=getattr(self, f"window_pulse{i}"),
                                   center=True, return_complex=True)
                depth = pulse_depth(short.real**2 + short.imag**2, per_frame=c.hop_length // hop, n_frames=bands.shape[-1])
                maps.append(depth[:, getattr(self, f"pulse_bin{i}")])
            return torch.stack(maps, dim=1)
        if c.kind != "linphase":
            return bands.unsqueeze(1)
        weight = torch.matmul(self.fb, power) + _LOG_FLOOR
        along_t = torch.matmul(self.fb, power * _phase_curvature(spec, dim=-1)) / weight
        along_f = torch.matmul(self.fb, power * _phase_curvature(spec, dim=-2)) / weight
        return torch.stack([bands, along_t, along_f], dim=1)


def features(y: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Features of one signal at ``config.sample_rate``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``config.sample_rate`` Hz, at least ``config.min_samples`` samples.
    config : FeatureConfig

    Returns
    -------
    np.ndarray [shape=(config.n_features, n // hop_length + 1), dtype=float32]
        With ``config.n_channels > 1`` a leading channel axis:
        [shape=(n_channels, n_features, n // hop_length + 1)].

    Examples
    --------
    >>> features(np.zeros(16000, np.float32), config=FeatureConfig()).shape
    (64, 101)
    """
    from guard.audio import valid_audio

    y = valid_audio(y, sample_rate=config.sample_rate, min_samples=config.min_samples)
    with torch.no_grad():
        out = FrontEnd(config)(torch.from_numpy(y)[None])
    return (out[0, 0] if config.n_channels == 1 else out[0]).numpy()
