"""The run of `voiceguard bench detect`: load a corpus, attack it, score it with the CNN and the LFCC-GMM baseline.

:func:`run` returns the results (rows from :mod:`eval.detect_rows`) and the DET score pairs.
A clip that cannot be used is named on stderr and skipped, never stopping the run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eval.detect_attacks import resolve_attacks
from eval.detect_rows import attack_table, codec_table, condition_line, scored_row
from guard.cliutil import progress, say
from guard.errors import DatasetError, GuardError

if TYPE_CHECKING:
    from eval.asv_trials import AsvScores
    from eval.baseline_gmm import GmmBaseline

SAMPLE_RATE = 16000
TRAIN_SPLITS = {"selfplay": "train", "asvspoof2019": "train", "asvspoof5": "train", "csv": "train"}


def _skip(skipped: list[dict] | None, path: object, exc: Exception | str, *, context: str = "") -> None:
    """Name a skipped file on stderr (even with -q) and record it as ``{"file", "reason"}``."""
    reason = str(exc)
    if reason.startswith(f"{path}: "):
        reason = reason[len(f"{path}: "):]
    say(f"skipped {path}{context}: {reason}")
    if skipped is not None:
        skipped.append({"file": str(path), "reason": reason})


def load_items(items: list, *, limit: int | None, rng: np.random.Generator, quiet: bool,
               skipped: list[dict] | None = None) -> list[tuple[object, np.ndarray]]:
    """Decode the items (subsampled per class to ``limit``).

    A file that does not decode, or is shorter than the detector's minimum
    (:data:`guard.detect.scoring.MIN_DURATION_S`), is named on stderr, appended to
    ``skipped`` as ``{"file", "reason"}`` and left out.
    """
    from guard.audio import load
    from guard.detect.scoring import MIN_DURATION_S

    min_samples = math.ceil(MIN_DURATION_S * SAMPLE_RATE)
    if limit:
        keep = []
        for label in ("bonafide", "spoof"):
            group = [it for it in items if it.label == label]
            keep += [group[i] for i in sorted(rng.permutation(len(group))[:limit])]
        items = keep
    clips = []
    for it in progress(items, silent=quiet, desc="loading"):
        try:
            y = load(it.path, sample_rate=SAMPLE_RATE)
        except GuardError as exc:
            _skip(skipped, it.path, exc)
            continue
        if y.shape[0] < min_samples:
            _skip(skipped, it.path, f"{y.shape[0] / SAMPLE_RATE:.3f} s, shorter than the detector's {MIN_DURATION_S} s")
            continue
        clips.append((it, y))
    return clips


def _score_condition(clips: list, attacked: list, score: Callable[[np.ndarray], float], *, label: str) -> tuple[np.ndarray, list[dict]]:
    """Score each attacked clip; a clip that fails (GuardError or a non-finite score) is named and
    skipped. Returns the scores (NaN where skipped) and the skipped files."""
    skipped: list[dict] = []
    out = np.full(len(clips), np.nan)
    for i, ((it, _), z) in enumerate(zip(clips, attacked)):
        if z is None:
            continue
        try:
            value = float(score(z))
        except GuardError as exc:
            _skip(skipped, it.path, exc, context=f" under {label}")
            continue
        if not np.isfinite(value):
            _skip(skipped, it.path, f"score is {value}", context=f" under {label}")
            continue
        out[i] = value
    return out, skipped


def _both_classes(clips: list, *, root: Path, what: str, skipped: list[dict], hint: str = "") -> None:
    for label in ("bonafide", "spoof"):
        if not any(it.label == label for it, _ in clips):
            why = f" after skipping {len(skipped)} unusable file(s)" if skipped else ""
            raise DatasetError(f"{root}: {what} has no {label} clips{why}{hint}")


def _no_train_split(dataset: str) -> str:
    return f"the {dataset} layout has no train split, so the LFCC-GMM baseline is not run"


def _csv_splits(root: Path) -> set[str]:
    """The values of a CSV's split column (empty when it has none)."""
    from eval.datasets import load_dataset

    rows = load_dataset("csv", root, warn=lambda message: None)  # loading the scored rows already warned
    return {it.split for it in rows} - {""}


def _train_is_scored(dataset: str, split: str | None, splits: set[str]) -> str:
    """The line saying the baseline is not run because the run scores its own training split, with the fix.

    ``splits`` are the corpus's splits; the fix names another one, the loader's default first.
    """
    from eval.datasets import DEFAULT_SPLITS

    train = TRAIN_SPLITS[dataset]
    noun = "rows" if dataset == "csv" else "files"
    scored = f"without --split all {noun} are" if split is None else f"with --split {split} the {split} {noun} are"
    others = sorted(splits - {train}, key=lambda s: (s != DEFAULT_SPLITS.get(dataset), s))
    fix = f"pass --split {others[0]}" if others else "give the rows to score a split of their own and pass it as --split"
    return (f"the {dataset} {train} {noun} would train the LFCC-GMM baseline, but {scored} scored, so it is not run "
            f"(its EER would be measured on its own training data); {fix}")


def _baseline_train_items(dataset: str, root: Path, split: str | None, *,
                          warn: Callable[[str], None]) -> tuple[list | None, str | None]:
    """The items the LFCC-GMM baseline trains on (the corpus's train split) and None, or None and why it is not run.

    One rule for every loader: the baseline is not run when the corpus has no train split,
    or when the scored split is the one it would train on (a CSV scored without ``--split``
    scores its train rows too).

    Raises
    ------
    DatasetError
        A corpus with a train split (ASVspoof 2019, ASVspoof 5, selfplay) whose train split cannot be read.
    """
    from eval.datasets import SPLITS, load_dataset, scored_split

    if dataset not in TRAIN_SPLITS:
        return None, _no_train_split(dataset)
    train = TRAIN_SPLITS[dataset]
    splits = _csv_splits(root) if dataset == "csv" else set(SPLITS[dataset])
    if train not in splits:
        return None, _no_train_split(dataset)
    if scored_split(dataset, split) in (train, "all"):
        return None, _train_is_scored(dataset, split, splits)
    try:
        items = load_dataset(dataset, root, train, warn=warn if dataset != "csv" else lambda message: None)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; the {train} split is needed for the LFCC-GMM baseline; pass --no-baseline") from None
    return items, None


def _train_baseline(train_items: list, *, dataset: str, root: Path, gmm_components: int, limit: int | None,
                    rng: np.random.Generator, seed: int, quiet: bool) -> tuple[GmmBaseline, dict]:
    """Load the baseline's training files (at most ``limit`` per class) and fit it; returns it and ``gmm_train``.

    Raises
    ------
    DatasetError
        The training files lack a class after skipping unusable ones.
    """
    from eval.baseline_gmm import train_gmm

    skipped: list[dict] = []
    clips = load_items(train_items, limit=limit, rng=rng, quiet=quiet, skipped=skipped)
    _both_classes(clips, root=root, what=f"the {TRAIN_SPLITS[dataset]} split of {dataset}", skipped=skipped,
                  hint="; it is needed for the LFCC-GMM baseline; pass --no-baseline")
    say(f"training the LFCC-GMM baseline ({gmm_components} components) on {len(clips)} clips", quiet=quiet)
    gmm = train_gmm(((y, it.label == "spoof") for it, y in clips), sample_rate=SAMPLE_RATE, seed=seed,
                    n_components=gmm_components)
    return gmm, {"split": TRAIN_SPLITS[dataset], "n_files": len(clips), "n_skipped": len(skipped), "skipped": skipped,
                 "limit": limit}


def _asvspoof2019_asv(root: Path, split: str, *, quiet: bool) -> tuple[AsvScores | None, dict | None]:
    """The organizers' ASV trials of ``split`` and their summary; (None, None), said once, when the file is absent.

    Raises
    ------
    DatasetError
        The score file is there but malformed.
    """
    from eval.datasets import asvspoof2019_asv_path, read_asv_scores

    path = asvspoof2019_asv_path(root, split)
    if path is None:
        say("min t-DCF needs ASV scores, which ASVspoof 2019 LA gives for dev and eval only; reporting EER only", quiet=quiet)
        return None, None
    if not path.is_file():
        say(f"min t-DCF needs the organizers' ASV scores, {path}: not found; reporting EER only", quiet=quiet)
        return None, None
    scores = read_asv_scores(path)
    summary = {**scores.summary(), "system": "ASVspoof 2019 LA organizers' ASV", "file": str(path.resolve())}
    return scores, {**summary, "n_speakers": None}  # the score file does not name the enrolled speakers


def _attack_all(clips: list, fn: Callable, *, name: str, seed: int, quiet: bool) -> tuple[list, list[dict]]:
    """Apply attack ``fn`` to every clip; a clip it cannot process is named, left as None and recorded."""
    cond_rng = np.random.default_rng([seed, len(name)])
    attacked: list = []
    skipped: list[dict] = []
    for it, y in progress(clips, silent=quiet, desc=f"attack {name}"):
        try:
            attacked.append(fn(y, SAMPLE_RATE, cond_rng))
        except GuardError as exc:
            _skip(skipped, it.path, exc, context=f" under {name}")
            attacked.append(None)
    return attacked, skipped


def _system_row(clips: list, scores: np.ndarray, skipped: list[dict], *, asv_scores: AsvScores | None,
                attack_skipped: list[dict]) -> tuple[dict, tuple | None]:
    """One system's metrics row under one condition, and its DET pair (bona fide, spoof scores) or None."""
    row, kept, kept_scores = scored_row(clips, scores, skipped, asv_scores, attack_skipped)
    if row["eer"] is None:
        return row, None
    is_spoof = np.asarray([it.label == "spoof" for it, _ in kept])
    return row, (kept_scores[~is_spoof], kept_scores[is_spoof])


def _x_realtime(clips: list, scores: np.ndarray, elapsed_s: float) -> float | None:
    """Seconds of audio scored (finite ``scores``) per second of ``elapsed_s``, rounded; None when no time passed."""
    audio_s = sum(y.shape[0] for (_, y), v in zip(clips, scores) if np.isfinite(v)) / SAMPLE_RATE
    return round(audio_s / elapsed_s, 1) if elapsed_s > 0 else None


def run(dataset: str, root: Path, *, split: str | None, model: Path | None, attacks: list[str], baseline: bool,
        gmm_components: int, limit: int | None, seed: int, quiet: bool, asv: bool = True,
        gmm_train_limit: int | None = None) -> tuple[dict, dict]:
    """Score the corpus under each attack; returns (results, DET score pairs for plotting).

    ``limit`` caps the scored files per class, ``gmm_train_limit`` the baseline's training
    files per class (None: all); both draws are seeded.

    Raises
    ------
    DatasetError
        The corpus cannot be read, lacks a class after skipping unusable files, (with
        ``baseline``) lacks the train split the LFCC-GMM baseline needs, or (ASVspoof 2019,
        with ``asv``) has a malformed ASV score file.
    """
    import torch

    from eval.datasets import load_dataset, scored_split
    from guard.detect import load_model

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    detector = load_model(model)
    conditions = resolve_attacks(attacks)

    def warn(message: str) -> None:
        say(f"warning: {message}")

    test_split = scored_split(dataset, split)
    items = load_dataset(dataset, root, split, warn=warn)
    train_items, gmm_not_run = (_baseline_train_items(dataset, root, split, warn=warn) if baseline
                                else (None, "--no-baseline was given"))
    if baseline and gmm_not_run:
        say(gmm_not_run, quiet=quiet)
    asv_scores, asv_summary = (_asvspoof2019_asv(root, test_split, quiet=quiet) if asv and dataset == "asvspoof2019"
                               else (None, None))
    skipped: list[dict] = []
    clips = load_items(items, limit=limit, rng=rng, quiet=quiet, skipped=skipped)
    _both_classes(clips, root=root, what=f"the {test_split} split of {dataset}", skipped=skipped)
    if asv and dataset == "selfplay" and split in (None, "test"):
        from eval.asv_trials import selfplay_asv_scores

        say("scoring speaker-verification trials for min t-DCF (resemblyzer)", quiet=quiet)
        asv_scores = selfplay_asv_scores(clips, sample_rate=SAMPLE_RATE)
        asv_summary = asv_scores.summary() if asv_scores is not None else None
    gmm, gmm_train = (_train_baseline(train_items, dataset=dataset, root=root, gmm_components=gmm_components,
                                      limit=gmm_train_limit, rng=rng, seed=seed, quiet=quiet)
                      if train_items is not None else (None, None))
    results: dict = {"dataset": dataset, "root": str(Path(root).resolve()), "split": test_split,
                     "model": str(Path(model).resolve()) if model else "default",
                     "model_meta": {k: v for k, v in detector.meta.items() if k not in ("history",)},
                     "n_files": len(clips), "n_skipped": len(skipped), "skipped": skipped, "limit": limit,
                     "seed": seed, "attack_source": {k: v[1] for k, v in conditions.items()},
                     "cnn": {}, "gmm": {} if gmm else None, "gmm_components": gmm_components if gmm else None,
                     "gmm_train": gmm_train, "gmm_not_run": gmm_not_run, "asv": asv_summary,
                     "cnn_x_realtime_1_thread": None}
    curves: dict = {}
    systems = {"cnn": ("CNN", lambda z: detector.score(z, sample_rate=SAMPLE_RATE).score)}
    if gmm is not None:
        systems["gmm"] = ("GMM", lambda z: gmm.score(z, sample_rate=SAMPLE_RATE))
    for name, (fn, _src) in conditions.items():
        attacked, attack_skipped = _attack_all(clips, fn, name=name, seed=seed, quiet=quiet)
        for key, (short, score) in systems.items():
            t0 = time.perf_counter()
            scores, skipped_here = _score_condition(clips, attacked, score, label=name if key == "cnn" else f"{name} ({short})")
            if key == "cnn" and name == "none":
                results["cnn_x_realtime_1_thread"] = _x_realtime(clips, scores, time.perf_counter() - t0)
            results[key][name], pair = _system_row(clips, scores, skipped_here, asv_scores=asv_scores,
                                                   attack_skipped=attack_skipped)
            if pair is not None:
                curves[f"{short} {name}"] = pair
        say(condition_line(name, results["cnn"][name], results["gmm"][name] if gmm is not None else None), quiet=quiet)
    for line in attack_table(results) + codec_table(results):
        say(line, quiet=quiet)
    return results, curves
