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
from eval.detect_rows import codec_table, eer_text, scored_row, tdcf_text
from guard.cliutil import progress, say
from guard.errors import DatasetError, GuardError

if TYPE_CHECKING:
    from eval.asv_trials import AsvScores

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


def _csv_train_items(root: Path, split: str | None, *, quiet: bool) -> list | None:
    """A CSV's ``train`` rows for the baseline; None, with a line saying why, when it has none or scores them."""
    from eval.datasets import load_dataset

    rows = load_dataset("csv", root, warn=lambda message: None)  # loading the scored rows already warned
    train = [it for it in rows if it.split == TRAIN_SPLITS["csv"]]
    if not train:
        say("the csv layout has no train split, so the LFCC-GMM baseline is not run", quiet=quiet)
        return None
    if split in (None, TRAIN_SPLITS["csv"]):
        others = sorted({it.split for it in rows} - {"", TRAIN_SPLITS["csv"]})
        scored = "without --split all rows" if split is None else "with --split train the train rows"
        fix = f"pass --split {others[0]}" if others else "give the rows to score a split of their own and pass it as --split"
        say(f"the csv's train rows would train the LFCC-GMM baseline, but {scored} are scored, so it is not run; {fix}",
            quiet=quiet)
        return None
    return train


def _baseline_train_items(dataset: str, root: Path, split: str | None, *, warn: Callable[[str], None],
                          quiet: bool) -> list | None:
    """The items the LFCC-GMM baseline trains on (the corpus's train split), or None when it is not run.

    Raises
    ------
    DatasetError
        A corpus with a train split (ASVspoof 2019, ASVspoof 5, selfplay) whose train split cannot be read.
    """
    from eval.datasets import load_dataset

    if dataset == "csv":
        return _csv_train_items(root, split, quiet=quiet)
    if dataset not in TRAIN_SPLITS:
        say(f"the {dataset} layout has no train split, so the LFCC-GMM baseline is not run", quiet=quiet)
        return None
    try:
        return load_dataset(dataset, root, TRAIN_SPLITS[dataset], warn=warn)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; the {TRAIN_SPLITS[dataset]} split is needed for the LFCC-GMM baseline; "
                           "pass --no-baseline") from None


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


def run(dataset: str, root: Path, *, split: str | None, model: Path | None, attacks: list[str], baseline: bool,
        gmm_components: int, limit: int | None, seed: int, quiet: bool, asv: bool = True) -> tuple[dict, dict]:
    """Score the corpus under each attack; returns (results, DET score pairs for plotting).

    Raises
    ------
    DatasetError
        The corpus cannot be read, lacks a class after skipping unusable files, (with
        ``baseline``) lacks the train split the LFCC-GMM baseline needs, or (ASVspoof 2019,
        with ``asv``) has a malformed ASV score file.
    """
    import torch

    from eval.baseline_gmm import train_gmm
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
    train_items = _baseline_train_items(dataset, root, split, warn=warn, quiet=quiet) if baseline else None
    gmm_hint = "; it is needed for the LFCC-GMM baseline; pass --no-baseline"
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
    gmm = None
    train_skipped: list[dict] = []
    if train_items is not None:
        train_clips = load_items(train_items, limit=limit, rng=rng, quiet=quiet, skipped=train_skipped)
        _both_classes(train_clips, root=root, what=f"the {TRAIN_SPLITS[dataset]} split of {dataset}", skipped=train_skipped,
                      hint=gmm_hint)
        say(f"training the LFCC-GMM baseline ({gmm_components} components) on {len(train_clips)} clips", quiet=quiet)
        gmm = train_gmm(((y, it.label == "spoof") for it, y in train_clips), sample_rate=SAMPLE_RATE, seed=seed,
                        n_components=gmm_components)
    results: dict = {"dataset": dataset, "root": str(Path(root).resolve()), "split": test_split,
                     "model": str(Path(model).resolve()) if model else "default",
                     "model_meta": {k: v for k, v in detector.meta.items() if k not in ("history",)},
                     "n_files": len(clips), "n_skipped": len(skipped), "skipped": skipped,
                     "seed": seed, "attack_source": {k: v[1] for k, v in conditions.items()},
                     "cnn": {}, "gmm": {} if gmm else None, "gmm_components": gmm_components if gmm else None,
                     "gmm_train": ({"split": TRAIN_SPLITS[dataset], "n_files": len(train_clips), "n_skipped": len(train_skipped),
                                    "skipped": train_skipped} if gmm else None),
                     "asv": asv_summary}
    curves: dict = {}
    for name, (fn, _src) in conditions.items():
        cond_rng = np.random.default_rng([seed, len(name)])
        attacked: list = []
        attack_skipped: list[dict] = []
        for it, y in progress(clips, silent=quiet, desc=f"attack {name}"):
            try:
                attacked.append(fn(y, SAMPLE_RATE, cond_rng))
            except GuardError as exc:
                _skip(attack_skipped, it.path, exc, context=f" under {name}")
                attacked.append(None)
        t0 = time.perf_counter()
        cnn, cnn_skipped = _score_condition(clips, attacked, lambda z: detector.score(z, sample_rate=SAMPLE_RATE).score,
                                            label=name)
        elapsed = time.perf_counter() - t0
        row, kept, kept_scores = scored_row(clips, cnn, cnn_skipped, asv_scores, attack_skipped)
        results["cnn"][name] = row
        if name == "none":
            audio_s = sum(y.shape[0] for (_, y), s in zip(clips, cnn) if np.isfinite(s)) / SAMPLE_RATE
            results["cnn_x_realtime_1_thread"] = round(audio_s / elapsed, 1) if elapsed > 0 else None
        if row["eer"] is not None:
            is_spoof = np.asarray([it.label == "spoof" for it, _ in kept])
            curves[f"CNN {name}"] = (kept_scores[~is_spoof], kept_scores[is_spoof])
        line = f"{name:>10}: CNN EER {eer_text(row)}" + tdcf_text(row) + f" ({row['n_bonafide']} bona fide, {row['n_spoof']} spoof)"
        if gmm is not None:
            g, gmm_skipped = _score_condition(clips, attacked, lambda z: gmm.score(z, sample_rate=SAMPLE_RATE), label=f"{name} (GMM)")
            grow, gkept, gkept_scores = scored_row(clips, g, gmm_skipped, asv_scores, attack_skipped)
            results["gmm"][name] = grow
            if grow["eer"] is not None:
                g_spoof = np.asarray([it.label == "spoof" for it, _ in gkept])
                curves[f"GMM {name}"] = (gkept_scores[~g_spoof], gkept_scores[g_spoof])
            line += f"   LFCC-GMM EER {eer_text(grow)}" + tdcf_text(grow)
        if row["n_skipped"]:
            line += f"   ({row['n_skipped']} clip(s) skipped)"
        say(line, quiet=quiet)
    for line in codec_table(results):
        say(line, quiet=quiet)
    results.setdefault("cnn_x_realtime_1_thread", None)
    return results, curves
