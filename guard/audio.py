"""Decode any audio file to mono float32 at a chosen rate, encode by extension, validate.

This module and :mod:`guard.audio_decode` (which opens, checks and decodes the containers) are
the only ones that touch codecs: libsndfile (``soundfile``) for the formats it knows, PyAV's
ffmpeg for the rest (AAC/M4A, Opus in WebM, the audio track of MP4) and for lossy encoding at a
chosen bitrate. Long files are decoded block by block, downmixed and resampled as a stream, so
only the decoded output is ever held in full. A file cut short (a broken download or copy) is an
error naming it wherever its container can tell: see :func:`info`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

from guard.audio_decode import (
    _ADTS_PRIMING,
    AudioInfo,
    _blocks_av,
    _blocks_sndfile,
    _check_path,
    _probe,
)
from guard.errors import AudioError, ParameterError, TooLongError

DEFAULT_MAX_DURATION_S = 2 * 3600.0
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4",
     ".webm", ".aif", ".aiff", ".au", ".caf", ".w64",
     # containers PyAV decodes that phones, cameras, audiobooks and Windows write
     ".mov", ".mkv", ".mka", ".3gp", ".m4b", ".wma", ".amr"}
)
_OGG_WRITE_FRAMES = 1 << 14
# Encoder settings for the lossy formats written through PyAV: container, codec, rates.
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_ENCODERS = {
    "mp3": ("mp3", "libmp3lame", _MP3_RATES),
    "aac": ("adts", "aac", None),
    "m4a": ("ipod", "aac", None),
    "mp4": ("mp4", "aac", None),
    "opus": ("ogg", "libopus", _OPUS_RATES),
    "webm": ("webm", "libopus", _OPUS_RATES),
}
CODECS = ("mp3", "aac", "opus")
# libmp3lame's own default at 16 kHz is 24 kb/s, audibly poor and too coarse for a watermark's
# payload in short clips; AAC and Opus default to about 64-70 kb/s already.
_DEFAULT_BITRATE_BPS = {"mp3": 64000}


def check_sample_rate(sample_rate: object, *, name: str = "sample_rate") -> int:
    """Return ``sample_rate`` as an int, or raise ParameterError naming the bad value."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer number of Hz, given {name}={sample_rate!r}")
    if not 1000 <= int(sample_rate) <= 384_000:
        raise ParameterError(f"{name} must be within 1000-384000 Hz, given {name}={sample_rate}")
    return int(sample_rate)


def valid_audio(y: object, *, sample_rate: int, min_samples: int = 1) -> np.ndarray:
    """Check a mono signal and return it as contiguous float32.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono samples, nominally in [-1, 1].
    sample_rate : int > 0
        Rate of ``y`` in Hz (checked for range only).
    min_samples : int >= 1
        Fewest samples accepted.

    Raises
    ------
    AudioError
        When ``y`` is not 1-D, too short, or holds NaN/Inf.
    """
    check_sample_rate(sample_rate)
    if not isinstance(y, np.ndarray):
        raise AudioError(f"audio must be a numpy array, given {type(y).__name__}")
    if y.ndim != 1:
        raise AudioError(f"audio must be mono with shape (n,), given y.shape={y.shape}")
    if y.shape[0] < min_samples:
        raise AudioError(f"audio has {y.shape[0]} samples, at least {min_samples} are needed")
    if not np.issubdtype(y.dtype, np.floating):
        raise AudioError(f"audio must be floating point, given dtype={y.dtype}")
    if not np.all(np.isfinite(y)):
        raise AudioError("audio contains NaN or infinite samples")
    out = np.ascontiguousarray(y, dtype=np.float32)
    if y.dtype.itemsize > 4 and not np.all(np.isfinite(out)):  # float64 beyond float32's range
        raise AudioError("audio holds samples beyond float32's range (about 3.4e38); scale it to [-1, 1]")
    return out


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono signal with soxr (high quality); a no-op when the rates match.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    orig_sr, target_sr : int > 0
        Rates in Hz.

    Returns
    -------
    np.ndarray [shape=(round(n * target_sr / orig_sr),), dtype=float32]
    """
    orig_sr = check_sample_rate(orig_sr, name="orig_sr")
    target_sr = check_sample_rate(target_sr, name="target_sr")
    y = np.asarray(y, dtype=np.float32)
    if orig_sr == target_sr or y.size == 0:
        return y
    return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def info(path: str | os.PathLike[str]) -> AudioInfo:
    """Report duration, rate, channels, codec and container of an audio file.

    A file cut short is an error, as it is when decoding: one that holds less than its header
    promises (a WAV's data size; an MP3's Xing/Info/VBRI byte count or a Matroska/WebM
    Segment size, where what decodes is more than :data:`TRUNCATION_TOLERANCE_S` short of the
    header's length), or an Ogg stream that breaks off inside a page. A header that gives no
    length (a streamed WAV or WebM, an MP3 without a Xing header) is not judged.

    Raises
    ------
    AudioError
        Missing file, a directory, an empty, non-audio or truncated file, or no samples.
    """
    return _probe(_check_path(path))[0]


def load(
    path: str | os.PathLike[str],
    *,
    sample_rate: int,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> np.ndarray:
    """Decode a file to mono float32 at ``sample_rate``.

    Parameters
    ----------
    path : path-like
        Any format of :data:`AUDIO_EXTENSIONS` (container sniffed, extension only a hint).
    sample_rate : int > 0
        Output rate in Hz; never defaulted.
    max_duration_s : float > 0
        Longest file accepted, checked from the header before decoding and again while
        decoding (headers can lie).

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Channels averaged (where they cancel, the loudest channel: see :func:`_downmix`);
        resampled with soxr.

    Raises
    ------
    AudioError
        Missing, directory, empty, not audio, truncated, no samples, NaN/Inf, too long.

    Examples
    --------
    >>> y = load("clip.mp3", sample_rate=16000)  # doctest: +SKIP
    """
    sample_rate = check_sample_rate(sample_rate)
    if not max_duration_s > 0:
        raise ParameterError(f"max_duration_s must be > 0, given max_duration_s={max_duration_s}")
    p = _check_path(path)
    header, by_av = _probe(p)
    if header.duration_s > max_duration_s:
        raise TooLongError(f"{p}: is {header.duration_s:.1f} s long, over the maximum of {max_duration_s:g} s; cut it into shorter files")
    blocks = _blocks_av(p) if by_av else _blocks_sndfile(p)
    skip = _ADTS_PRIMING if header.container == "aac" else 0
    pieces: list[np.ndarray] = []
    stream = None
    seen_frames = 0
    for block, rate, _channels in blocks:
        seen_frames += block.shape[0]
        if seen_frames / rate > max_duration_s:
            raise TooLongError(f"{p}: is longer than the maximum of {max_duration_s:g} s; cut it into shorter files")
        mono = _downmix(block)
        if skip:
            dropped = min(skip, mono.shape[0])
            mono, skip = mono[dropped:], skip - dropped
        if not np.all(np.isfinite(mono)):
            raise AudioError(f"{p}: contains NaN or infinite samples")
        if rate != sample_rate:
            if stream is None:
                stream = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
            mono = stream.resample_chunk(mono)
        pieces.append(np.asarray(mono, dtype=np.float32))
    if stream is not None:
        pieces.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    y = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if y.size == 0:
        raise AudioError(f"{p}: contains no audio samples")
    return y


CANCEL_RATIO = 0.01  # mix energy / channel energy under which a downmix is taken to cancel (-20 dB)


def _downmix(block: np.ndarray) -> np.ndarray:
    """One block of frames ``(n, channels)`` as mono: the channels' mean, unless they cancel.

    A stereo file whose right channel is the left one inverted averages to silence: every
    check would then hear nothing while each channel plays the speech. Where the mean holds
    under :data:`CANCEL_RATIO` of the channels' energy, the loudest channel is taken instead.
    """
    if block.shape[1] == 1:
        return block[:, 0]
    mono = block.mean(axis=1, dtype=np.float32)
    energy = np.mean(np.square(block, dtype=np.float64), axis=0)
    if energy.mean() > 1e-10 and float(np.mean(np.square(mono, dtype=np.float64))) < CANCEL_RATIO * energy.mean():
        return np.ascontiguousarray(block[:, int(np.argmax(energy))], dtype=np.float32)
    return mono


def _encode_av(y: np.ndarray, *, sample_rate: int, kind: str, bitrate_bps: int | None) -> tuple[bytes, int]:
    fmt, codec, rates = _ENCODERS[kind]
    rate = sample_rate
    if rates is not None and rate not in rates:
        rate = min((r for r in rates if r >= rate), default=rates[-1])
        y = resample(y, orig_sr=sample_rate, target_sr=rate)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        bitrate_bps = bitrate_bps or _DEFAULT_BITRATE_BPS.get(kind)
        if bitrate_bps:
            stream.bit_rate = int(bitrate_bps)
        pcm = np.clip(y, -1.0, 1.0).astype(np.float32)[np.newaxis, :]
        step = 1 << 16
        for start in range(0, pcm.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, start:start + step]), format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue(), rate


def save(
    path: str | os.PathLike[str],
    y: np.ndarray,
    *,
    sample_rate: int,
    bitrate_bps: int | None = None,
) -> Path:
    """Write mono audio in the format the extension names.

    wav (16-bit PCM; ``.f32.wav`` is not special: use soundfile for float WAV), flac and ogg
    (vorbis) through libsndfile; mp3, aac, m4a, mp4, opus and webm through PyAV, at
    ``bitrate_bps`` when given.

    Parameters
    ----------
    path : path-like
    y : np.ndarray [shape=(n,)]
        Samples in [-1, 1]; values beyond are clipped.
    sample_rate : int > 0
    bitrate_bps : int, optional
        For the lossy formats written by PyAV; default the encoder's own (about 64-70 kb/s
        for AAC and Opus), and 64 kb/s for MP3.
    """
    y = valid_audio(y, sample_rate=sample_rate)
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if not p.parent.exists():
        raise AudioError(f"{p}: output folder {p.parent} does not exist")
    clipped = np.clip(y, -1.0, 1.0)
    if ext in ("wav", "wave"):
        sf.write(os.fsencode(p), clipped, sample_rate, subtype="PCM_16")  # bytes: any file name the OS allows
    elif ext == "flac":
        sf.write(os.fsencode(p), clipped, sample_rate, subtype="PCM_16", format="FLAC")
    elif ext in ("ogg", "oga"):
        # libsndfile's Vorbis encoder crashes (SIGSEGV) on a single write of about a
        # minute of audio; writing in blocks is safe at any length.
        with sf.SoundFile(os.fsencode(p), "w", sample_rate, 1, format="OGG", subtype="VORBIS") as fh:
            for start in range(0, clipped.shape[0], _OGG_WRITE_FRAMES):
                fh.write(clipped[start:start + _OGG_WRITE_FRAMES])
    elif ext in _ENCODERS:
        data, _ = _encode_av(clipped, sample_rate=sample_rate, kind=ext, bitrate_bps=bitrate_bps)
        p.write_bytes(data)
    else:
        known = "wav, flac, ogg, " + ", ".join(_ENCODERS)
        what = f"cannot write '.{ext}' files" if ext else "has no extension to choose a format by"
        raise AudioError(f"{p}: {what}; use one of {known}")
    return p


def transcode(y: np.ndarray, *, sample_rate: int, codec: str, bitrate_bps: int) -> np.ndarray:
    """Encode and decode in memory through a lossy codec; output has the input's rate and length.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sample_rate : int > 0
    codec : {"mp3", "aac", "opus"}
    bitrate_bps : int > 0
        e.g. 32000 for 32 kbit/s.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Codec delay is removed by cross-correlation so samples stay aligned with ``y``.
    """
    if codec not in CODECS:
        raise ParameterError(f"codec must be one of {CODECS}, given codec={codec!r}")
    y = valid_audio(y, sample_rate=sample_rate)
    data, rate = _encode_av(y, sample_rate=sample_rate, kind=codec, bitrate_bps=bitrate_bps)
    decoded: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as container:
        stream = next(s for s in container.streams if s.type == "audio")
        to_float = av.AudioResampler(format="fltp", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in to_float.resample(frame):
                decoded.append(out.to_ndarray()[0])
    z = np.concatenate(decoded) if decoded else np.zeros(0, np.float32)
    z = resample(z, orig_sr=rate, target_sr=sample_rate)
    return _align_to(z, y)


def _align_to(z: np.ndarray, ref: np.ndarray, max_lag: int = 4096) -> np.ndarray:
    """Shift ``z`` by the lag (0..max_lag) that best matches ``ref``; pad/trim to its length."""
    n = ref.shape[0]
    probe = min(n, 1 << 15)
    lags = min(max_lag, max(0, z.shape[0] - probe))
    best = 0
    if lags > 0 and probe > 0:
        a = ref[:probe].astype(np.float64)
        nfft = 1 << int(np.ceil(np.log2(probe + lags + probe)))
        spec = np.fft.rfft(z[: probe + lags].astype(np.float64), nfft) * np.conj(np.fft.rfft(a, nfft))
        corr = np.fft.irfft(spec, nfft)[: lags + 1]
        best = int(np.argmax(corr))
    out = z[best:best + n]
    if out.shape[0] < n:
        out = np.pad(out, (0, n - out.shape[0]))
    return out.astype(np.float32, copy=False)


def is_audio_path(path: str | os.PathLike[str]) -> bool:
    """True when the extension is one this module reads."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def rate_change_note(path: str | os.PathLike[str], sample_rate: int) -> tuple[int, str | None]:
    """The rate a file just written decodes at, and a note when it is not ``sample_rate``.

    Opus decodes at 48 kHz and MP3 only at its own steps, so a file written at 22,050 Hz may
    read back at another rate; writers tell the user so.

    Returns
    -------
    rate : int
        The written file's rate in Hz.
    note : str or None
        ``"the .opus file decodes at 48000 Hz, not 22050 Hz"``, or None when the rates agree.
    """
    rate = info(path).sample_rate
    suffix = Path(path).suffix
    return rate, (None if rate == sample_rate else f"the {suffix} file decodes at {rate} Hz, not {sample_rate} Hz")
