"""Clip sets of `voiceguard bench watermark`: espeak-ng speech, a folder of real speech, unmarked non-speech.

All at :data:`RATE` (16 kHz). voiceguard's own clones (``--cloned``) are in :mod:`eval.cloned_clips`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from guard.errors import DatasetError

RATE = 16000
SENTENCES = {
    "en-us": ["Every clip we make carries a mark and a signed record.",
              "The committee will meet again on Thursday to review the budget.",
              "Please leave your message after the tone and we will call you back.",
              "A cold front is moving in from the west, bringing rain tonight."],
    "en": ["Seven small boats sailed past the harbour wall at dawn.",
           "She counted the coins twice before paying for the bread.",
           "The museum opens at ten and closes early on Sundays."],
    "de": ["Der Zug nach Berlin fährt heute zwanzig Minuten später ab.",
           "Wir treffen uns morgen früh vor dem alten Rathaus."],
    "fr": ["Le marché du samedi attire beaucoup de monde en été.",
           "Nous avons perdu nos clés près de la gare centrale."],
    "es": ["La biblioteca estará cerrada durante las vacaciones de invierno.",
           "Mi hermano prepara una sopa de verduras cada domingo."],
}


def espeak_clips(n_clips: int, *, duration_s: float, seed: int) -> Iterator[tuple[str, np.ndarray]]:
    """``n_clips`` clips of espeak-ng speech, each ``duration_s`` long, in varied voices and languages."""
    from cloner.tts import synthesize

    rng = np.random.default_rng(seed)
    voices = sorted(SENTENCES)
    n = int(round(duration_s * RATE))
    for i in range(n_clips):
        voice = voices[i % len(voices)]
        rate_wpm, pitch = int(rng.integers(140, 200)), int(rng.integers(25, 75))
        parts, total = [], 0
        while total < n:
            text = SENTENCES[voice][int(rng.integers(len(SENTENCES[voice])))]
            part = synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch, sample_rate=RATE)
            parts.append(part)
            total += part.shape[0]
        yield f"espeak-{i:03d}-{voice}", np.concatenate(parts)[:n]


MIN_SOURCE_S = 1.0  # a --clips file shorter than this is skipped, not looped into a "speech" clip


def folder_clips(folder: Path, n_clips: int, *, duration_s: float, seed: int,
                 on_skip: Callable[[Path, str], None] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Up to ``n_clips`` files of ``folder`` (seeded order), each looped or cut to ``duration_s``.

    A file that cannot be used (unreadable, empty, NaN, not audio, shorter than
    :data:`MIN_SOURCE_S`, or silent, so that there is nothing to mark) is skipped, reported
    through ``on_skip(path, reason)``, and the next file in the seeded order is drawn in its
    place, so that ``n_clips`` clips are made while the folder has enough usable files.

    Parameters
    ----------
    folder : Path
        Searched recursively for files with an audio extension.
    n_clips : int >= 1
    duration_s : float > 0
    seed : int >= 0
        Chooses the order in which files are drawn.
    on_skip : callable, optional
        Called with the path and the reason of every file skipped.

    Yields
    ------
    name : str
        The file's path relative to ``folder``.
    y : np.ndarray [shape=(round(duration_s * 16000),), dtype=float32]

    Raises
    ------
    DatasetError
        When the folder holds no audio file, or no usable one.
    """
    from guard.audio import load
    from guard.detect.data import audio_files
    from guard.errors import GuardError

    files = audio_files(Path(folder))  # broken links included, so that they are skipped by name
    if not files:
        raise DatasetError(f"{folder}: no audio files found (wav, flac, mp3, ogg, opus, m4a, webm)")
    order = np.random.default_rng(seed).permutation(len(files))
    n = int(round(duration_s * RATE))
    made = skipped = 0
    for idx in order:
        if made == n_clips:
            return
        path = files[idx]
        try:
            y = load(path, sample_rate=RATE)
        except GuardError as exc:
            reason = str(exc).replace(f"{path}: ", "")
        else:
            clip = np.tile(y, int(np.ceil(n / y.shape[0])))[:n] if y.shape[0] else y
            if y.shape[0] < MIN_SOURCE_S * RATE:
                reason = f"{y.shape[0] / RATE:.3f} s long; a clip needs at least {MIN_SOURCE_S:g} s of speech to loop"
            elif _nothing_to_mark(clip):  # the clip as cut: speech after --duration does not count
                reason = (f"silent in its first {duration_s:g} s: nothing to mark (no speech-band energy above "
                          f"-75 dBFS)")
            else:
                made += 1
                yield str(path.relative_to(folder)), clip
                continue
        skipped += 1
        if on_skip is not None:
            on_skip(path, reason)
    if made == 0:
        what = "its one audio file" if len(files) == 1 else f"its {len(files)} audio files"
        raise DatasetError(f"{folder}: none of {what} could be used; "
                           "pass a folder of speech recordings to --clips")


def _nothing_to_mark(y: np.ndarray) -> bool:
    """Whether the watermark finds nothing to mark in ``y`` (16 kHz): the test :func:`guard.watermark.embed` makes."""
    from guard.watermark import features

    return not features.markable(features.cell_log_power(features.analyse(y), 0)).any()


def other_signals(n: int, *, seed: int) -> Iterator[np.ndarray]:
    """Unmarked 3 s non-speech windows: white/pink noise, tones, chirps, music-like notes."""
    rng = np.random.default_rng(seed)
    m = 3 * RATE
    t = np.arange(m) / RATE
    for i in range(n):
        kind = i % 4
        if kind == 0:
            y = rng.standard_normal(m) * (0.3 if i % 8 == 0 else 0.03)
            if i % 8 == 4:
                y = np.cumsum(y) * 0.01
        elif kind == 1:
            y = sum(0.2 / (k + 1) * np.sin(2 * np.pi * rng.uniform(100, 3000) * t) for k in range(3))
        elif kind == 2:
            f0, f1 = rng.uniform(100, 4000, 2)
            y = 0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / 6))
        else:  # notes of harmonic tones with decaying envelopes
            y = np.zeros(m)
            for start in range(0, m, m // 8):
                f = 110 * 2 ** (int(rng.integers(0, 36)) / 12)
                seg = np.arange(m - start) / RATE
                env = np.exp(-3 * seg)
                y[start:] += env * sum(0.1 / h * np.sin(2 * np.pi * h * f * seg) for h in range(1, 6))
        y = y - np.mean(y)
        yield (y / max(1.0, np.max(np.abs(y)) / 0.9)).astype(np.float32)
