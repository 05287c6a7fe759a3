"""Enrollment recordings: pairing with transcripts and every per-file check, each bad file named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cloner import recordings
from guard.errors import CloneError

SR = 16000


def _write(folder: Path, name: str, y: np.ndarray, text: str | None = "A sentence to read.", rate: int = SR) -> None:
    sf.write(folder / f"{name}.wav", y, rate, subtype="PCM_16" if np.max(np.abs(y)) <= 1 else "FLOAT")
    if text is not None:
        (folder / f"{name}.txt").write_text(text)


def test_good_folder_loads(tmp_path: Path, speech: np.ndarray) -> None:
    _write(tmp_path, "a", speech)
    _write(tmp_path, "b", speech, text="  Another\n sentence. ")
    (tmp_path / "notes.md").write_text("ignored")
    recs = recordings.read_recordings(tmp_path)
    assert [r.name for r in recs] == ["a", "b"]
    assert recs[1].text == "Another sentence."
    assert recs[0].sample_rate == SR and recs[0].original_rate == SR
    assert 1.5 < recs[0].speech_s <= speech.shape[0] / SR


def test_rate_chosen_from_the_lowest_file(tmp_path: Path, speech: np.ndarray) -> None:
    from guard.audio import resample

    _write(tmp_path, "a", speech)
    _write(tmp_path, "b", resample(speech, orig_sr=SR, target_sr=11025), rate=11025)
    recs = recordings.read_recordings(tmp_path)
    assert {r.sample_rate for r in recs} == {8000}


def _bad(kind: str, speech: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray | bytes, str | None, int]:
    if kind == "missing transcript":
        return speech, None, SR
    if kind == "empty transcript":
        return speech, "  \n", SR
    if kind == "unreadable audio":
        return b"this is not audio at all" * 10, "text", SR
    if kind == "low rate":
        return speech[::3].copy(), "text", 6000
    if kind == "clipped":
        return np.clip(speech * 20, -1, 1), "text", SR
    if kind == "too quiet":
        return speech * 0.002, "text", SR
    if kind == "too noisy":
        return (speech + 0.2 * rng.standard_normal(speech.shape[0])).astype(np.float32) * 0.5, "text", SR
    if kind == "too short":
        return speech[: SR // 4], "text", SR
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing transcript", "transcript bad.txt is missing"),
        ("empty transcript", "bad.txt: transcript is empty"),
        ("unreadable audio", "bad.wav: unreadable audio"),
        ("low rate", "bad.wav: sample rate 6000 Hz is below 8000 Hz"),
        ("clipped", "bad.wav: clipped"),
        ("too quiet", "bad.wav: too quiet"),
        ("too noisy", "bad.wav: too noisy"),
        ("too short", "bad.wav: only 0.25 s long"),
    ],
)
def test_each_bad_file_is_named(tmp_path: Path, speech: np.ndarray, rng: np.random.Generator, kind: str, message: str) -> None:
    _write(tmp_path, "good", speech)
    audio, text, rate = _bad(kind, speech, rng)
    if isinstance(audio, bytes):
        (tmp_path / "bad.wav").write_bytes(audio)
        (tmp_path / "bad.txt").write_text(text)
    else:
        _write(tmp_path, "bad", audio, text=text, rate=rate)
    with pytest.raises(CloneError, match="1 bad recording") as info:
        recordings.read_recordings(tmp_path)
    assert message in str(info.value)
    assert "good" not in str(info.value)


def test_all_bad_files_reported_together(tmp_path: Path, speech: np.ndarray) -> None:
    _write(tmp_path, "x1", speech, text=None)
    _write(tmp_path, "x2", speech * 0.001)
    with pytest.raises(CloneError, match="2 bad recording") as info:
        recordings.read_recordings(tmp_path)
    assert "x1.wav" in str(info.value) and "x2.wav" in str(info.value)


def test_non_utf8_transcript(tmp_path: Path, speech: np.ndarray) -> None:
    _write(tmp_path, "a", speech, text=None)
    (tmp_path / "a.txt").write_bytes(b"\xff\xfe\xfa broken")
    with pytest.raises(CloneError, match="a.txt: transcript is not UTF-8"):
        recordings.read_recordings(tmp_path)


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CloneError, match="does not exist"):
        recordings.read_recordings(tmp_path / "nope")
    (tmp_path / "only.txt").write_text("text without audio")
    with pytest.raises(CloneError, match="no audio files"):
        recordings.read_recordings(tmp_path)


def test_quality_problem_accepts_clean_speech(speech: np.ndarray) -> None:
    assert recordings.quality_problem(speech, sample_rate=SR) is None
    assert recordings.speech_seconds(np.zeros(SR, np.float32), sample_rate=SR) == 0.0
