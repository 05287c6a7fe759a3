"""`voiceguard detect train|score`: train a detector model file, score audio files with one."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from guard.audio import DEFAULT_MAX_DURATION_S
from guard.cliutil import (
    FiniteFloat,
    emit_json,
    input_path,
    json_option,
    quiet_option,
    say,
    seed_option,
)
from guard.detect.features import KINDS
from guard.errors import GuardError, TooLongError
from guard.plaintext import file_bytes_hex, printable

SCORE_RATE = 16000
# --channels bounds: the shipped model has 4 stages of 16-64; 8 stages of 512 is already a ~50M-parameter net,
# more than this CPU-trained detector is for (100000 channels asked for 360 GB and crashed)
MAX_STAGES, MAX_CHANNELS = 8, 512
MEMORY_PER_HOUR = "0.8 GB"  # measured: peak RSS 0.66 GB for 10 min of speech, 1.32 GB for 60 min (16 kHz FLAC)
RESULT_KEYS = ("score", "p_synthetic", "segments", "warning", "voiced_s", "speech")  # DetectorResult.to_dict()


def _positive_finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Refuse NaN, infinity and values <= 0 as a usage error (click's FloatRange lets NaN through)."""
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a finite number > 0, given {value}")
    return value


def _model_file_name(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """Refuse an empty name (``-o ""``), which would mean the current folder."""
    if not value.name:
        raise click.BadParameter(f"needs a model file name, given {str(value)!r}")
    return value


def _channel_list(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    """``"16,32,48"`` -> ``(16, 32, 48)``; anything but positive integers is a usage error."""
    try:
        chans = tuple(int(c) for c in value.split(","))
    except ValueError:
        raise click.BadParameter(f"needs comma-separated integers such as 16,32,48,64, given {value!r}") from None
    if not chans or len(chans) > MAX_STAGES or any(not 1 <= c <= MAX_CHANNELS for c in chans):
        raise click.BadParameter(f"needs 1-{MAX_STAGES} channel counts of 1-{MAX_CHANNELS}, given {value!r}")
    return chans


@click.group("detect")
def detect_group() -> None:
    """Deepfake-speech detector: train a model, score files."""


@detect_group.command("train")
@click.option("--data", "data_spec", required=True, type=click.Path(path_type=Path),
              help="A CSV manifest (file,label[,split,speaker,attack]) or a folder with bonafide/ and spoof/.")
@click.option("-o", "--output", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), callback=_model_file_name,
              help="Model file to write; an existing one is kept unless --force.")
@seed_option
@click.option("--epochs", type=click.IntRange(1, 1000), default=12, show_default=True)
@click.option("--views", type=click.IntRange(1, 50), default=3, show_default=True, help="Augmented copies of each training clip.")
@click.option("--batch-size", type=click.IntRange(2, 4096), default=32, show_default=True)
@click.option("--lr", "learning_rate", type=float, callback=_positive_finite, default=2e-3, show_default=True,
              help="Learning rate (finite, > 0).")
@click.option("--features", "feature_kind", type=click.Choice(KINDS),
              default="linspec", show_default=True,
              help="linspec2: linspec plus the same bands from a 64 ms window, as a second channel; "
                   "linpulse: linspec plus each band's pulse depth within the frame (4 ms windows); "
                   "linpulse2: linpulse plus a second pulse map from 1 ms windows.")
@click.option("--filters", "n_filters", type=click.IntRange(8, 512), default=128, show_default=True, help="Filterbank bands.")
@click.option("--channels", "channels", default="16,32,48,64", show_default=True, callback=_channel_list,
              help="Channels of the residual stages (comma-separated integers, 1-512 each, at most 8 stages).")
@click.option("--loss", type=click.Choice(["bce", "ocsoftmax"]), default="bce", show_default=True,
              help="bce: binary cross-entropy on a logit; ocsoftmax: one-class softmax (margins 0.9/0.2, alpha 20).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="Torch CPU threads.")
@click.option("--resume", is_flag=True,
              help="Continue from the checkpoint an interrupted run with the same data and settings left beside the "
                   "output (<MODEL>.ckpt); the result is the model the run would have made uninterrupted. A checkpoint "
                   "of an older voiceguard (no random-number state) is refused. With no checkpoint, starts at epoch 1.")
@click.option("--force", is_flag=True,
              help="Overwrite the output model file when it exists; without --resume, also delete the checkpoint an "
                   "unfinished run left (<MODEL>.ckpt) and start over.")
@json_option
@quiet_option
def train_command(data_spec: Path, out_path: Path, seed: int, epochs: int, views: int, batch_size: int,
                  learning_rate: float, feature_kind: str, n_filters: int, channels: tuple[int, ...], loss: str, threads: int, resume: bool,
                  force: bool, as_json: bool, quiet: bool) -> None:
    """Train a detector on labelled audio and write MODEL (-o), calibrated on the dev split.

    Skipped files (unreadable, or shorter than 0.25 s) are named on stderr even with --json
    or -q, and listed in the model's meta and the JSON summary.

    A checkpoint (<MODEL>.ckpt) is written after every epoch and deleted when MODEL is
    written. Interrupted (Ctrl-C), the command says which epoch the checkpoint holds; the
    same command with --resume continues it. A checkpoint found without --resume is refused
    unless --force (which starts over).
    """
    import torch

    from guard.detect.data import read_spec
    from guard.detect.features import FeatureConfig
    from guard.detect.model import ModelConfig
    from guard.detect.train import TrainConfig, train
    from guard.errors import DetectError

    torch.set_num_threads(threads)
    silent = quiet or as_json
    items = read_spec(data_spec)
    if out_path.exists() and not force:
        raise DetectError(f"{out_path} already exists; pass --force to overwrite it, or choose another -o")
    mf = train(items, out_path, seed=seed, resume=resume, force=force, source=data_spec, quiet=silent,
               config=TrainConfig(epochs=epochs, views=views, batch_size=batch_size, learning_rate=learning_rate),
               features=FeatureConfig(kind=feature_kind, n_filters=n_filters), model=ModelConfig(channels=channels, loss=loss),
               log=lambda m: say(m, quiet=silent), warn=say, meta={"data": str(data_spec)})
    summary = {"model": str(out_path), "best_dev_eer": mf.meta["best_dev_eer"], "train_time_s": mf.meta["train_time_s"],
               "n_parameters": mf.meta["n_parameters"], "calibration": mf.calibration.to_dict(),
               "n_skipped": mf.meta["n_skipped"], "skipped": mf.meta["skipped"]}
    if as_json:
        emit_json(summary)
    else:
        skipped = f"; {summary['n_skipped']} file(s) skipped" if summary["n_skipped"] else ""
        say(f"wrote {out_path}: dev EER {100 * summary['best_dev_eer']:.2f}% in {summary['train_time_s']:.0f} s{skipped}",
            quiet=quiet)


def _score_error(path: Path, exc: GuardError, *, as_json: bool) -> None:
    """Report a file that could not be scored: one ``Error:`` line on stderr naming it and, with
    ``--json``, a line with the keys of a scored file (null) and ``error``."""
    message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    if isinstance(exc, TooLongError):  # the limit can be raised
        message += f"; or raise the limit with --max-duration SECONDS (about {MEMORY_PER_HOUR} of memory per hour of audio)"
    click.echo(f"Error: {printable(message, controls=True)}", err=True)
    if as_json:
        emit_json({"file": str(path), **dict.fromkeys(RESULT_KEYS), "error": message,
                   "file_bytes_hex": file_bytes_hex(str(path))})


@detect_group.command("score")
@click.argument("files", nargs=-1, required=True, type=input_path())
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Detector model file (default: the model shipped with voiceguard).")
@click.option("--max-duration", "max_duration_s", metavar="SECONDS", type=FiniteFloat(0.0, min_open=True),
              default=DEFAULT_MAX_DURATION_S, show_default=True,
              help="Longest file scored; a longer one is reported as an error. Each file is decoded and checked "
                   f"whole: about {MEMORY_PER_HOUR} of memory per hour of audio.")
@json_option
def score_command(files: tuple[Path, ...], model_path: Path | None, max_duration_s: float, as_json: bool) -> None:
    """Score FILES with the detector: p_synthetic per file and per 3 s window.

    p_synthetic is the detector's score through a logistic calibration fitted on the dev
    split of the model's training corpus (equal priors). It is a probability only for
    audio like that corpus; on other audio (other languages, microphones, channels) it is
    not, and real recordings can read 1.000. Treat it as weak supporting evidence: a
    voiceguard watermark (`voiceguard scan`) is the strong evidence.

    \b
    --json prints one object per file:
      file, score (mean window logit; > 0 leans synthetic), p_synthetic,
      segments ([[start_s, end_s, p_synthetic], ...], one per window),
      warning (null, or why the score is less reliable), voiced_s,
      speech (false: too little voiced speech for the score to mean anything),
      error (null, or the message; the other keys are then null),
      file_bytes_hex (a file name that is not UTF-8, shown with \\xNN in file: its
      exact bytes in hex; null otherwise).

    A file that cannot be read is reported and the rest are still scored; the exit status is
    then 1.
    """
    from guard.audio import load
    from guard.detect import load_model

    detector = load_model(model_path)
    failed = 0
    for path in files:
        try:
            y = load(path, sample_rate=SCORE_RATE, max_duration_s=max_duration_s)
            result = detector.score(y, sample_rate=SCORE_RATE, path=path)
        except GuardError as exc:
            failed += 1
            _score_error(path, exc, as_json=as_json)
            continue
        if as_json:
            emit_json({"file": str(path), **result.to_dict(), "error": None, "file_bytes_hex": file_bytes_hex(str(path))})
        else:
            note = f" ({result.warning})" if result.warning else ""
            click.echo(f"{printable(str(path), controls=True)}: p_synthetic {result.p_synthetic:.3f}, "
                       f"score {result.score:+.3f}, "
                       f"{len(result.segments)} window(s){note}", err=True)
    if failed:
        sys.exit(1)
