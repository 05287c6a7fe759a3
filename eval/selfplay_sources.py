"""Real speech for the self-play corpus: the source folders, their speakers, the speaker split and crops.

Also the Asterisk prompt texts, which the ``espeak`` family reads.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guard.audio import is_audio_path
from guard.walk import files_under

DEFAULT_LIBRISPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample"
DEFAULT_ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
FALLBACK_TEXTS = (
    "Please hold while we connect your call to the next available agent.",
    "The meeting has been moved to Thursday afternoon at three o'clock.",
    "I never said that she stole the money from the bank account.",
    "Your verification code is four seven one nine two.",
    "We will be closed on Monday for the public holiday.",
    "Could you send me the report before the end of the day?",
)


@dataclass(frozen=True)
class Source:
    """One real recording: where it is, who speaks, and a prefix for the names of its clips."""

    path: Path
    speaker: str
    prefix: str = ""


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
