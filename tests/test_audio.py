"""guard.audio: round trips through every format, resampling, downmix, and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import chirp, dominant_freq_hz, tone

from guard import audio, audio_decode
from guard.errors import AudioError, ParameterError

SR = 16000
LOSSY = {"mp3", "m4a", "aac", "opus", "webm", "mp4", "ogg"}


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "m4a", "aac", "opus", "webm", "mp4"])
def test_round_trip_keeps_duration_and_pitch(tmp_path: Path, ext: str) -> None:
    y = tone(1000.0, 2.0, SR)
    path = audio.save(tmp_path / f"tone.{ext}", y, sample_rate=SR, bitrate_bps=64000)
    facts = audio.info(path)
    assert abs(facts.duration_s - 2.0) < 0.05, facts
    z = audio.load(path, sample_rate=22050)
    assert abs(z.shape[0] / 22050 - 2.0) < 0.05
    assert z.dtype == np.float32
    assert abs(dominant_freq_hz(z, 22050) - 1000.0) < 5.0
    if ext not in LOSSY:
        zz = audio.load(path, sample_rate=SR)
        assert np.max(np.abs(zz[: y.shape[0]] - y)) < 1e-3


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_wav_sample_formats(tmp_path: Path, subtype: str) -> None:
    y = chirp(200.0, 3000.0, 1.0, SR)
    path = tmp_path / f"c_{subtype}.wav"
    sf.write(path, y, SR, subtype=subtype)
    z = audio.load(path, sample_rate=SR)
    tolerance = 1e-2 if subtype == "PCM_U8" else 1e-4
    assert z.shape == y.shape
    assert np.max(np.abs(z - y)) < tolerance


def test_multichannel_is_downmixed(tmp_path: Path) -> None:
    left, right = tone(440.0, 1.0, 48000), tone(440.0, 1.0, 48000)
    six = np.stack([left, right, left, right, np.zeros_like(left), np.zeros_like(left)], axis=1)
    path = tmp_path / "six.wav"
    sf.write(path, six, 48000, subtype="PCM_16")
    assert audio.info(path).channels == 6
    z = audio.load(path, sample_rate=16000)
    assert z.shape == (16000,)
    assert abs(dominant_freq_hz(z, 16000) - 440.0) < 3.0
    np.testing.assert_allclose(np.max(np.abs(z)), 0.3 * 4 / 6, rtol=0.02)


def test_resample_to_8k_keeps_pitch_after_mp3(tmp_path: Path) -> None:
    y = tone(1000.0, 3.0, 44100)
    path = audio.save(tmp_path / "t.mp3", y, sample_rate=44100, bitrate_bps=32000)
    z = audio.load(path, sample_rate=8000)
    assert abs(dominant_freq_hz(z, 8000) - 1000.0) < 3.0


def test_long_file_is_decoded_in_blocks(tmp_path: Path, rng: np.random.Generator) -> None:
    n = audio_decode.BLOCK_FRAMES * 3 + 123
    y = (0.1 * rng.standard_normal(n)).astype(np.float32)
    path = tmp_path / "long.flac"
    sf.write(path, y, 48000, subtype="PCM_24")
    z = audio.load(path, sample_rate=48000)
    assert z.shape == (n,)
    z16 = audio.load(path, sample_rate=16000)
    assert abs(z16.shape[0] - n / 3) <= 2


@pytest.mark.parametrize("codec", ["mp3", "aac", "opus"])
def test_transcode_keeps_length_and_alignment(codec: str) -> None:
    y = chirp(300.0, 3000.0, 2.0, SR)
    z = audio.transcode(y, sample_rate=SR, codec=codec, bitrate_bps=32000)
    assert z.shape == y.shape
    assert np.corrcoef(y, z)[0, 1] > 0.9


def _make_bad(kind: str, tmp_path: Path) -> Path:
    p = tmp_path / f"bad_{kind}.wav"
    if kind == "missing":
        return tmp_path / "nope.wav"
    if kind == "directory":
        d = tmp_path / "adir.wav"
        d.mkdir()
        return d
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "not-audio":
        p = tmp_path / "notes.txt"
        p.write_text("this is a text file, not audio\n" * 20)
    elif kind == "truncated-header":
        good = tmp_path / "good.wav"
        sf.write(good, tone(440.0, 1.0), SR, subtype="PCM_16")
        p.write_bytes(good.read_bytes()[:20])
    elif kind == "zero-samples":
        sf.write(p, np.zeros(0, np.float32), SR, subtype="PCM_16")
    elif kind == "nan":
        y = tone(440.0, 0.5)
        y[100] = np.nan
        sf.write(p, y, SR, subtype="FLOAT")
    elif kind == "inf":
        y = tone(440.0, 0.5)
        y[7] = np.inf
        sf.write(p, y, SR, subtype="FLOAT")
    return p


@pytest.mark.parametrize(
    "kind, message",
    [
        ("missing", "file not found"),
        ("directory", "is a directory"),
        ("empty", "file is empty"),
        ("not-audio", "not an audio file"),
        ("truncated-header", "truncated or corrupt"),
        ("zero-samples", "no audio samples"),
        ("nan", "NaN or infinite"),
        ("inf", "NaN or infinite"),
    ],
)
def test_bad_input_names_the_problem(tmp_path: Path, kind: str, message: str) -> None:
    path = _make_bad(kind, tmp_path)
    with pytest.raises(AudioError, match=message):
        audio.load(path, sample_rate=SR)


def test_too_long_names_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    sf.write(path, tone(440.0, 3.0), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"maximum of 2 s; cut it into shorter files"):
        audio.load(path, sample_rate=SR, max_duration_s=2.0)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"sample_rate": 0}, ParameterError, "sample_rate must be within"),
        ({"sample_rate": 16000.5}, ParameterError, "must be an integer"),
        ({"sample_rate": True}, ParameterError, "must be an integer"),
        ({"sample_rate": 16000, "max_duration_s": 0}, ParameterError, "max_duration_s must be > 0"),
    ],
)
def test_bad_parameters(tmp_path: Path, kwargs: dict, error: type, message: str) -> None:
    path = tmp_path / "t.wav"
    sf.write(path, tone(440.0, 0.5), SR)
    with pytest.raises(error, match=message):
        audio.load(path, **kwargs)


@pytest.mark.parametrize(
    "y, message",
    [
        (np.zeros((2, 10), np.float32), "must be mono"),
        (np.array([0.0, np.nan], np.float32), "NaN or infinite"),
        (np.zeros(10, np.int16), "floating point"),
        ([0.0, 0.1], "numpy array"),
        (np.zeros(0, np.float32), "at least 1"),
    ],
)
def test_valid_audio_rejects(y: object, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        audio.valid_audio(y, sample_rate=SR)


def test_save_rejects_unknown_extension_and_missing_folder(tmp_path: Path) -> None:
    y = tone(440.0, 0.2)
    with pytest.raises(AudioError, match="cannot write '.xyz'"):
        audio.save(tmp_path / "a.xyz", y, sample_rate=SR)
    with pytest.raises(AudioError, match="output folder"):
        audio.save(tmp_path / "no" / "a.wav", y, sample_rate=SR)
    with pytest.raises(AudioError, match="no extension"):
        audio.save(tmp_path / "noext", y, sample_rate=SR)


def test_raw_aac_duration_is_counted_not_guessed(tmp_path: Path, rng: np.random.Generator) -> None:
    # raw ADTS has no length field; ffmpeg's guess from the first frames' bitrate is off
    # when the bitrate changes (quiet start, loud rest)
    y = np.concatenate([1e-4 * rng.standard_normal(SR), 0.3 * rng.standard_normal(3 * SR)]).astype(np.float32)
    path = audio.save(tmp_path / "a.aac", y, sample_rate=SR)
    decoded = audio.load(path, sample_rate=SR).shape[0] / SR
    assert abs(audio.info(path).duration_s - decoded) < 0.01 and abs(decoded - 4.0) < 0.1


def test_mp4_without_audio_track_is_refused(tmp_path: Path) -> None:
    import av

    path = tmp_path / "video.mp4"
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError, match="no audio track"):
        audio.info(path)


def test_text_named_mp3_is_refused_quietly(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    path = tmp_path / "fake.mp3"
    path.write_text("not audio at all\n" * 40)
    with pytest.raises(AudioError, match="not an audio file"):
        audio.load(path, sample_rate=SR)
    assert "MPEG" not in capfd.readouterr().err


def test_truncated_mp3_is_an_error_naming_both_lengths(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    # libsndfile took the length from the Xing header and filled the missing tail with
    # leftover memory (scores that changed from run to run, NaN); ffmpeg stops at the cut, and
    # the Xing header's byte count tells that the file was cut
    whole = audio.save(tmp_path / "whole.mp3", chirp(200.0, 3000.0, 6.0), sample_rate=SR)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    for read in (audio.info, lambda p: audio.load(p, sample_rate=SR)):
        with pytest.raises(AudioError, match=r"cut\.mp3: truncated \(header promises 6\.0\d\d s, holds 1\.9\d\d s\)"):
            read(cut)
    assert "Xing" not in capfd.readouterr().err
    assert abs(audio.info(whole).duration_s - 6.0) < 0.1


def test_empty_path_and_broken_link_are_named(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="empty path"):
        audio.load("", sample_rate=SR)
    link = tmp_path / "dead.wav"
    link.symlink_to(tmp_path / "gone.wav")
    with pytest.raises(AudioError, match="dead.wav: a symbolic link that leads to no file"):
        audio.load(link, sample_rate=SR)


def test_long_ogg_is_written_and_read(tmp_path: Path, rng: np.random.Generator) -> None:
    # one write of ~a minute crashed libsndfile's Vorbis encoder; blocks must not
    y = (0.1 * rng.standard_normal(44100 * 70)).astype(np.float32)
    path = audio.save(tmp_path / "long.ogg", y, sample_rate=44100)
    assert abs(audio.info(path).duration_s - 70.0) < 0.05


def _wav_bytes(y: np.ndarray, tmp_path: Path) -> bytes:
    path = tmp_path / "whole.wav"
    audio.save(path, y, sample_rate=16000)
    return path.read_bytes()


def _data_size_at(data: bytes) -> int:
    """Offset of the data chunk's size field."""
    return data.index(b"data") + 4


def test_truncated_wav_is_an_error_naming_both_lengths(tmp_path: Path) -> None:
    info, load = audio.info, audio.load
    whole = _wav_bytes(np.zeros(32000, dtype=np.float32) + 0.1, tmp_path)  # 2 s of 16-bit PCM
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:len(whole) // 2])
    for read in (info, lambda p: load(p, sample_rate=16000)):
        with pytest.raises(AudioError, match=r"cut\.wav: truncated \(header promises 2\.000 s, holds 0\.99\d s\)"):
            read(cut)
    one_byte_short = tmp_path / "short.wav"
    one_byte_short.write_bytes(whole[:-1])
    with pytest.raises(AudioError, match="truncated"):
        info(one_byte_short)


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0x7FFFF000, 0])  # 0: libsndfile reads no samples; PyAV reads them
def test_streamed_wav_without_a_length_is_read_whole(tmp_path: Path, size: int) -> None:
    info, load = audio.info, audio.load
    data = bytearray(_wav_bytes(np.full(16000, 0.1, dtype=np.float32), tmp_path))
    at = _data_size_at(data)
    data[at:at + 4] = size.to_bytes(4, "little")  # what a writer that cannot seek leaves
    data[4:8] = size.to_bytes(4, "little")
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(data))
    assert info(path).frames == 16000 and load(path, sample_rate=16000).shape == (16000,)


def test_wav_with_a_chunk_after_the_data_is_whole(tmp_path: Path) -> None:
    info = audio.info
    data = bytearray(_wav_bytes(np.full(16000, 0.1, dtype=np.float32), tmp_path))
    extra = b"LIST" + (5).to_bytes(4, "little") + b"INFOx" + b"\x00"  # odd size, padded
    data += extra
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    path = tmp_path / "tagged.wav"
    path.write_bytes(bytes(data))
    assert info(path).frames == 16000


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_a_file_name_that_is_not_utf8_is_written_and_read(tmp_path: Path, ext: str) -> None:
    import os

    from guard.audio import info, load, save

    name = tmp_path / os.fsdecode(b"caf\xe9." + ext.encode())  # a Latin-1 name, legal on Linux
    y = (0.1 * np.sin(np.arange(16000) * 0.05)).astype(np.float32)
    save(name, y, sample_rate=16000)
    assert info(name).sample_rate == 16000 and load(name, sample_rate=16000).shape[0] >= 15000


def test_channels_that_cancel_are_not_averaged_into_silence(tmp_path: Path) -> None:
    import soundfile as sf

    from guard.audio import load

    voice = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    inverted = tmp_path / "inverted.wav"
    sf.write(inverted, np.stack([voice, -voice], axis=1), 16000, subtype="PCM_16")
    y = load(inverted, sample_rate=16000)
    assert np.sqrt(np.mean(y ** 2)) > 0.2  # the speech of one channel, not the silence of their mean
    plain = tmp_path / "plain.wav"
    sf.write(plain, np.stack([voice, 0.5 * voice], axis=1), 16000, subtype="PCM_16")
    np.testing.assert_allclose(load(plain, sample_rate=16000), 0.75 * voice, atol=2e-4)  # ordinary stereo: the mean
