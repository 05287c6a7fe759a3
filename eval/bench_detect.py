"""`voiceguard bench detect`: EER of the detector (and the LFCC-GMM baseline) on a corpus, clean and attacked.

For each condition (clean, then each attack applied to every test file) it reports EER,
its threshold and TPR at 1% FPR, with a breakdown by attack family (``by_attack``) and, on
corpora whose protocol names a codec per file (ASVspoof 2021 LA/DF), by codec (``by_codec``,
bona fide and spoof of that codec, also printed as a table). Min t-DCF (ASVspoof 2019 cost
model) is reported beside EER against speaker-verification trials: on the self-play corpus
resemblyzer's (:mod:`eval.asv_trials`, scored once on the clean audio), on ASVspoof 2019 LA
the organizers' ASV score file of the split when it is there. Also the CNN's scoring speed
in x real time on one thread; a DET plot and a JSON file with ``--out``. The per-attack
EERs are also printed, a table per system. The baseline GMMs train on the corpus's own
train split (a CSV's ``train`` rows; with the CNN's augmentation), so both systems see the
same data. One rule for every corpus: when the corpus has no train split, or the run scores
the split the baseline would train on (``--split train``; a CSV without ``--split``), the
baseline is not run, and a line on stderr and ``gmm_not_run`` in the JSON say why.
``--limit`` caps only the scored files; ``--gmm-train-limit`` caps the baseline's training
files (``gmm_train.n_files`` in the JSON says how many it trained on).

A clip that cannot be used never stops the run: a file that does not decode or is shorter
than the detector's minimum is named on stderr and skipped (``skipped`` in the JSON), and a
clip an attack cannot process, or that a system cannot score under one condition (say
``speed_1.05`` made it too short), is named and left out of that condition only
(``n_skipped``/``skipped`` in that condition's row).

This module is the command; the run is :func:`eval.detect_run.run`, the attack conditions
are in :mod:`eval.detect_attacks`, the metric rows in :mod:`eval.detect_rows`.
"""

from __future__ import annotations

from pathlib import Path

import click

from eval.detect_run import run
from guard.cliutil import (
    OutputFolder,
    emit_json,
    json_option,
    quiet_option,
    say,
    seed_option,
    to_json,
)

DATASETS = ("selfplay", "folder", "csv", "asvspoof2019", "asvspoof2021-la", "asvspoof2021-df", "asvspoof5",
            "in-the-wild", "wavefake")  # the keys of eval.datasets.LOADERS (a test keeps them equal)
DEFAULT_ATTACKS = ("none", "mp3_32k", "opus_16k", "telephone")


def _check_split_option(dataset: str, split: str | None) -> None:
    """Refuse a ``--split`` the layout cannot honour, as a usage error listing the valid ones."""
    from eval.datasets import NO_SPLITS, SPLITS

    if not split:
        return
    if dataset in NO_SPLITS:
        raise click.BadParameter(f"the {dataset} layout has no splits; drop --split", param_hint="--split")
    if SPLITS.get(dataset) and split not in SPLITS[dataset]:
        raise click.BadParameter(f"{dataset} has no split {split!r}; choose from {', '.join(SPLITS[dataset])}", param_hint="--split")


@click.command("detect")
@click.option("--dataset", required=True, type=click.Choice(DATASETS), help="The corpus layout (see eval/datasets.py).")
@click.option("--root", required=True, type=click.Path(path_type=Path), help="The corpus folder (csv: the CSV file).")
@click.option("--split", default=None, help="Split to score (default: the loader's, e.g. test for selfplay, eval for ASVspoof; "
              "folder, in-the-wild and wavefake have none).")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Detector model (default: shipped).")
@click.option("--attacks", default=",".join(DEFAULT_ATTACKS), show_default=True, help="Comma-separated conditions; none = clean.")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also train the LFCC-GMM baseline on the corpus's train split and score it (not run when the "
                   "train split is the one scored, or there is none).")
@click.option("--gmm-components", type=click.IntRange(1, 1024), default=64, show_default=True)
@click.option("--asv/--no-asv", default=True, show_default=True,
              help="Min t-DCF beside EER: selfplay against resemblyzer ASV trials, asvspoof2019 against the "
                   "organizers' ASV scores (LA/ASVspoof2019_LA_asv_scores/) when present.")
@click.option("--limit", type=click.IntRange(1, None), default=None,
              help="Score at most N files per class of the scored split (seeded draw); the baseline's training "
                   "files are not capped by it (see --gmm-train-limit).")
@click.option("--gmm-train-limit", type=click.IntRange(1, None), default=None,
              help="Train the LFCC-GMM baseline on at most N files per class of its train split (seeded draw; "
                   "default: all). The JSON's gmm_train.n_files says how many it trained on.")
@click.option("--out", "out_dir", type=OutputFolder(), default=None, help="Write results.json and det.png here.")
@seed_option
@json_option
@quiet_option
def command(dataset: str, root: Path, split: str | None, model: Path | None, attacks: str, baseline: bool, gmm_components: int,
            asv: bool, limit: int | None, gmm_train_limit: int | None, out_dir: Path | None, seed: int, as_json: bool,
            quiet: bool) -> None:
    """Detection EER (clean and attacked) of the CNN and the LFCC-GMM baseline; DET plot and JSON."""
    from eval.metrics import plot_det

    names = [a.strip() for a in attacks.split(",") if a.strip()]
    if not names:
        raise click.BadParameter("give at least one condition (none = clean)", param_hint="--attacks")
    _check_split_option(dataset, split)
    results, curves = run(dataset, root, split=split, model=model, attacks=names, baseline=baseline,
                          gmm_components=gmm_components, limit=limit, seed=seed, quiet=quiet or as_json, asv=asv,
                          gmm_train_limit=gmm_train_limit)
    if out_dir is not None:
        (out_dir / "results.json").write_text(to_json(results, indent=2))
        plot_det(curves, out_dir / "det.png", title=f"{dataset} ({results['split']} split)")
        say(f"wrote {out_dir / 'results.json'} and {out_dir / 'det.png'}", quiet=quiet or as_json)
    if as_json:
        emit_json(results)
    else:
        if results["cnn_x_realtime_1_thread"] is not None:
            say(f"CNN scoring speed: {results['cnn_x_realtime_1_thread']}x real time on one thread", quiet=quiet)
