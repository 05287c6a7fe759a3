"""Open, check and decode audio files block by block, for :func:`guard.audio.load` and :func:`guard.audio.info`.

A path is checked first (missing, a folder, empty); its header is read by libsndfile for the
formats it knows and by PyAV's ffmpeg for the rest, the container sniffed from its first bytes
when neither decodes it (to tell "not audio" from "audio, but truncated"). A file that holds less
than its header promises is refused (:func:`_check_whole`). Decoding yields blocks of frames
``(n, channels)`` as float32, so that a long file is never held whole before it is downmixed and
resampled.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from guard.container_lengths import mp3_bytes, ogg_breaks_off, segment_bytes, wav_shortfall_s
from guard.errors import AudioError

BLOCK_FRAMES = 1 << 18  # ~5 s at 48 kHz per decoded block
# Extensions libsndfile decodes; everything else goes through PyAV. MP3 goes through PyAV
# too: libsndfile takes an MP3's length from its Xing header, and on a truncated file it
# hands back that many frames, the missing ones filled with whatever was in memory (scores
# that change from run to run, NaN), where ffmpeg stops at the last whole frame.
_SNDFILE_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au", ".caf", ".w64"})
_SNDFILE_CONTAINERS = frozenset(f.lower() for f in sf.available_formats()) - {"mp3"}
# Magic numbers of audio containers, to tell "not audio" from "audio, but truncated".
_MAGIC = ((b"RIFF", "wav"), (b"fLaC", "flac"), (b"OggS", "ogg"), (b"ID3", "mp3"),
          (b"\x1a\x45\xdf\xa3", "webm"), (b"FORM", "aiff"), (b".snd", "au"), (b"#!AMR", "amr"),
          (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "wma"))
# Raw ADTS AAC carries no edit list; encoders prime it with 1024 samples that players drop.
_ADTS_PRIMING = 1024


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header (and, when the header is silent, by decoding)."""

    path: str
    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    codec: str
    container: str

    def to_dict(self) -> dict:
        return asdict(self)


def _check_path(path: str | os.PathLike[str]) -> Path:
    if not os.fspath(path).strip():
        raise AudioError("an empty path was given; name an audio file")
    p = Path(path)
    if not p.exists():
        if p.is_symlink():
            raise AudioError(f"{p}: a symbolic link that leads to no file (broken, or a loop)")
        raise AudioError(f"{p}: file not found")
    if p.is_dir():
        raise AudioError(_not_a_file(p))
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: file is empty (0 bytes)")
    return p


def _not_a_file(folder: Path) -> str:
    """Why a folder given as a file cannot be read; a folder walk hands on one it cannot list, for this."""
    try:
        with os.scandir(folder):
            pass
    except OSError as exc:
        why = (exc.strerror or type(exc).__name__).lower()
        return (f"{folder}: is a folder that cannot be read ({why}), so no file in it was read; make it readable "
                "for this user (chmod u+rx) and try again")
    return f"{folder}: is a directory, not an audio file"


def _sniff(p: Path) -> str | None:
    with open(p, "rb") as fh:
        head = fh.read(12)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        return "mp4"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return "aac"  # ADTS: a 12-bit sync word and layer 0, where an MPEG audio frame has layer 1-3
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mp3"
    return None


def _undecodable(p: Path, detail: str) -> AudioError:
    kind = _sniff(p)
    if kind is not None:
        return AudioError(f"{p}: looks like {kind} but is truncated or corrupt ({detail}); export it again from a good copy")
    return AudioError(f"{p}: not an audio file (no decoder recognises it)")


def _ffmpeg_detail(exc: Exception) -> str:
    """ffmpeg's reason without its errno and the path it repeats ("Invalid data found when processing input")."""
    reason = getattr(exc, "strerror", None) or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return str(reason)


def _use_sndfile(p: Path) -> bool:
    return p.suffix.lower() in _SNDFILE_EXTENSIONS


def _probe(p: Path) -> tuple[AudioInfo, bool]:
    """The checked :class:`AudioInfo` of ``p``, and whether PyAV (not libsndfile) is to decode it."""
    header = _info_sndfile(p) if _use_sndfile(p) else None
    by_av = header is None or header.frames <= 0
    if header is None:
        header = _info_av(p)
    elif header.frames <= 0:  # libsndfile finds no samples where ffmpeg may: a streamed WAV whose header says 0 bytes
        header = _info_av_if_samples(p) or header
    _check_whole(p, header)
    if header.frames <= 0:
        raise AudioError(f"{p}: contains no audio samples")
    return header, by_av or header.container not in _SNDFILE_CONTAINERS


def _info_sndfile(p: Path) -> AudioInfo | None:
    try:
        with sf.SoundFile(os.fsencode(p)) as fh:
            return AudioInfo(str(p), fh.frames / fh.samplerate, int(fh.samplerate),
                             int(fh.channels), int(fh.frames), fh.subtype.lower(), fh.format.lower())
    except (sf.LibsndfileError, RuntimeError):
        return None


def _info_av_if_samples(p: Path) -> AudioInfo | None:
    try:
        header = _info_av(p)
    except AudioError:
        return None
    return header if header.frames > 0 else None


# How far what decodes may fall short of a header's length before the file is called truncated:
# a few codec frames (4 MP3 frames at 44.1 kHz, 5 Opus frames), for encoder delay and padding.
TRUNCATION_TOLERANCE_S = 0.1


def _truncated(p: Path, detail: str) -> AudioError:
    return AudioError(f"{p}: truncated ({detail}); copy or export it again from a good copy")


def _check_whole(p: Path, header: AudioInfo) -> None:
    """Raise AudioError when ``p`` holds less than its container promises (see :func:`info`)."""
    if header.container in ("wav", "wavex"):
        short = wav_shortfall_s(p, header.sample_rate)
        if short is not None:
            raise _truncated(p, f"header promises {short[0]:.3f} s, holds {short[1]:.3f} s")
    elif header.container == "mp3":
        _check_promise(p, mp3_bytes(p))
    elif header.container in ("matroska", "webm"):
        _check_promise(p, segment_bytes(p))
    elif header.container == "ogg" and ogg_breaks_off(p):
        raise _truncated(p, f"the Ogg stream breaks off inside a page, after {header.duration_s:.3f} s")


def _check_promise(p: Path, sizes: tuple[int, int] | None) -> None:
    """Given (bytes the header promises, bytes the file holds), raise AudioError when the file is short
    and what decodes falls more than :data:`TRUNCATION_TOLERANCE_S` short of the header's length."""
    if sizes is None or sizes[1] >= sizes[0]:
        return
    promised_s, held_s = _promised_and_decoded_s(p)
    if promised_s is None:
        raise _truncated(p, f"header promises {sizes[0]} bytes, holds {sizes[1]}")
    if promised_s - held_s > TRUNCATION_TOLERANCE_S:
        raise _truncated(p, f"header promises {promised_s:.3f} s, holds {held_s:.3f} s")


def _promised_and_decoded_s(p: Path) -> tuple[float | None, float]:
    """The length in seconds the container's header gives (None when it gives none), and what decodes."""
    container, stream = _open_av(p)
    try:
        promised_s = container.duration / av.time_base if container.duration else None
        held_s = 0.0
        for block, rate, _channels in _blocks_av(p, container, stream):
            held_s += block.shape[0] / rate
    finally:
        container.close()
    return promised_s, held_s


def _open_av(p: Path):  # noqa: ANN202 - returns (container, stream)
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise _undecodable(p, _ffmpeg_detail(exc)) from None
    streams = [s for s in container.streams if s.type == "audio"]
    if not streams:
        video = any(s.type == "video" for s in container.streams) and container.format.name != "tty"
        container.close()
        if not video:  # ffmpeg "opens" text as a tty stream: that is not a media file
            raise AudioError(f"{p}: not an audio file (no decoder recognises it)")
        raise AudioError(f"{p}: has no audio track")
    return container, streams[0]


def _info_av(p: Path) -> AudioInfo:
    container, stream = _open_av(p)
    try:
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 0)
        codec = stream.codec_context.name
        fmt = container.format.name.split(",")[0]
        frames = 0
        if stream.duration is not None and stream.time_base is not None:
            frames = int(round(float(stream.duration * stream.time_base) * rate))
        if frames <= 0 or rate <= 0 or fmt == "aac" or _cut_short(p, stream, frames / max(rate, 1)):
            # The header does not say (some WebM), guesses from the bitrate (raw ADTS: 13 %
            # short on a 5.6 s clip), or promises more than the file holds: count by decoding.
            frames = 0
            for block, block_rate, block_channels in _blocks_av(p, container, stream):
                frames += block.shape[0]
                rate, channels = block_rate, block_channels
    finally:
        container.close()
    if rate <= 0:
        raise _undecodable(p, "no sample rate")
    if fmt == "aac":
        frames = max(0, frames - _ADTS_PRIMING)
    return AudioInfo(str(p), frames / rate, rate, channels, frames, codec, fmt)


def _cut_short(p: Path, stream, duration_s: float) -> bool:  # noqa: ANN001 - a PyAV stream
    """Whether a file holds under 90 % of the bytes its header's length and bitrate promise (a
    truncated MP3 keeps its Xing header's length)."""
    bit_rate = getattr(stream, "bit_rate", None) or 0
    return bit_rate > 0 and duration_s > 0 and p.stat().st_size < 0.9 * duration_s * bit_rate / 8


def _blocks_sndfile(p: Path) -> Iterator[tuple[np.ndarray, int, int]]:
    try:
        fh = sf.SoundFile(os.fsencode(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise _undecodable(p, str(exc)) from None
    with fh:
        rate, channels = int(fh.samplerate), int(fh.channels)
        try:
            for block in fh.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                yield block, rate, channels
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _undecodable(p, str(exc)) from None


def _blocks_av(p: Path, container=None, stream=None) -> Iterator[tuple[np.ndarray, int, int]]:  # noqa: ANN001
    own = container is None
    if own:
        container, stream = _open_av(p)
    try:
        to_float = av.AudioResampler(format="fltp")
        for frame in container.decode(stream):
            for out in to_float.resample(frame):
                arr = out.to_ndarray()  # (channels, n) because fltp is planar
                yield np.ascontiguousarray(arr.T, dtype=np.float32), int(out.sample_rate), arr.shape[0]
    except av.FFmpegError as exc:
        raise _undecodable(p, _ffmpeg_detail(exc)) from None
    finally:
        if own:
            container.close()
