"""A small neural vocoder, trained here, as a spoof family of the self-play corpus.

Every other family is signal processing; the deepfakes people meet are made by neural
vocoders (WaveFake's MelGAN, HiFi-GAN, ...), whose transposed-convolution upsampling leaves
traces of its own. This is a MelGAN-style generator (Kumar et al. 2019): a log-mel
spectrogram (80 bands, 64 ms frames every 16 ms) is upsampled 256 times by four transposed
convolutions, each followed by a stack of dilated residual convolutions, to a 16 kHz
waveform. It is trained with a multi-resolution STFT loss alone (spectral convergence and
log-magnitude L1 at three resolutions, as in Parallel WaveGAN's auxiliary loss; no
discriminator, so it trains on a CPU in minutes and sounds buzzier than a GAN-trained one).

A second variant, "nearest", upsamples by repeating samples and convolving instead (no
transposed convolution): a sibling system of the same kind (see :func:`build_generator`).

The weights ship beside this file (:data:`WEIGHTS`, about 1 MB) and are trained by
``python -m eval.neural_vocoder --data MANIFEST -o eval/neural_vocoder.pt`` on the bona fide
*training* clips of a self-play manifest, so the test speakers' voices are never heard in
training. Nothing is downloaded.
"""

from __future__ import annotations

import csv
import sys
import time
from functools import lru_cache
from pathlib import Path

import click
import numpy as np
import torch

from eval.levels import at_rms_of
from guard.audio import load, valid_audio
from guard.errors import DatasetError, GuardError, ParameterError

RATE = 16000
N_FFT, HOP, N_MELS = 1024, 256, 80
CHANNELS = 128  # after the input convolution; halved at every upsampling
WEIGHTS = Path(__file__).with_name("neural_vocoder.pt")
_FORMAT = "voiceguard-neural-vocoder"
_VERSION = 1
_RESOLUTIONS = ((256, 64), (512, 128), (1024, 256))  # (n_fft, hop) of the STFT loss
_SEGMENT = 32 * HOP  # training crops: 0.51 s
VARIANTS = {"melgan": (8, 8, 2, 2), "nearest": (4, 4, 4, 4)}  # upsampling factors; product = HOP


def build_generator(channels: int = CHANNELS, variant: str = "melgan") -> torch.nn.Module:
    """The generator [input (batch, N_MELS, frames) -> output (batch, 1, frames * HOP)], untrained.

    ``variant`` "melgan" upsamples by transposed convolutions x8 x8 x2 x2 (MelGAN's);
    "nearest" repeats samples x4 four times, each followed by a convolution (no transposed
    convolution, so none of its checkerboard pattern): another system of the same kind.
    """
    if variant not in VARIANTS:
        raise ParameterError(f"variant must be one of {sorted(VARIANTS)}, given variant={variant!r}")
    nn = torch.nn
    wn = nn.utils.parametrizations.weight_norm

    class Residual(nn.Module):
        def __init__(self, c: int, dilation: int) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.LeakyReLU(0.2), wn(nn.Conv1d(c, c, 3, dilation=dilation, padding=dilation)),
                                      nn.LeakyReLU(0.2), wn(nn.Conv1d(c, c, 1)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    layers: list = [wn(nn.Conv1d(N_MELS, channels, 7, padding=3))]
    c = channels
    for u in VARIANTS[variant]:
        if variant == "melgan":
            layers += [nn.LeakyReLU(0.2), wn(nn.ConvTranspose1d(c, c // 2, 2 * u, stride=u, padding=u // 2))]
        else:
            layers += [nn.LeakyReLU(0.2), nn.Upsample(scale_factor=u, mode="nearest"),
                       wn(nn.Conv1d(c, c // 2, 2 * u + 1, padding=u))]
        c //= 2
        layers += [Residual(c, d) for d in (1, 3, 9)]
    layers += [nn.LeakyReLU(0.2), wn(nn.Conv1d(c, 1, 7, padding=3)), nn.Tanh()]
    return nn.Sequential(*layers)


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=RATE / 2).astype(np.float32)


def log_mel(y: torch.Tensor) -> torch.Tensor:
    """Log-mel spectrogram [shape=(batch, N_MELS, n // HOP)] of waveforms [shape=(batch, n)] (torch tensors).

    Frames are centred on ``j * HOP`` with reflect padding, the last one dropped, so that the
    generator's output has exactly ``frames * HOP`` samples.
    """
    spec = torch.stft(y, N_FFT, HOP, window=torch.hann_window(N_FFT), center=True, pad_mode="reflect",
                      return_complex=True).abs()[..., : y.shape[-1] // HOP]
    mel = torch.matmul(torch.from_numpy(_mel_basis()), spec)
    return torch.log(torch.clamp(mel, min=1e-5))


def stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: mean over :data:`_RESOLUTIONS` of spectral convergence + log-magnitude L1."""
    total = torch.zeros(())
    for n_fft, hop in _RESOLUTIONS:
        window = torch.hann_window(n_fft)
        f = torch.stft(fake, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
        r = torch.stft(real, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
        total = total + torch.linalg.norm(r - f) / torch.linalg.norm(r).clamp(min=1e-7)
        total = total + torch.mean(torch.abs(torch.log(r) - torch.log(f)))
    return total / len(_RESOLUTIONS)


def _training_clips(manifest: Path) -> list[np.ndarray]:
    """The bona fide training clips of a self-play manifest (speakers of the multi-speaker source only)."""
    if not manifest.is_file():
        raise DatasetError(f"{manifest}: no such manifest")
    with open(manifest, newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r.get("split") == "train" and r.get("label") == "bonafide" and r.get("speaker", "").startswith("ls-")]
    clips = []
    for r in rows:
        try:
            y = load(manifest.parent / r["file"], sample_rate=RATE)
        except GuardError as exc:
            click.echo(f"skipped unreadable {r['file']}: {exc}", err=True)
            continue
        if y.shape[0] >= _SEGMENT:
            clips.append(y)
    if not clips:
        raise DatasetError(f"{manifest}: no bona fide training clip of {_SEGMENT / RATE:.2f} s or more")
    return clips


def train(clips: list[np.ndarray], *, steps: int, seed: int, batch: int = 8, lr: float = 2e-3,
          channels: int = CHANNELS, variant: str = "melgan", quiet: bool = False) -> dict:
    """Train a generator on random crops of ``clips`` (16 kHz); return its state and a record.

    Parameters
    ----------
    clips : list of np.ndarray [shape=(n,), n >= 32 * HOP]
    steps : int >= 1
        Optimiser steps (Adam, learning rate halved at 60 % and 85 % of them).
    seed : int
    batch : int >= 1
    lr : float > 0
    channels : int
        Channels after the input convolution (a power of two >= 16).
    variant : {"melgan", "nearest"}
        See :func:`build_generator`.
    quiet : bool
        No progress on stderr.

    Returns
    -------
    dict
        ``state`` (generator weights), ``channels``, ``steps``, ``seed``, ``final_loss``
        (mean of the last 50 steps) and ``train_s``.
    """
    if steps < 1 or batch < 1 or not lr > 0:
        raise ParameterError(f"steps, batch and lr must be positive, given steps={steps}, batch={batch}, lr={lr}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gen = build_generator(channels, variant)
    opt = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.9))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.6 * steps), int(0.85 * steps)], gamma=0.5)
    losses = []
    t0 = time.time()
    for step in range(steps):
        crops = []
        for i in rng.integers(0, len(clips), batch):
            y = clips[i]
            at = int(rng.integers(0, y.shape[0] - _SEGMENT + 1))
            crops.append(y[at:at + _SEGMENT] * 10 ** (rng.uniform(-6, 6) / 20))
        real = torch.from_numpy(np.clip(np.stack(crops), -1, 1).astype(np.float32))
        fake = gen(log_mel(real)).squeeze(1)
        loss = stft_loss(fake, real)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if not quiet and (step + 1) % 50 == 0:
            click.echo(f"step {step + 1}/{steps}: loss {np.mean(losses[-50:]):.3f} ({time.time() - t0:.0f} s)", err=True)
    return {"state": gen.state_dict(), "channels": channels, "variant": variant, "steps": steps, "seed": seed,
            "final_loss": float(np.mean(losses[-50:])), "train_s": time.time() - t0}


@lru_cache(maxsize=2)
def load_generator(path: Path = WEIGHTS) -> torch.nn.Module:
    """The trained generator from ``path`` (weights only), in eval mode."""
    if not Path(path).is_file():
        raise DatasetError(f"{path}: no neural-vocoder weights (train them: python -m eval.neural_vocoder --help)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails on a damaged file with many types (IndexError, UnpicklingError, ...)
        raise DatasetError(f"{path}: not a readable neural-vocoder file ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != _VERSION:
        raise DatasetError(f"{path}: not a voiceguard neural-vocoder file of version {_VERSION}")
    gen = build_generator(int(data["channels"]), str(data.get("variant", "melgan")))
    gen.load_state_dict(data["state"])
    return gen.eval()


def resynthesize(y: np.ndarray, *, sample_rate: int = RATE, weights: Path = WEIGHTS) -> np.ndarray:
    """``y`` (16 kHz) rebuilt from its log-mel spectrogram by the trained generator, at ``y``'s length and RMS level.

    Raises
    ------
    AudioError, ParameterError
        Bad audio, or a rate other than 16 kHz.
    DatasetError
        The weights are missing or not a neural-vocoder file.
    """
    if sample_rate != RATE:
        raise ParameterError(f"the neural vocoder works at {RATE} Hz, given sample_rate={sample_rate}")
    y = valid_audio(y, sample_rate=sample_rate)
    n = y.shape[0]
    # whole frames plus one, and at least one FFT frame (the STFT's reflect padding needs it)
    padded = np.pad(y.astype(np.float32), (0, max(N_FFT, n + (-n) % HOP + HOP) - n))
    with torch.no_grad():
        out = load_generator(weights)(log_mel(torch.from_numpy(padded)[None])).squeeze().numpy()
    return at_rms_of(out[:n], y)


@click.command("neural-vocoder", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "manifest", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A self-play manifest.csv: its bona fide training clips (multi-speaker source) are the training data.")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=WEIGHTS, show_default=True)
@click.option("--steps", type=click.IntRange(1), default=16000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--variant", type=click.Choice(sorted(VARIANTS)), default="melgan", show_default=True,
              help="melgan: transposed-convolution upsampling (the shipped weights); nearest: repeat-and-convolve.")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def command(manifest: Path, out: Path, steps: int, seed: int, variant: str, threads: int, quiet: bool) -> None:
    """Train the neural vocoder of the self-play corpus and write its weights."""
    torch.set_num_threads(threads)
    try:
        clips = _training_clips(manifest)
        record = train(clips, steps=steps, seed=seed, variant=variant, quiet=quiet)
    except GuardError as exc:
        raise click.ClickException(str(exc)) from None
    torch.save({"format": _FORMAT, "version": _VERSION, "channels": record["channels"], "variant": variant,
                "state": record["state"],
                "meta": {"steps": steps, "seed": seed, "clips": len(clips), "final_loss": record["final_loss"],
                         "train_s": round(record["train_s"], 1), "data": str(manifest)}}, out)
    if not quiet:
        click.echo(f"wrote {out}: loss {record['final_loss']:.3f} after {steps} steps in {record['train_s']:.0f} s", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(command())
