"""Build the self-play corpus: real speech against spoofs made here by several generator families.

Bona fide speech comes from any folders of real recordings (for development the LibriSpeech
sample, 16 kHz, wideband, and the Asterisk "Allison" prompts, 8 kHz, telephone band, mixed
so that bandwidth is no cue). Spoofs come from generator families implemented here:

- ``espeak``: espeak-ng formant TTS, many voices and variants (``cloner.tts``);
- ``world``: WORLD copy-synthesis through the cloner's vocoder (``cloner.world``);
- ``pvshift``: phase-vocoder pitch and formant shift by 2-4 semitones (librosa);
- ``timestretch``: phase-vocoder tempo change by 0.8-0.9 or 1.1-1.25 (librosa), pitch kept;
- ``griffinlim``: magnitude-only STFT re-synthesis with Griffin-Lim phase (librosa);
- ``lpc``: a classic LPC vocoder, pulse-train or noise excitation through an all-pole filter;
- ``phaserebuild``: magnitude-only STFT re-synthesis with one peak-locked phase pass;
- ``cepvoc``: a cepstrally smoothed envelope on a pulse/noise excitation (STFT synthesis);
- ``harmonic``: a harmonic-plus-noise (sinusoidal) vocoder: F0 harmonics, shaped noise above;
- ``wsola``: WSOLA tempo change: waveform grains re-spaced where they line up (:mod:`eval.wsola`);
- ``neuralvoc``: copy-synthesis from a log-mel spectrogram through a small MelGAN-style
  neural vocoder trained here on the training speakers (:mod:`eval.neural_vocoder`);
- ``psola``: TD-PSOLA pitch shift: the speech's own pitch-period grains laid at a new spacing
  (:mod:`eval.psola`), the only family that never leaves the waveform;
- ``cloner``: voiceguard's own cloning pipeline speaking held-out prompts in the Asterisk
  voice, enrolled under a detector-training licence consent (:mod:`eval.selfplay_cloner`);
  passed through ``extra_families`` (any callable can be), a test family by default.

Speakers are disjoint across train, dev and test (the ``cloner`` family speaks in the
Allison voice, whose real prompts are training bona fide). Generator families of the test split
are disjoint from those of train and dev, so the test split measures unseen speakers *and*
unseen attacks; dev holds unseen speakers of the training families plus dev-only families
never trained on (by default ``cepvoc``, ``harmonic`` and ``griffinlim``: corpus v6), so that
the choice between models is made on unseen attacks too, without looking at test (whose
default families are ``lpc``, ``psola``, ``neuralvoc`` and the cloner: corpus v9, which is
v6 with ``neuralvoc`` added to test). Everything is
written at 16 kHz as 16-bit WAV with a ``manifest.csv`` (``file,label,speaker,attack,split``)
that ``voiceguard detect train`` reads.
"""

from __future__ import annotations

import csv
import gzip
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np
import scipy.signal

from eval.levels import at_rms_of
from guard import progress
from guard.audio import is_audio_path, load, save
from guard.errors import AudioError, DatasetError, GuardError
from guard.walk import files_under

SAMPLE_RATE = 16000
DEFAULT_LIBRISPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample"
DEFAULT_ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
ESPEAK_VOICES = ("en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland")
ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
                   "+klatt", "+klatt2", "+Andy", "+Alicia", "+Gene", "+iven", "+belinda", "+steph", "+michel")
FALLBACK_TEXTS = (
    "Please hold while we connect your call to the next available agent.",
    "The meeting has been moved to Thursday afternoon at three o'clock.",
    "I never said that she stole the money from the bank account.",
    "Your verification code is four seven one nine two.",
    "We will be closed on Monday for the public holiday.",
    "Could you send me the report before the end of the day?",
)

SpoofFn = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def world_copy(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """WORLD analysis and synthesis with the cloner's vocoder (coded envelope and aperiodicity)."""
    del rng
    from cloner.world import resynthesize

    return resynthesize(y, sample_rate=sample_rate)


def pitch_shift(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Phase-vocoder pitch (and formant) shift by +-2..4 semitones."""
    import librosa

    steps = float(rng.choice([-4, -3, -2, 2, 3, 4]))
    return librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=steps).astype(np.float32)


def time_stretch(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Phase-vocoder tempo change (pitch and formants kept): 0.8-0.9x or 1.1-1.25x."""
    import librosa

    del sample_rate
    rate = float(rng.uniform(0.8, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.25))
    return librosa.effects.time_stretch(y, rate=rate).astype(np.float32)


def griffin_lim(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Keep the STFT magnitude, rebuild the phase with 32 Griffin-Lim iterations."""
    import librosa

    n_fft = int(rng.choice([512, 1024]))
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=n_fft // 4))
    seed = int(rng.integers(2**31))
    out = librosa.griffinlim(mag, n_iter=32, hop_length=n_fft // 4, n_fft=n_fft, random_state=seed, length=y.shape[0])
    return out.astype(np.float32)


def _levinson(r: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Levinson-Durbin on autocorrelations [shape=(frames, order + 1)] -> (a with a[:, 0] = 1, error)."""
    a = np.zeros((r.shape[0], order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for k in range(1, order + 1):
        refl = -np.sum(a[:, :k] * r[:, k:0:-1], axis=1) / np.maximum(err, 1e-12)
        prev = a.copy()
        a[:, 1:k] = prev[:, 1:k] + refl[:, None] * prev[:, k - 1:0:-1]
        a[:, k] = refl
        err = err * (1.0 - refl**2)
    return a, np.maximum(err, 0.0)


def lpc_vocoder(y: np.ndarray, sample_rate: int, rng: np.random.Generator, *, order: int = 18) -> np.ndarray:
    """LPC analysis (30 ms Hann frames every 10 ms) and synthesis from pulses (voiced) or noise."""
    import pyworld

    hop, win = sample_rate // 100, int(0.03 * sample_rate)
    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, frame_period=10.0)
    f0 = pyworld.stonemask(x, f0, t, sample_rate)
    n = f0.shape[0]
    padded = np.pad(x, (win // 2, win))
    window = np.hanning(win)
    frames = padded[np.arange(n)[:, None] * hop + np.arange(win)[None]] * window
    r = np.fft.irfft(np.abs(np.fft.rfft(frames, n=2 * win)) ** 2)[:, : order + 1]
    r[:, 0] = r[:, 0] * (1 + 1e-6) + 1e-10  # white-noise correction keeps the filter stable
    a, err = _levinson(r, order)
    gain = np.sqrt(err / np.sum(window**2))
    f0_samples = np.repeat(f0, hop)
    pulses = (np.diff(np.floor(np.cumsum(f0_samples / sample_rate)), prepend=0) > 0) & (f0_samples > 0)
    excitation = np.where(f0_samples > 0, pulses * np.sqrt(sample_rate / np.maximum(f0_samples, 1.0)), rng.standard_normal(n * hop))
    out, zi = np.zeros(n * hop), np.zeros(order)
    for i in range(n):
        out[i * hop:(i + 1) * hop], zi = scipy.signal.lfilter([gain[i]], a[i], excitation[i * hop:(i + 1) * hop], zi=zi)
    return out[: y.shape[0]].astype(np.float32)


def _f0_track(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 in Hz every 10 ms (0 = unvoiced), DIO + StoneMask."""
    import pyworld

    x = y.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate, frame_period=10.0)
    return pyworld.stonemask(x, f0, t, sample_rate)


def phase_rebuild(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Keep the STFT magnitude, rebuild the phase in one pass: peak-locked phase-vocoder propagation.

    Each frame's spectral peaks (quadratic interpolation on log magnitude) advance their
    phase by their instantaneous frequency; every other bin takes its nearest peak's phase
    (identity phase locking, +pi per bin for the Hann main lobe). No iterations and no
    consistency projection: a different phase-retrieval mechanism from Griffin-Lim.
    """
    import librosa

    del sample_rate
    n_fft = int(rng.choice([512, 1024]))
    hop = n_fft // 4
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    bins = np.arange(mag.shape[0])
    phase = np.empty_like(mag)
    prev = rng.uniform(-np.pi, np.pi, mag.shape[0])
    for t in range(mag.shape[1]):
        m = mag[:, t]
        lm = np.log(m + 1e-9)
        peak = np.flatnonzero((m[1:-1] > m[:-2]) & (m[1:-1] >= m[2:]) & (m[1:-1] > 1e-3 * (m.max() + 1e-12))) + 1
        if peak.size == 0:
            cur = prev + 2 * np.pi * bins * hop / n_fft
        else:
            den = lm[peak - 1] - 2 * lm[peak] + lm[peak + 1]
            delta = np.where(np.abs(den) > 1e-9, 0.5 * (lm[peak - 1] - lm[peak + 1]) / np.where(den == 0, 1, den), 0.0)
            peak_phase = prev[peak] + 2 * np.pi * (peak + np.clip(delta, -0.5, 0.5)) * hop / n_fft
            edges = (peak[1:] + peak[:-1]) / 2.0
            owner = np.searchsorted(edges, bins)
            cur = peak_phase[owner] + np.pi * (bins - peak[owner])
        phase[:, t] = cur
        prev = cur
    out = librosa.istft(mag * np.exp(1j * phase), hop_length=hop, n_fft=n_fft, length=y.shape[0])
    return out.astype(np.float32)


def cepstral_vocoder(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Cepstrally smoothed STFT envelope imposed on a pulse-train/noise excitation (STFT synthesis).

    The envelope keeps 20-40 cepstral coefficients; voiced frames (DIO F0) are excited by
    a pulse train mixed with 10-40 % noise, unvoiced frames by noise. A source-filter
    vocoder built differently from ``world`` (no spectral/aperiodicity coding) and ``lpc``
    (no all-pole filter).
    """
    import librosa

    n_fft, hop = 512, sample_rate // 100
    lifter = int(rng.integers(20, 41))
    noise_mix = float(rng.uniform(0.1, 0.4))
    f0 = _f0_track(y, sample_rate)
    f0_samples = np.repeat(f0, hop)[: y.shape[0]]
    f0_samples = np.pad(f0_samples, (0, y.shape[0] - f0_samples.shape[0]))
    pulses = ((np.diff(np.floor(np.cumsum(f0_samples / sample_rate)), prepend=0) > 0) & (f0_samples > 0))
    pulses = pulses * np.sqrt(sample_rate / np.maximum(f0_samples, 1.0))
    noise = rng.standard_normal(y.shape[0])
    excitation = np.where(f0_samples > 0, (1 - noise_mix) * pulses + noise_mix * noise, noise)
    env = _cepstral_envelope(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)), lifter=lifter)
    exc = librosa.stft(excitation, n_fft=n_fft, hop_length=hop)
    exc_level = np.sqrt(np.mean(np.abs(exc) ** 2, axis=0, keepdims=True)) + 1e-9
    out = librosa.istft(env * exc / exc_level, hop_length=hop, n_fft=n_fft, length=y.shape[0])
    return out.astype(np.float32)


def _cepstral_envelope(mag: np.ndarray, *, lifter: int) -> np.ndarray:
    """Spectral envelope [shape=mag.shape] of STFT magnitudes [shape=(bins, frames)], keeping ``lifter`` cepstral coefficients."""
    ceps = np.fft.irfft(np.log(mag + 1e-7), axis=0)
    ceps[lifter:-lifter] = 0.0
    return np.exp(np.fft.rfft(ceps, axis=0).real)


def harmonic_noise(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Harmonic-plus-noise (sinusoidal) vocoder: F0 harmonics below a cut-off, shaped noise above and in unvoiced frames.

    Voiced frames (DIO F0) are rebuilt as a sum of harmonics of the F0 track up to a
    maximum voiced frequency of 3.5-6 kHz, each with the amplitude the 64 ms STFT shows at
    its frequency and a phase that integrates the F0 from a random start (fixed per
    harmonic, so the waveform shape repeats but is not the original's); above the cut-off
    and in unvoiced frames, noise shaped by a cepstral envelope (30 coefficients). A third
    parametric mechanism besides the pulse-excited ``world``/``lpc``/``cepvoc`` and the
    phase-retrieval families; the second dev-only family of corpus v5 (see the model card).
    """
    import librosa

    n, n_fft, hop = y.shape[0], 1024, sample_rate // 100
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))  # frame t centred at t * hop
    f0 = _f0_track(y, sample_rate)[: mag.shape[1]]
    f0 = np.pad(f0, (0, mag.shape[1] - f0.shape[0]))
    voiced = f0 > 0
    times = np.arange(mag.shape[1]) * hop
    if voiced.any():
        filled = np.interp(times, times[voiced], f0[voiced])  # unvoiced gaps bridged so the phase runs on smoothly
    else:
        filled = np.full(times.shape[0], 100.0)
    f0_s = np.interp(np.arange(n), times, filled)
    voiced_s = np.interp(np.arange(n), times, voiced.astype(np.float64)) > 0.5
    cutoff = float(rng.uniform(3500.0, 6000.0))
    phase = 2 * np.pi * np.cumsum(f0_s) / sample_rate
    bin_hz = sample_rate / n_fft
    harm = np.zeros(n)
    for k in range(1, int(cutoff // max(float(filled.min()), 50.0)) + 1):
        freq = k * filled  # per frame
        inside = voiced & (freq < cutoff)
        if not inside.any():
            break
        pos = freq / bin_hz
        lo = np.clip(pos.astype(int), 0, mag.shape[0] - 2)
        frac = np.clip(pos - lo, 0.0, 1.0)
        cols = np.arange(mag.shape[1])
        amp = ((1 - frac) * mag[lo, cols] + frac * mag[lo + 1, cols]) * 4.0 / n_fft * inside  # Hann: |X| = A * n_fft / 4
        harm += np.interp(np.arange(n), times, amp) * np.cos(k * phase + rng.uniform(0, 2 * np.pi))
    env = _cepstral_envelope(mag, lifter=30)
    freqs = np.arange(mag.shape[0]) * bin_hz
    noise_mask = np.where(voiced[None, :], (freqs >= cutoff)[:, None], True)
    white = librosa.stft(rng.standard_normal(n), n_fft=n_fft, hop_length=hop)
    noise = librosa.istft(white / np.sqrt(0.375 * n_fft) * env * noise_mask, hop_length=hop, n_fft=n_fft, length=n)
    out = harm * voiced_s + noise
    return at_rms_of(out, y)


def psola_shift(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """TD-PSOLA pitch shift by +-2..4 semitones on DIO pitch marks (duration and formants kept); see :mod:`eval.psola`."""
    from eval.psola import td_psola

    steps = float(rng.choice([-4, -3, -2, 2, 3, 4]))
    return td_psola(y, sample_rate=sample_rate, factor=2.0 ** (steps / 12), f0=_f0_track(y, sample_rate))


def neural_vocoder(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Copy-synthesis through a small MelGAN-style neural vocoder trained here (see :mod:`eval.neural_vocoder`)."""
    from eval.neural_vocoder import resynthesize

    del rng
    return resynthesize(y, sample_rate=sample_rate)


def wsola_stretch(y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """WSOLA tempo change (pitch kept) by 0.8-0.9x or 1.1-1.25x; see :mod:`eval.wsola`."""
    from eval.wsola import wsola

    rate = float(rng.uniform(0.8, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.25))
    return wsola(y, sample_rate=sample_rate, rate=rate)


COPY_FAMILIES: dict[str, SpoofFn] = {"world": world_copy, "pvshift": pitch_shift, "timestretch": time_stretch,
                                     "griffinlim": griffin_lim, "lpc": lpc_vocoder, "phaserebuild": phase_rebuild,
                                     "cepvoc": cepstral_vocoder, "harmonic": harmonic_noise, "psola": psola_shift,
                                     "wsola": wsola_stretch, "neuralvoc": neural_vocoder}
FAMILIES = ("espeak", *COPY_FAMILIES)


@dataclass(frozen=True)
class Source:
    """One real recording: where it is, who speaks, and a prefix for the names of its clips."""

    path: Path
    speaker: str
    prefix: str = ""


@dataclass
class SelfplayConfig:
    """What goes into the corpus and how it is split.

    ``train_families`` make the spoofs of train and dev (dev on its own speakers);
    ``dev_only_families`` only those of dev (unseen in training, for honest model choice);
    ``test_families`` those of test, never seen in training or dev. Each bona fide clip of
    train or dev is copied by ``copies_per_clip`` of the training copy-synthesis families
    (drawn at random), each dev clip also by every dev-only family, each test clip by every
    test family. ``speaker_fractions`` split the
    multi-speaker source (train, dev, test); single-speaker sources (Allison) go to train.
    """

    librispeech: Path | None = DEFAULT_LIBRISPEECH
    asterisk: Path | None = DEFAULT_ASTERISK
    max_clip_s: float = 5.0
    min_clip_s: float = 1.0
    crops_per_file: int = 2
    max_single_speaker: int = 200
    # More single-speaker folders of real speech (e.g. the other Asterisk languages), each
    # one speaker named by its folder, all in train, at most ``max_extra_single`` clips each.
    extra_single: tuple[Path, ...] = ()
    max_extra_single: int = 60
    # Folders of one speaker's short recordings (words, letters: Debian's ktuberling-data),
    # each joined into clips of ``joined_clip_s`` seconds or more with 0.2 s pauses, as
    # ``voiceguard bench false-alarms`` joins them, at most ``max_joined_clips`` per folder;
    # training bona fide, one speaker per folder, so that read words and prompts of many
    # languages and microphones are real speech to the detector too (corpus v8).
    joined_voices: tuple[Path, ...] = ()
    joined_clip_s: float = 3.0
    max_joined_clips: int = 20
    espeak_clips: dict[str, int] = field(default_factory=lambda: {"train": 250, "dev": 60})
    copies_per_clip: int = 2
    speaker_fractions: tuple[float, float, float] = (0.6, 0.14, 0.26)
    # By mechanism: formant synthesis (espeak), source-filter vocoder (world), phase-vocoder
    # modification (pvshift, timestretch), one-pass phase rebuilt from magnitude
    # (phaserebuild). Dev adds families never trained on (an excitation-plus-envelope
    # vocoder, a sinusoidal one and iterative phase retrieval), so that choices made on dev
    # measure unseen attacks too. Test: an unseen source-filter vocoder (lpc), waveform
    # grain re-spacing (psola), a neural vocoder (neuralvoc, corpus v9) and the cloner when
    # given. (Corpus v4, the shipped model's training corpus, had dev-only cepvoc and test
    # griffinlim, lpc.)
    train_families: tuple[str, ...] = ("espeak", "world", "pvshift", "timestretch", "phaserebuild")
    dev_only_families: tuple[str, ...] = ("cepvoc", "harmonic", "griffinlim")
    test_families: tuple[str, ...] = ("lpc", "psola", "neuralvoc")


def librispeech_sources(root: Path) -> list[Source]:
    """Every audio file under ``root``; the speaker is the name's first dash-separated field."""
    files = sorted(p for p in files_under(root) if p.is_file() and is_audio_path(p))
    return [Source(p, "ls-" + p.stem.split("-")[0]) for p in files]


def asterisk_sources(root: Path) -> list[Source]:
    """Every prompt under ``root`` (one speaker, Allison)."""
    files = sorted(p for p in files_under(root) if p.is_file() and is_audio_path(p))
    return [Source(p, "allison") for p in files]


def asterisk_texts(path: Path = ASTERISK_TRANSCRIPTS) -> list[str]:
    """Prompt sentences of four words or more from the Asterisk transcript file, else a fallback list."""
    if not path.is_file():
        return list(FALLBACK_TEXTS)
    texts = []
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(";") or ":" not in line:
                continue
            text = line.split(":", 1)[1].strip()
            text = re.sub(r"[\[\]<>]", "", text)
            if len(text.split()) >= 4:
                texts.append(text)
    return texts or list(FALLBACK_TEXTS)


def split_speakers(speakers: list[str], *, fractions: tuple[float, float, float], rng: np.random.Generator) -> dict[str, str]:
    """Assign each speaker to train/dev/test by a seeded shuffle in the given fractions."""
    order = sorted(set(speakers))
    rng.shuffle(order)
    n = len(order)
    n_train = int(round(fractions[0] * n))
    n_dev = int(round(fractions[1] * n))
    return {s: ("train" if i < n_train else "dev" if i < n_train + n_dev else "test") for i, s in enumerate(order)}


def crops(y: np.ndarray, *, sample_rate: int, max_s: float, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Up to ``count`` non-overlapping random pieces of at most ``max_s`` seconds."""
    size = int(max_s * sample_rate)
    if y.shape[0] <= size:
        return [y]
    n = min(count, y.shape[0] // size)
    slots = rng.permutation(y.shape[0] // size)[:n]
    out = []
    for slot in sorted(slots):
        lo = slot * size
        jitter = int(rng.integers(0, max(1, min(size // 4, y.shape[0] - lo - size + 1))))
        out.append(y[lo + jitter: lo + jitter + size])
    return out


def _progress(items, *, quiet: bool, desc: str):  # noqa: ANN001, ANN202
    return items if quiet else progress.bar(items, desc=desc)


def build(
    out_dir: Path,
    *,
    seed: int,
    config: SelfplayConfig | None = None,
    extra_families: dict[str, tuple[SpoofFn, str]] | None = None,
    quiet: bool = False,
) -> Path:
    """Write the corpus under ``out_dir`` and return its ``manifest.csv``.

    Parameters
    ----------
    out_dir : Path
        Created if missing; files go to ``out_dir/<split>/<label>/``.
    seed : int
        Everything (speaker split, crops, voices, shifts) follows from it.
    config : SelfplayConfig, optional
    extra_families : dict, optional
        ``name -> (fn(y, sample_rate, rng) -> y_spoof, role)``: more copy-synthesis
        families, e.g. ``{"cloner": (convert_fn, "test")}``; role ``"test"`` makes it an
        unseen test family, anything else a training family.
    quiet : bool
        No progress bar or messages on stderr.

    Raises
    ------
    DatasetError
        When no bona fide source folder exists or holds readable audio.
    """
    config = config or SelfplayConfig()
    roles = {k: v[1] for k, v in (extra_families or {}).items()}
    family_splits(config, roles)  # refuse bad family lists before writing anything
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    sources: list[Source] = []
    if config.librispeech is not None and Path(config.librispeech).is_dir():
        sources += librispeech_sources(Path(config.librispeech))
    single: list[Source] = []
    if config.asterisk is not None and Path(config.asterisk).is_dir():
        single = asterisk_sources(Path(config.asterisk))
        rng.shuffle(single)
        single = single[: config.max_single_speaker]
    # Extra folders draw from their own stream, so that adding them leaves the speaker split
    # and every crop of the other sources as they were without them.
    extra_rng = np.random.default_rng([seed, 1])
    for folder in config.extra_single:
        if not Path(folder).is_dir():
            raise DatasetError(f"single-speaker folder {folder} does not exist")
        found = sorted(p for p in files_under(folder) if p.is_file() and is_audio_path(p))
        if not found:
            raise DatasetError(f"single-speaker folder {folder} holds no audio files")
        extra_rng.shuffle(found)
        speaker = Path(folder).name.lower()
        # prompt sets of different voices share file names: the speaker keeps their clips apart
        single += [Source(p, speaker, prefix=f"{speaker}-") for p in found[: config.max_extra_single]]
    joined = _joined_voice_clips(config, seed=seed)
    if not sources and not single and not joined:
        raise DatasetError(f"no real speech found in {config.librispeech} or {config.asterisk}; pass folders of real recordings")
    assignment = split_speakers([s.speaker for s in sources], fractions=config.speaker_fractions, rng=rng)
    assignment.update({s.speaker: "train" for s in single})
    assignment.update({speaker: "train" for speaker, _, _ in joined})
    rows: list[dict[str, str]] = []
    bona: dict[str, list[tuple[str, np.ndarray]]] = {"train": [], "dev": [], "test": []}
    for src in _progress(sources + single, quiet=quiet, desc="bona fide"):
        try:
            y = load(src.path, sample_rate=SAMPLE_RATE)
        except AudioError as exc:
            click.echo(f"skipped unreadable {src.path}: {exc}", err=True)
            continue
        split = assignment[src.speaker]
        for k, piece in enumerate(crops(y, sample_rate=SAMPLE_RATE, max_s=config.max_clip_s, count=config.crops_per_file, rng=rng)):
            if piece.shape[0] < config.min_clip_s * SAMPLE_RATE:
                continue
            name = f"{src.prefix}{src.path.stem}-{k}"
            if any(name == other for other, _ in bona[split]):
                raise DatasetError(f"two recordings would both be written as {split}/bonafide/{name}.wav "
                                   f"(the second is {src.path}); give the files distinct names")
            rows.append(_write(out_dir, split, "bonafide", name, piece, speaker=src.speaker, attack="-"))
            bona[split].append((name, piece))
    for speaker, name, clip in joined:
        rows.append(_write(out_dir, "train", "bonafide", name, clip, speaker=speaker, attack="-"))
        bona["train"].append((name, clip))
    families = {**COPY_FAMILIES, **{k: v[0] for k, v in (extra_families or {}).items()}}
    train_fams, dev_only, test_fams = family_splits(config, roles)
    speaker_of = {r["file"]: r["speaker"] for r in rows}
    for split in ("train", "dev", "test"):
        fams = test_fams if split == "test" else train_fams
        if "espeak" in fams:
            rows += _espeak_rows(out_dir, split, count=config.espeak_clips.get(split, 0), rng=rng, quiet=quiet)
        copy_fams = [f for f in fams if f != "espeak"]
        if not copy_fams:
            continue
        for name, piece in _progress(bona[split], quiet=quiet, desc=f"{split} spoofs"):
            chosen = copy_fams if split == "test" else list(rng.permutation(copy_fams)[: config.copies_per_clip])
            if split == "dev":
                chosen += [f for f in dev_only if f not in chosen]
            for fam in chosen:
                try:
                    fake = families[fam](piece, SAMPLE_RATE, rng)
                except GuardError as exc:
                    click.echo(f"skipped {fam} of {name}: {exc}", err=True)
                    continue
                # A family that speaks in its own voice (the cloner) names it; copies keep the source's.
                speaker = getattr(families[fam], "speaker", None) or speaker_of[f"{split}/bonafide/{name}.wav"]
                rows.append(_write(out_dir, split, "spoof", f"{name}-{fam}", fake, speaker=speaker, attack=fam))
    manifest = out_dir / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "label", "speaker", "attack", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def _joined_voice_clips(config: SelfplayConfig, *, seed: int) -> list[tuple[str, str, np.ndarray]]:
    """(speaker, clip name, clip) of every folder in ``config.joined_voices``, joined as ``bench false-alarms`` does.

    Raises
    ------
    DatasetError
        A folder is missing, holds no audio, or too little for one clip.
    """
    from eval.bench_false_alarms import Voice, audio_files, voice_clips

    def unreadable(path: Path, message: str) -> None:
        click.echo(f"skipped unreadable {path}: {message}", err=True)

    out: list[tuple[str, str, np.ndarray]] = []
    for folder in config.joined_voices:
        folder = Path(folder)
        if not folder.is_dir():
            raise DatasetError(f"joined-voice folder {folder} does not exist")
        files = audio_files(folder)
        if not files:
            raise DatasetError(f"joined-voice folder {folder} holds no audio files")
        speaker = f"joined-{folder.parent.name}-{folder.name}".lower()
        if any(speaker == other for other, _, _ in out):  # their clips would overwrite each other's
            raise DatasetError(f"two joined-voice folders would both be speaker {speaker} (the second is {folder}); "
                               "give them distinct folder names")
        clips = voice_clips(Voice(speaker, files), clip_s=config.joined_clip_s, max_clips=config.max_joined_clips,
                            seed=seed, on_unreadable=unreadable)
        if not clips:
            raise DatasetError(f"joined-voice folder {folder} holds under {config.joined_clip_s:g} s of readable audio")
        out += [(speaker, f"{speaker}-{i:03d}", clip[: int(config.max_clip_s * SAMPLE_RATE)]) for i, clip in enumerate(clips)]
    return out


def family_splits(config: SelfplayConfig, extra_roles: dict[str, str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """The training, dev-only and test families of ``config`` plus extra families (name -> "test" or another role).

    Raises
    ------
    DatasetError
        An unknown family name; a family in two roles (test families must be unseen in
        training and dev, dev-only ones in training); no test or no training family at all.
    """
    extra = extra_roles or {}
    test = list(config.test_families) + [k for k, role in extra.items() if role == "test"]
    train = list(config.train_families) + [k for k, role in extra.items() if role != "test"]
    dev_only = list(config.dev_only_families)
    known = {"espeak", *COPY_FAMILIES, *extra}
    unknown = sorted(set(train + dev_only + test) - known)
    if unknown:
        raise DatasetError(f"unknown generator families {unknown}; known: {sorted(known)}")
    shared = sorted(set(train + dev_only) & set(test))
    if shared:
        raise DatasetError(f"generator families {shared} are in both training and test; test families must be unseen")
    if set(dev_only) & set(train):
        raise DatasetError(f"dev-only families {sorted(set(dev_only) & set(train))} are also training families")
    if not test:
        raise DatasetError("no test family: name at least one with --test-families (or keep the cloner)")
    if not train:
        raise DatasetError("no training family: name at least one with --train-families")
    return train, dev_only, test


def _espeak_rows(out_dir: Path, split: str, *, count: int, rng: np.random.Generator, quiet: bool) -> list[dict[str, str]]:
    from cloner.tts import synthesize

    texts = asterisk_texts()
    rows = []
    # Voice variants are split too, so dev speakers (voices) are unseen in training.
    variants = [v for i, v in enumerate(ESPEAK_VARIANTS) if (i % 4 == 3) == (split != "train")]
    for i in _progress(range(count), quiet=quiet, desc=f"{split}/espeak"):
        voice = str(rng.choice(ESPEAK_VOICES)) + str(rng.choice(variants))
        text = str(rng.choice(texts))
        y = synthesize(text, voice=voice, rate_wpm=int(rng.integers(130, 220)), pitch=int(rng.integers(25, 75)),
                       pitch_range=int(rng.integers(20, 80)), sample_rate=SAMPLE_RATE)
        rows.append(_write(out_dir, split, "spoof", f"espeak-{i:04d}", y, speaker=f"espeak-{voice}", attack="espeak"))
    return rows


def _write(out_dir: Path, split: str, label: str, name: str, y: np.ndarray, *, speaker: str, attack: str) -> dict[str, str]:
    folder = out_dir / split / label
    folder.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.99:
        y = y / peak * 0.99
    save(folder / f"{name}.wav", y.astype(np.float32), sample_rate=SAMPLE_RATE)
    return {"file": f"{split}/{label}/{name}.wav", "label": label, "speaker": speaker, "attack": attack, "split": split}


def cloner_families(work: Path, *, seed: int, quiet: bool) -> dict[str, tuple[SpoofFn, str]]:
    """``{"cloner": (fn, "test")}`` with the Asterisk voice enrolled under ``work``; ``{}`` when it is absent.

    The cloner is a test family: it is the attack this project most needs to catch, and
    keeping it out of training measures whether the detector finds it unseen. It shares
    parts with training families (espeak-ng front end, WORLD vocoder), which the model card
    says when it reports the number.
    """
    from eval.selfplay_cloner import asterisk_cloner

    try:
        family = asterisk_cloner(work, seed=seed, progress=not quiet)
    except DatasetError as exc:
        if not quiet:
            click.echo(f"no cloner family: {exc}", err=True)
        return {}
    return {"cloner": (family, "test")}


def _names(listed: str) -> tuple[str, ...]:
    return tuple(f.strip() for f in listed.split(",") if f.strip())


@click.command("selfplay", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Corpus folder to write.")
@click.option("--librispeech", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_LIBRISPEECH, show_default=True,
              help="Folder of multi-speaker real speech (speaker = file name up to the first dash).")
@click.option("--asterisk", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_ASTERISK, show_default=True,
              help="Folder of single-speaker telephone-band real speech.")
@click.option("--single-speaker", "extra_single", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Another folder of one speaker's real speech (training bona fide; the folder names the speaker). Repeatable.")
@click.option("--joined-voice", "joined_voices", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A folder of one speaker's short recordings (words, letters), joined into 3 s clips with 0.2 s "
                   "pauses (training bona fide; the folder names the speaker). Repeatable.")
@click.option("--train-families", default=",".join(SelfplayConfig.train_families), show_default=True,
              help=f"Comma-separated families of train and dev, from: espeak, {', '.join(COPY_FAMILIES)}.")
@click.option("--dev-only-families", default="cepvoc,harmonic,griffinlim", show_default=True,
              help=f"Comma-separated families made only for dev (unseen in training), from: {', '.join(COPY_FAMILIES)}.")
@click.option("--test-families", default="lpc,psola,neuralvoc", show_default=True,
              help=f"Comma-separated families made only for test (never seen in training or dev), from: {', '.join(COPY_FAMILIES)}.")
@click.option("--cloner/--no-cloner", default=True, show_default=True,
              help="Add the cloner family (needs asterisk-core-sounds-en; skipped with a note when absent).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def command(out_dir: Path, librispeech: Path, asterisk: Path, extra_single: tuple[Path, ...],
            joined_voices: tuple[Path, ...], train_families: str,
            dev_only_families: str, test_families: str, cloner: bool, seed: int, quiet: bool) -> None:
    """Build the self-play corpus in OUT (python -m eval.selfplay -o OUT)."""
    config = SelfplayConfig(librispeech=librispeech, asterisk=asterisk, extra_single=tuple(extra_single),
                            joined_voices=tuple(joined_voices),
                            train_families=_names(train_families), dev_only_families=_names(dev_only_families),
                            test_families=_names(test_families))
    try:
        # the names are checked before the cloner is enrolled or anything is written
        family_splits(config, {"cloner": "test"} if cloner else None)
        # The cloner's throw-away home (keys, consent, voice) never lands in the corpus.
        with tempfile.TemporaryDirectory(prefix="vg-selfplay-cloner-") as work:
            extra = cloner_families(Path(work), seed=seed, quiet=quiet) if cloner else {}
            manifest = build(out_dir, seed=seed, config=config, extra_families=extra, quiet=quiet)
    except GuardError as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        click.echo(f"wrote {manifest}", err=True)


if __name__ == "__main__":  # pragma: no cover
    command()
