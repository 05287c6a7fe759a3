"""guard.audio: files cut short are errors in every format, whole ones are not; containers phones and cameras write decode."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from guard import audio, audio_decode
from guard.errors import AudioError
from tests.conftest import SR, chirp, tone

SECONDS = 4.0


def _write_av(path: Path, y: np.ndarray, *, fmt: str, codec: str, rate: int, bit_rate: int | None = None,
              options: dict | None = None, stream_options: dict | None = None, seekable: bool = True) -> Path:
    """Encode mono ``y`` (at ``rate``) with PyAV; ``seekable=False`` writes as a pipe would, so no header is filled in afterwards."""
    class Pipe:  # a file object without seek: the muxer cannot go back to write lengths
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, chunk: bytes) -> int:
            self.data += chunk
            return len(chunk)

    pipe = Pipe()
    with av.open(str(path) if seekable else pipe, "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono", options=stream_options or {})
        if bit_rate:
            stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(y[np.newaxis, :].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    if not seekable:
        path.write_bytes(bytes(pipe.data))
    return path


def _whole(tmp_path: Path, ext: str) -> Path:
    return audio.save(tmp_path / f"whole.{ext}", chirp(200.0, 3000.0, SECONDS), sample_rate=SR)


def _load_s(path: Path) -> float:
    return audio.load(path, sample_rate=SR).shape[0] / SR


@pytest.mark.parametrize("ext, detail", [
    ("mp3", r"header promises 4\.\d{3} s, holds \d\.\d{3} s"),
    ("webm", r"header promises 4\.\d{3} s, holds \d\.\d{3} s"),
    ("ogg", r"the Ogg stream breaks off inside a page, after \d\.\d{3} s"),
    ("opus", r"the Ogg stream breaks off inside a page, after \d\.\d{3} s"),
])
def test_a_file_cut_in_half_is_an_error_naming_it(tmp_path: Path, ext: str, detail: str) -> None:
    whole = _whole(tmp_path, ext)
    assert abs(audio.info(whole).duration_s - SECONDS) < 0.05 and abs(_load_s(whole) - SECONDS) < 0.05
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for read in (audio.info, _load_s):
        with pytest.raises(AudioError, match=rf"cut\.{ext}: truncated \({detail}\); copy or export it again"):
            read(cut)


@pytest.mark.parametrize("ext", ["mp3", "webm"])
def test_a_cut_of_a_frame_is_tolerated_and_a_tenth_is_not(tmp_path: Path, ext: str) -> None:
    data = _whole(tmp_path, ext).read_bytes()
    nearly = tmp_path / f"nearly.{ext}"
    nearly.write_bytes(data[:-60])  # part of the last MP3 frame; WebM's closing index
    assert _load_s(nearly) > SECONDS - audio_decode.TRUNCATION_TOLERANCE_S
    short = tmp_path / f"short.{ext}"
    short.write_bytes(data[: int(len(data) * 0.9)])
    with pytest.raises(AudioError, match=r"short\.\w+: truncated"):
        audio.info(short)


def test_a_variable_bitrate_mp3_without_a_xing_header_is_whole(tmp_path: Path, rng: np.random.Generator) -> None:
    y = chirp(200.0, 3000.0, SECONDS)
    y[SR:2 * SR] = 0.3 * rng.standard_normal(SR)  # noise takes more bits than the chirp: frames of many sizes
    path = _write_av(tmp_path / "vbr.mp3", y, fmt="mp3", codec="libmp3lame", rate=SR,
                     options={"write_xing": "0"}, stream_options={"abr": "1", "b": "64000"})
    assert b"Xing" not in path.read_bytes() and b"Info" not in path.read_bytes()[:200]
    with av.open(str(path)) as container:
        assert len({p.size for p in container.demux(container.streams.audio[0]) if p.size}) > 3
    assert abs(_load_s(path) - SECONDS) < 0.15  # without a LAME tag, the MP3 encoder's delay is not trimmed


@pytest.mark.parametrize("ext, fmt, codec, rate", [("webm", "webm", "libopus", 48000), ("mp3", "mp3", "libmp3lame", SR)])
def test_a_streamed_file_without_lengths_in_its_header_is_whole(tmp_path: Path, ext: str, fmt: str, codec: str,
                                                                rate: int) -> None:
    path = _write_av(tmp_path / f"streamed.{ext}", tone(440.0, SECONDS, rate), fmt=fmt, codec=codec, rate=rate,
                     seekable=False)
    assert abs(_load_s(path) - SECONDS) < 0.15  # without a LAME tag, the MP3 encoder's delay is not trimmed


@pytest.mark.parametrize("ext", ["ogg", "opus"])
def test_an_ogg_stream_cut_between_pages_is_read_as_a_stream_dump(tmp_path: Path, ext: str,
                                                                  rng: np.random.Generator) -> None:
    # no header gives an Ogg stream's length; a recording stopped between pages is not judged
    noise = (0.3 * rng.standard_normal(int(SECONDS * SR))).astype(np.float32)  # many bits: several pages
    data = audio.save(tmp_path / f"whole.{ext}", noise, sample_rate=SR).read_bytes()
    dump = tmp_path / f"dump.{ext}"
    dump.write_bytes(data[: data.rindex(b"OggS")])
    assert 0.5 < _load_s(dump) < SECONDS


def test_a_cut_adts_aac_is_called_aac_not_mp3(tmp_path: Path) -> None:
    data = _whole(tmp_path, "aac").read_bytes()
    cut = tmp_path / "cut.aac"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.aac: looks like aac but is truncated or corrupt"):
        audio.load(cut, sample_rate=SR)


CONTAINERS = [
    ("mov", "mov", "aac", SR, None),
    ("mkv", "matroska", "libopus", 48000, None),
    ("mka", "matroska", "libopus", 48000, None),
    ("3gp", "3gp", "aac", SR, None),
    ("m4b", "ipod", "aac", SR, None),
    ("wma", "asf", "wmav2", SR, 32000),
    ("amr", "amr", "libopencore_amrnb", 8000, None),
]


@pytest.mark.parametrize("ext, fmt, codec, rate, bit_rate", CONTAINERS)
def test_containers_phones_and_cameras_write_are_audio_and_decode(tmp_path: Path, ext: str, fmt: str, codec: str,
                                                                   rate: int, bit_rate: int | None) -> None:
    path = _write_av(tmp_path / f"clip.{ext}", tone(440.0, 2.0, rate), fmt=fmt, codec=codec, rate=rate, bit_rate=bit_rate)
    assert audio.is_audio_path(path) and audio.is_audio_path(path.with_suffix(f".{ext.upper()}"))
    y = audio.load(path, sample_rate=SR)
    assert abs(y.shape[0] / SR - 2.0) < 0.1
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * SR / y.shape[0]
    assert abs(peak_hz - 440.0) < 5.0


def test_a_folder_scan_takes_those_containers(tmp_path: Path) -> None:
    from guard.scan_collect import collect

    for ext, fmt, codec, rate, bit_rate in CONTAINERS:
        _write_av(tmp_path / f"clip.{ext}", tone(440.0, 1.0, rate), fmt=fmt, codec=codec, rate=rate, bit_rate=bit_rate)
    (tmp_path / "notes.txt").write_text("not audio")
    files, skipped = collect([tmp_path])
    assert sorted(f.suffix for f in files) == sorted(f".{c[0]}" for c in CONTAINERS)
    assert [f.name for f in skipped] == ["notes.txt"]
