"""Enrollment recordings: find audio + transcript pairs in a folder and check each one.

Every problem is collected and reported in one error that names each bad file and what is
wrong with it, so a speaker fixes a session in one go instead of one file per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guard.audio import info, is_audio_path, load
from guard.errors import AudioError, CloneError

MIN_SAMPLE_RATE = 8000
MIN_CLIP_S = 0.5
CLIP_LEVEL = 0.999
MAX_CLIPPED_FRACTION = 0.001
MIN_SPEECH_DBFS = -40.0
MIN_SNR_DB = 15.0
FRAME_S = 0.02
# A frame counts as speech when it is within this many dB of the loud (95th percentile) frames.
SPEECH_RANGE_DB = 35.0


@dataclass(frozen=True)
class Recording:
    """One checked recording.

    Attributes
    ----------
    name : str
        File stem, shared by the audio and its ``.txt``.
    audio_path, transcript_path : Path
    text : str
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``sample_rate``.
    sample_rate : int
        The rate ``y`` was loaded at.
    original_rate : int
        The file's own rate.
    speech_s : float
        Seconds of frames within :data:`SPEECH_RANGE_DB` of the loud ones.
    """

    name: str
    audio_path: Path
    transcript_path: Path
    text: str
    y: np.ndarray
    sample_rate: int
    original_rate: int
    speech_s: float


def frame_levels_db(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """RMS level in dBFS of consecutive :data:`FRAME_S` frames [shape=(n_frames,)]; floor -120."""
    hop = max(1, int(FRAME_S * sample_rate))
    n = y.shape[0] // hop
    if n == 0:
        return np.full(1, -120.0)
    frames = y[: n * hop].reshape(n, hop).astype(np.float64)
    return 10.0 * np.log10(np.maximum(np.mean(frames**2, axis=1), 1e-12))


def speech_seconds(y: np.ndarray, *, sample_rate: int) -> float:
    """Seconds of speech-level frames in ``y`` (see :data:`SPEECH_RANGE_DB`)."""
    levels = frame_levels_db(y, sample_rate=sample_rate)
    loud = np.percentile(levels, 95)
    return float(np.sum(levels > max(loud - SPEECH_RANGE_DB, -70.0)) * FRAME_S)


def quality_problem(y: np.ndarray, *, sample_rate: int) -> str | None:
    """What is wrong with a recording's level, clipping or noise, or None when it is usable."""
    duration_s = y.shape[0] / sample_rate
    if duration_s < MIN_CLIP_S:
        return f"only {duration_s:.2f} s long (need >= {MIN_CLIP_S} s)"
    clipped = float(np.mean(np.abs(y) >= CLIP_LEVEL))
    if clipped > MAX_CLIPPED_FRACTION:
        return f"clipped ({100 * clipped:.2f}% of samples at full scale); record with lower gain"
    levels = frame_levels_db(y, sample_rate=sample_rate)
    loud, floor = float(np.percentile(levels, 95)), float(np.percentile(levels, 10))
    if loud < MIN_SPEECH_DBFS:
        return f"too quiet (speech at {loud:.1f} dBFS, need >= {MIN_SPEECH_DBFS:g} dBFS)"
    if loud - floor < MIN_SNR_DB:
        return (f"too noisy (noise floor {floor:.1f} dBFS is only {loud - floor:.1f} dB below the speech, "
                f"need >= {MIN_SNR_DB:g} dB)")
    return None


def _unnamed_audio(files: list[Path]) -> list[str]:
    """A problem for each file with no extension beside a same-name .txt: a take saved without its extension,
    which would otherwise be passed over as not audio."""
    names = {p.name for p in files}
    return [f"{p.name}: has no extension, so it is not read as audio (its transcript {p.name}.txt is there); name it "
            f"{p.name}.wav, {p.name}.flac, ... for its format" for p in files if not p.suffix and f"{p.name}.txt" in names]


def _missing_transcript(audio: Path, files: list[Path]) -> str:
    """The problem of ``audio`` without its .txt, naming a same-name transcript whose extension differs in case."""
    txt = audio.with_suffix(".txt")
    other = next((p for p in files if p.stem == audio.stem and p.suffix.lower() == ".txt"), None)
    hint = f" ({other.name} is there: rename it {txt.name}, the extension in lower case)" if other else ""
    return f"{audio.name}: transcript {txt.name} is missing{hint}"


def read_recordings(folder: Path, *, sample_rate: int | None = None) -> list[Recording]:
    """Load and check every audio file in ``folder`` with its same-name ``.txt`` transcript.

    Parameters
    ----------
    folder : Path
        Holds ``a.wav`` + ``a.txt``, ``b.flac`` + ``b.txt``, ...
    sample_rate : int, optional
        Rate to load at; default: 16000 when every file has at least 16 kHz, else 8000.

    Raises
    ------
    CloneError
        No such folder, no audio in it, or any bad file: missing or empty transcript (one whose
        extension differs only in case, ``01.TXT``, is named), an audio file with no extension
        beside a same-name ``.txt``, unreadable audio, a rate under 8 kHz, too short, clipped,
        too quiet or too noisy. The message names every bad file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CloneError(f"recordings folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file())
    audio_paths = [p for p in files if is_audio_path(p)]
    problems = _unnamed_audio(files)
    if not audio_paths and not problems:
        raise CloneError(f"{folder}: no audio files (wav, flac, mp3, ...) with .txt transcripts found")
    rates: dict[Path, int] = {}
    texts: dict[Path, str] = {}
    for path in audio_paths:
        txt = path.with_suffix(".txt")
        if not txt.is_file():
            problems.append(_missing_transcript(path, files))
            continue
        try:
            text = " ".join(txt.read_text(encoding="utf-8").split())
        except UnicodeDecodeError:
            problems.append(f"{txt.name}: transcript is not UTF-8 text")
            continue
        if not any(ch.isalpha() for ch in text):
            problems.append(f"{txt.name}: transcript is empty")
            continue
        try:
            facts = info(path)
        except AudioError as exc:
            problems.append(f"{path.name}: unreadable audio ({exc})")
            continue
        if facts.sample_rate < MIN_SAMPLE_RATE:
            problems.append(f"{path.name}: sample rate {facts.sample_rate} Hz is below {MIN_SAMPLE_RATE} Hz")
            continue
        rates[path], texts[path] = facts.sample_rate, text
    if sample_rate is None:
        sample_rate = 16000 if rates and min(rates.values()) >= 16000 else 8000
    out: list[Recording] = []
    for path in rates:
        try:
            y = load(path, sample_rate=sample_rate, max_duration_s=120.0)
        except AudioError as exc:
            problems.append(f"{path.name}: unreadable audio ({exc})")
            continue
        problem = quality_problem(y, sample_rate=sample_rate)
        if problem:
            problems.append(f"{path.name}: {problem}")
            continue
        out.append(Recording(path.stem, path, path.with_suffix(".txt"), texts[path], y, sample_rate,
                             rates[path], speech_seconds(y, sample_rate=sample_rate)))
    if problems:
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise CloneError(f"{len(problems)} bad recording(s) in {folder}: {shown}")
    return out
