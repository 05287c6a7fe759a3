"""`voiceguard bench false-alarms`: how often the detector calls real speech synthetic, voice by voice.

A voice is a folder holding at least ``--min-files`` audio files of one speaker (Debian's
``klettres-data`` and ``ktuberling-data`` hold letters, syllables and words read by native
speakers of about 25 languages, one speaker per folder; the Asterisk prompt packages one
voice each). Its files are drawn in a seeded order and joined, 0.2 s of silence after each,
into clips of at least ``--clip-s`` seconds (words are too short to score one by one), up to
``--clips`` clips per voice. Every clip is real speech, so every clip at ``p_synthetic >=
--threshold`` is a false alarm. Unreadable files are named on stderr and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from guard.audio import is_audio_path, load
from guard.cliutil import (
    FiniteFloat,
    OutputFolder,
    emit_json,
    input_path,
    json_option,
    progress,
    quiet_option,
    say,
    seed_option,
    to_json,
)
from guard.errors import DatasetError, GuardError
from guard.walk import files_under

RATE = 16000
PAUSE_S = 0.2
DEFAULT_ROOTS = (Path("/usr/share/klettres"), Path("/usr/share/ktuberling"))


@dataclass(frozen=True)
class Voice:
    """One speaker's folder and its audio files (sorted)."""

    name: str
    files: tuple[Path, ...]


def audio_files(folder: Path) -> tuple[Path, ...]:
    """The audio files directly in ``folder`` (not in its sub-folders), sorted."""
    return tuple(sorted(p for p in folder.iterdir() if p.is_file() and is_audio_path(p)))


def find_voices(roots: list[Path], *, min_files: int) -> list[Voice]:
    """Every folder under ``roots`` with at least ``min_files`` audio files directly in it.

    Parameters
    ----------
    roots : list of Path
        Folders to search (recursively); overlapping roots give each folder once.
    min_files : int >= 1
        Audio files a folder needs to count as a voice.

    Returns
    -------
    list of Voice
        Sorted by folder; each named by its path from its root's parent (``klettres/fr/alpha``).

    Raises
    ------
    DatasetError
        A root is not a folder, or no folder qualifies.
    """
    seen: set[Path] = set()
    voices = []
    for root in roots:
        if not root.is_dir():
            raise DatasetError(f"{root}: no such folder of real speech")
        root = root.resolve()
        folders = sorted({p.parent for p in files_under(root) if p.is_file() and is_audio_path(p)})
        for folder in folders:
            files = audio_files(folder)
            if len(files) >= min_files and folder not in seen:
                seen.add(folder)
                voices.append(Voice(str(folder.relative_to(root.parent)), files))
    if not voices:
        raise DatasetError(f"no folder with {min_files} or more audio files under {', '.join(map(str, roots))}")
    return voices


def voice_clips(voice: Voice, *, clip_s: float, max_clips: int, seed: int,
                on_unreadable: Callable[[Path, str], None] | None = None) -> list[np.ndarray]:
    """Clips of one voice: its files in a seeded order, each followed by 0.2 s of silence, joined.

    Parameters
    ----------
    voice : Voice
    clip_s : float > 0
        A clip is closed as soon as it reaches this many seconds (its last pause included).
    max_clips : int >= 1
    seed : int
        Seeds the order of the files.
    on_unreadable : callable (path, message) or None
        Called for every file that cannot be read; the file is skipped.

    Returns
    -------
    list of np.ndarray [shape=(n,), n >= clip_s * RATE, dtype=float32]
        At most ``max_clips``, at :data:`RATE`; a last clip shorter than ``clip_s`` is dropped.
    """
    rng = np.random.default_rng(seed)
    pause = np.zeros(int(PAUSE_S * RATE), np.float32)
    clips, parts, length = [], [], 0
    for i in rng.permutation(len(voice.files)):
        try:
            y = load(voice.files[i], sample_rate=RATE)
        except GuardError as exc:
            if on_unreadable is not None:
                on_unreadable(voice.files[i], str(exc))
            continue
        parts += [y, pause]
        length += y.shape[0] + pause.shape[0]
        if length >= clip_s * RATE:
            clips.append(np.concatenate(parts))
            parts, length = [], 0
            if len(clips) >= max_clips:
                break
    return clips


def run(roots: list[Path], *, model: Path | None, min_files: int, clip_s: float, max_clips: int, threshold: float,
        seed: int, quiet: bool) -> dict:
    """Score every voice's clips with the detector (the calling thread's torch settings).

    Parameters
    ----------
    roots, min_files
        See :func:`find_voices`.
    model : Path or None
        Detector model file; None for the shipped one.
    clip_s, max_clips, seed
        See :func:`voice_clips`.
    threshold : float in [0, 1]
        A clip is flagged at ``p_synthetic >= threshold``.
    quiet : bool
        No progress or messages on stderr.

    Returns
    -------
    dict
        ``voices`` (per voice: ``voice``, ``clips``, ``flagged``, ``rate``, ``median_p``; rate and
        median None for a voice too short for one clip), pooled ``clips``, ``flagged``,
        ``pooled_rate``, ``unreadable`` (file and error of each skipped file) and the settings.

    Raises
    ------
    DatasetError
        No voice qualifies, or no clip at all could be made (every file unreadable or too short).
    """
    from guard.detect import load_model

    detector = load_model(model)
    voices = find_voices(roots, min_files=min_files)
    unreadable: list[dict[str, str]] = []

    def note(path: Path, message: str) -> None:
        unreadable.append({"file": str(path), "error": message})
        say(f"skipped unreadable {message}" if message.startswith(f"{path}:") else f"skipped unreadable {path}: {message}",
            quiet=quiet)

    rows = []
    for voice in progress(voices, silent=quiet, desc="voices"):
        clips = voice_clips(voice, clip_s=clip_s, max_clips=max_clips, seed=seed, on_unreadable=note)
        p = np.array([detector.score(y, sample_rate=RATE).p_synthetic for y in clips])
        rows.append({"voice": voice.name, "clips": int(p.size), "flagged": int((p >= threshold).sum()),
                     "rate": round(float(np.mean(p >= threshold)), 4) if p.size else None,
                     "median_p": round(float(np.median(p)), 4) if p.size else None})
    clips_total = sum(r["clips"] for r in rows)
    if clips_total == 0:
        raise DatasetError(f"no clip of {clip_s:g} s could be made from {len(voices)} voice folders "
                           f"({len(unreadable)} unreadable files)")
    flagged = sum(r["flagged"] for r in rows)
    return {"model": str(model) if model else "shipped", "threshold": threshold, "clip_s": clip_s, "seed": seed,
            "voices": rows, "clips": clips_total, "flagged": flagged,
            "pooled_rate": round(flagged / clips_total, 4), "unreadable": unreadable}


def plot(results: dict, path: Path) -> Path:
    """Bar chart of the false-alarm rate of every voice (those with clips), the pooled rate as a line; returns ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["voices"] if r["clips"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * len(rows) + 2), 4))
    ax.bar(range(len(rows)), [100 * r["rate"] for r in rows], color="tab:red")
    ax.axhline(100 * results["pooled_rate"], color="black", linestyle="--", label=f"pooled {100 * results['pooled_rate']:.1f}%")
    ax.legend()
    ax.set_xticks(range(len(rows)), [r["voice"] for r in rows], rotation=90, fontsize=7)
    ax.set_ylabel(f"clips with p_synthetic >= {results['threshold']} (%)")
    ax.set_ylim(0, 100)
    ax.set_title("False alarms on real speech, by voice")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@click.command("false-alarms")
@click.option("--root", "roots", multiple=True, type=input_path(),
              help="Folder of real speech (repeatable); default: Debian's klettres-data and ktuberling-data.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Detector model (default: shipped).")
@click.option("--min-files", type=click.IntRange(1, None), default=25, show_default=True, help="Audio files a folder needs to count as a voice.")
@click.option("--clip-s", type=FiniteFloat(1.0, 60.0), default=3.0, show_default=True, help="Shortest joined clip, seconds.")
@click.option("--clips", "max_clips", type=click.IntRange(1, None), default=20, show_default=True, help="Clips per voice at most.")
@click.option("--threshold", type=FiniteFloat(0.0, 1.0), default=0.5, show_default=True, help="p_synthetic at which a clip is flagged.")
@click.option("--out", "out_dir", type=OutputFolder(), default=None,
              help="Write results.json and false_alarms.png here.")
@seed_option
@json_option
@quiet_option
def command(roots: tuple[Path, ...], model: Path | None, min_files: int, clip_s: float, max_clips: int, threshold: float,
            out_dir: Path | None, seed: int, as_json: bool, quiet: bool) -> None:
    """False-alarm rate of the detector on real speech, per voice and pooled; bar chart and JSON."""
    import torch

    torch.set_num_threads(1)
    silent = quiet or as_json
    if not roots:
        roots = tuple(r for r in DEFAULT_ROOTS if r.is_dir())
        if not roots:
            raise DatasetError("no real speech to test: install klettres-data and ktuberling-data, or give --root DIR")
    results = run(list(roots), model=model, min_files=min_files, clip_s=clip_s, max_clips=max_clips,
                  threshold=threshold, seed=seed, quiet=silent)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(to_json(results, indent=2))
        plot(results, out_dir / "false_alarms.png")
        say(f"wrote {out_dir / 'results.json'} and {out_dir / 'false_alarms.png'}", quiet=silent)
    if as_json:
        emit_json(results)
        return
    for r in results["voices"]:
        rate = "-" if r["rate"] is None else f"{100 * r['rate']:5.1f}%"
        say(f"{r['voice']:40s} {r['clips']:4d} clips  flagged {rate}", quiet=quiet)
    say(f"pooled: {results['flagged']} of {results['clips']} clips flagged ({100 * results['pooled_rate']:.1f}%); "
        f"unreadable files skipped: {len(results['unreadable'])}", quiet=quiet)
