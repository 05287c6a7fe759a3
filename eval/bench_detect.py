"""`voiceguard bench detect`: EER of the detector (and the LFCC-GMM baseline) on a corpus, clean and attacked.

For each condition (clean, then each attack applied to every test file) it reports EER,
its threshold and TPR at 1% FPR, with a breakdown by attack family; on the self-play corpus
also min t-DCF (ASVspoof 2019 cost model) against resemblyzer speaker-verification trials
(:mod:`eval.asv_trials`, scored once on the clean audio); the CNN's scoring
speed in x real time on one thread; a DET plot and a JSON file with ``--out``. The
baseline GMMs train on the corpus's own train split (with the CNN's augmentation), so
both systems see the same data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

from guard.cliutil import emit_json, json_option, progress, quiet_option, say, seed_option
from guard.errors import GuardError

SAMPLE_RATE = 16000
DEFAULT_ATTACKS = ("none", "mp3_32k", "opus_16k", "telephone")
TRAIN_SPLITS = {"selfplay": "train", "asvspoof2019": "train", "asvspoof5": "train"}
Attack = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _builtin_attacks() -> dict[str, Attack]:
    from guard.audio import transcode
    from guard.detect.augment import telephone

    return {
        "none": lambda y, sr, rng: y,
        "mp3_32k": lambda y, sr, rng: transcode(y, sample_rate=sr, codec="mp3", bitrate_bps=32000),
        "opus_16k": lambda y, sr, rng: transcode(y, sample_rate=sr, codec="opus", bitrate_bps=16000),
        "telephone": telephone,
    }


def resolve_attacks(names: list[str]) -> dict[str, tuple[Attack, str]]:
    """name -> (fn(y, sample_rate, rng), where it comes from): eval.attacks first, else built in."""
    builtin = _builtin_attacks()
    try:
        from eval import attacks as suite  # written by the attack-suite owner; optional here
    except ImportError:
        suite = None
    out = {}
    suite_attacks = getattr(suite, "ATTACKS", {}) if suite is not None else {}
    for name in names:
        if name in suite_attacks:
            out[name] = ((lambda y, sr, rng, a=suite_attacks[name]: a.apply(y, sample_rate=sr, rng=rng)), "eval.attacks")
        elif name in builtin:
            out[name] = (builtin[name], "builtin")
        else:
            known = sorted(set(builtin) | set(suite_attacks))
            raise click.BadParameter(f"unknown attack {name!r}; choose from {', '.join(known)}", param_hint="--attacks")
    return out


def load_items(items: list, *, limit: int | None, rng: np.random.Generator, quiet: bool) -> list[tuple[object, np.ndarray]]:
    """Decode the items (subsampled per class to ``limit``); unreadable files are named and skipped."""
    from guard.audio import load

    if limit:
        keep = []
        for label in ("bonafide", "spoof"):
            group = [it for it in items if it.label == label]
            keep += [group[i] for i in sorted(rng.permutation(len(group))[:limit])]
        items = keep
    clips = []
    for it in progress(items, silent=quiet, desc="loading"):
        try:
            clips.append((it, load(it.path, sample_rate=SAMPLE_RATE)))
        except GuardError as exc:
            say(f"skipped unreadable file: {exc}" if str(it.path) in str(exc) else f"skipped {it.path}: {exc}")
    return clips


def _metrics(bona: np.ndarray, spoof: np.ndarray) -> dict:
    from eval.metrics import compute_eer, tpr_at_fpr

    eer, thr = compute_eer(bona, spoof)
    return {"eer": round(eer, 5), "threshold": round(thr, 5), "tpr_at_fpr_1pct": round(tpr_at_fpr(bona, spoof, fpr=0.01), 5),
            "n_bonafide": int(bona.size), "n_spoof": int(spoof.size)}


def _condition(clips: list, scores: np.ndarray, asv: object = None) -> dict:
    from eval.metrics import min_tdcf
    from guard.errors import ParameterError

    is_spoof = np.asarray([it.label == "spoof" for it, _ in clips])
    attacks = np.asarray([it.attack for it, _ in clips])
    row = _metrics(scores[~is_spoof], scores[is_spoof])
    if asv is not None:
        try:
            row["min_tdcf"] = round(min_tdcf(scores[~is_spoof], scores[is_spoof], asv_target_scores=asv.target,
                                             asv_nontarget_scores=asv.nontarget, asv_spoof_scores=asv.spoof), 5)
        except ParameterError:
            row["min_tdcf"] = None
    row["by_attack"] = {a: _metrics(scores[~is_spoof], scores[is_spoof & (attacks == a)]) for a in sorted(set(attacks[is_spoof]))}
    return row


def run(dataset: str, root: Path, *, split: str | None, model: Path | None, attacks: list[str], baseline: bool,
        gmm_components: int, limit: int | None, seed: int, quiet: bool, asv: bool = True) -> tuple[dict, dict]:
    """Score the corpus under each attack; returns (results, DET score pairs for plotting)."""
    import torch

    from eval.baseline_gmm import train_gmm
    from eval.datasets import load_dataset
    from guard.detect import load_model

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    detector = load_model(model)
    conditions = resolve_attacks(attacks)
    clips = load_items(load_dataset(dataset, root, split), limit=limit, rng=rng, quiet=quiet)
    if len({it.label for it, _ in clips}) < 2:
        raise GuardError(f"{root}: after skipping unreadable files the test set lacks one class")
    asv_scores = None
    if asv and dataset == "selfplay" and split in (None, "test"):
        from eval.asv_trials import selfplay_asv_scores

        say("scoring speaker-verification trials for min t-DCF (resemblyzer)", quiet=quiet)
        asv_scores = selfplay_asv_scores(clips, sample_rate=SAMPLE_RATE)
    gmm = None
    if baseline and dataset in TRAIN_SPLITS:
        train_clips = load_items(load_dataset(dataset, root, TRAIN_SPLITS[dataset]), limit=limit, rng=rng, quiet=quiet)
        say(f"training the LFCC-GMM baseline ({gmm_components} components) on {len(train_clips)} clips", quiet=quiet)
        gmm = train_gmm(((y, it.label == "spoof") for it, y in train_clips), sample_rate=SAMPLE_RATE, seed=seed,
                        n_components=gmm_components)
    results: dict = {"dataset": dataset, "root": str(root), "split": split, "model": str(model or "default"),
                     "model_meta": {k: v for k, v in detector.meta.items() if k not in ("history",)},
                     "n_files": len(clips), "seed": seed, "attack_source": {k: v[1] for k, v in conditions.items()},
                     "cnn": {}, "gmm": {} if gmm else None, "gmm_components": gmm_components if gmm else None,
                     "asv": asv_scores.summary() if asv_scores is not None else None}
    curves: dict = {}
    audio_s = sum(y.shape[0] for _, y in clips) / SAMPLE_RATE
    for name, (fn, _src) in conditions.items():
        cond_rng = np.random.default_rng([seed, len(name)])
        attacked = [fn(y, SAMPLE_RATE, cond_rng) for _, y in progress(clips, silent=quiet, desc=f"attack {name}")]
        t0 = time.perf_counter()
        cnn = np.asarray([detector.score(z, sample_rate=SAMPLE_RATE).score for z in attacked])
        elapsed = time.perf_counter() - t0
        results["cnn"][name] = _condition(clips, cnn, asv_scores)
        if name == "none":
            results["cnn_x_realtime_1_thread"] = round(audio_s / elapsed, 1)
        is_spoof = np.asarray([it.label == "spoof" for it, _ in clips])
        curves[f"CNN {name}"] = (cnn[~is_spoof], cnn[is_spoof])
        if gmm is not None:
            g = np.asarray([gmm.score(z, sample_rate=SAMPLE_RATE) for z in attacked])
            results["gmm"][name] = _condition(clips, g, asv_scores)
            curves[f"GMM {name}"] = (g[~is_spoof], g[is_spoof])
        line = f"{name:>10}: CNN EER {100 * results['cnn'][name]['eer']:6.2f}%" + _tdcf_text(results["cnn"][name])
        if gmm is not None:
            line += f"   LFCC-GMM EER {100 * results['gmm'][name]['eer']:6.2f}%" + _tdcf_text(results["gmm"][name])
        say(line, quiet=quiet)
    return results, curves


def _tdcf_text(row: dict) -> str:
    return f" (min t-DCF {row['min_tdcf']:.4f})" if row.get("min_tdcf") is not None else ""


@click.command("detect")
@click.option("--dataset", required=True, help="selfplay, folder, csv, asvspoof2019, asvspoof2021-la, asvspoof2021-df, asvspoof5, in-the-wild, wavefake.")
@click.option("--root", required=True, type=click.Path(path_type=Path), help="The corpus folder (csv: the CSV file).")
@click.option("--split", default=None, help="Split to score (default: the loader's, e.g. test for selfplay, eval for ASVspoof).")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Detector model (default: shipped).")
@click.option("--attacks", default=",".join(DEFAULT_ATTACKS), show_default=True, help="Comma-separated conditions; none = clean.")
@click.option("--baseline/--no-baseline", default=True, show_default=True, help="Also train and score the LFCC-GMM baseline.")
@click.option("--gmm-components", type=click.IntRange(1, 1024), default=64, show_default=True)
@click.option("--asv/--no-asv", default=True, show_default=True, help="selfplay: min t-DCF against resemblyzer ASV trials.")
@click.option("--limit", type=click.IntRange(1, None), default=None, help="At most N files per class (seeded draw).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Write results.json and det.png here.")
@seed_option
@json_option
@quiet_option
def command(dataset: str, root: Path, split: str | None, model: Path | None, attacks: str, baseline: bool, gmm_components: int,
            asv: bool, limit: int | None, out_dir: Path | None, seed: int, as_json: bool, quiet: bool) -> None:
    """Detection EER (clean and attacked) of the CNN and the LFCC-GMM baseline; DET plot and JSON."""
    from eval.metrics import plot_det

    names = [a.strip() for a in attacks.split(",") if a.strip()]
    results, curves = run(dataset, root, split=split, model=model, attacks=names, baseline=baseline,
                          gmm_components=gmm_components, limit=limit, seed=seed, quiet=quiet or as_json, asv=asv)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(results, indent=2))
        plot_det(curves, out_dir / "det.png", title=f"{dataset} ({split or 'default split'})")
        say(f"wrote {out_dir / 'results.json'} and {out_dir / 'det.png'}", quiet=quiet or as_json)
    if as_json:
        emit_json(results)
    else:
        say(f"CNN scoring speed: {results['cnn_x_realtime_1_thread']}x real time on one thread", quiet=quiet)
