"""Train the detector: augmented views of both classes -> features once -> CNN epochs -> calibrate.

Every training clip is augmented ``views`` times with :func:`guard.detect.augment.augment`
(the same chain for bona fide and spoof) and turned into features once; each epoch then
draws random crops of 1-3 s from those views. The loss (binary cross-entropy, or the
one-class softmax with ``ModelConfig(loss="ocsoftmax")``) weights the classes to balance
them. After each epoch the development split is scored the way :class:`Detector` scores
files; the best epoch by development EER is kept, the logistic calibration is fitted on its
development scores, and a checkpoint is written so a run can be resumed.

A checkpoint also keeps the random-number state after its epoch, so a resumed run draws
the same batches, crops and dropout masks as one that was never interrupted and ends with
the same weights and calibration (bit for bit, on the same machine and torch version).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from guard import progress
from guard.audio import load
from guard.detect.augment import augment
from guard.detect.calibration import fit_calibration
from guard.detect.data import LabeledFile, missing_labels, no_files_text, split_items
from guard.detect.features import FeatureConfig, FrontEnd
from guard.detect.io import (
    CHECKPOINT_FIX,
    ModelFile,
    checkpoint_path,
    random_state,
    read_checkpoint,
    save_model,
    scheduler_state,
    write_checkpoint,
)
from guard.detect.model import DetectorNet, ModelConfig, n_parameters, oc_softmax_loss
from guard.detect.scoring import MIN_DURATION_S, Detector
from guard.errors import DetectError, GuardError, ParameterError

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (stored in the model's ``meta``)."""

    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    views: int = 3
    min_crop_s: float = 1.0
    max_crop_s: float = 3.0
    max_clip_s: float = 6.0
    dev_fraction: float = 0.15

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.views < 1:
            raise DetectError(f"need epochs >= 1, batch_size >= 2 and views >= 1, given {self}")
        if not 0 < self.min_crop_s <= self.max_crop_s:
            raise DetectError(f"need 0 < min_crop_s <= max_crop_s, given {self.min_crop_s} and {self.max_crop_s}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ParameterError(f"learning_rate must be a finite number > 0, given learning_rate={self.learning_rate}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ParameterError(f"weight_decay must be a finite number >= 0, given weight_decay={self.weight_decay}")


@dataclass
class State:
    """All training state: what a checkpoint holds.

    Besides weights, optimizer, learning-rate schedule and history, a checkpoint keeps the
    random-number state after its epoch: ``rng``'s bit generator (batches, crops) and torch's
    CPU generator (dropout). :meth:`restore` reads them and :meth:`continue_random_streams`
    puts them back once the data are ready, so a resumed run repeats the uninterrupted one.
    """

    net: DetectorNet
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    rng: np.random.Generator
    epoch: int = 0
    best_dev_eer: float = float("inf")
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict] = field(default_factory=list)

    run: dict = field(default_factory=dict)  # what the run is (see run_description); a checkpoint must match it
    saved_epoch: int = 0  # the epoch the checkpoint on disk holds; 0 while there is none of this run
    restored_random: tuple[dict, torch.Tensor] | None = field(default=None, repr=False)  # from restore(), not yet applied

    def checkpoint(self, path: Path) -> None:
        """Write the state after ``epoch`` to ``path`` atomically (temporary file, then rename)."""
        payload = {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                   "scheduler": self.scheduler.state_dict(), "epoch": self.epoch,
                   "best_dev_eer": self.best_dev_eer, "best_state": self.best_state, "history": self.history,
                   "run": json.dumps(self.run, sort_keys=True),
                   "numpy_rng": json.dumps(self.rng.bit_generator.state), "torch_rng": torch.get_rng_state()}
        write_checkpoint(path, payload)
        self.saved_epoch = self.epoch

    def restore(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``, refusing one of another run, a damaged one, or one without random state.

        A checkpoint written before voiceguard saved the random-number state is refused:
        resumed, it would continue with other batches and crops than the run it came from.

        Raises
        ------
        DetectError
            One line naming ``path``, why it cannot be used, and the fix.
        """
        payload = read_checkpoint(path)
        differ = _run_differences(payload["run"], self.run)
        if differ:
            raise DetectError(f"{path}: checkpoint is from another run ({'; '.join(differ)}); "
                              f"give the settings of that run, or {CHECKPOINT_FIX}")
        if not {"numpy_rng", "torch_rng", "scheduler"} <= set(payload):
            raise DetectError(f"{path}: checkpoint written by an older voiceguard, without the random-number state, so "
                              f"resuming it would not repeat the interrupted run; {CHECKPOINT_FIX}")
        try:
            self.net.load_state_dict(payload["net"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.epoch, self.best_dev_eer = int(payload["epoch"]), float(payload["best_dev_eer"])
            self.scheduler.load_state_dict(scheduler_state(payload["scheduler"], like=self.scheduler.state_dict(), epoch=self.epoch))
            self.best_state, self.history = payload["best_state"], list(payload["history"])
            self.restored_random = random_state(payload, bit_generator=type(self.rng.bit_generator))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise DetectError(f"{path}: training checkpoint is damaged ({first}); {CHECKPOINT_FIX}") from None
        self.saved_epoch = self.epoch

    def continue_random_streams(self) -> None:
        """Put ``rng`` and torch's generator where the restored checkpoint left them (nothing to do on a fresh run).

        Called once the data are loaded and augmented: on resume those draws come from the
        seed again, as in the first run, and only the epochs' draws continue from the checkpoint.
        """
        if self.restored_random is None:
            return
        numpy_state, torch_state = self.restored_random
        self.rng.bit_generator.state = numpy_state
        torch.set_rng_state(torch_state)
        self.restored_random = None


def run_description(*, seed: int, config: TrainConfig, features: FeatureConfig, model: ModelConfig,
                    train_items: list[LabeledFile], dev_items: list[LabeledFile]) -> dict:
    """What makes a run: a checkpoint resumes only a run with the same description (JSON-able)."""
    data = [[str(it.path), it.label, name] for name, part in (("train", train_items), ("dev", dev_items)) for it in part]
    digest = hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]
    return {"seed": seed, "train": asdict(config), "features": features.to_dict(), "model": model.to_dict(),
            "data": f"{len(train_items)} train + {len(dev_items)} dev files, sha256 {digest}"}


def _run_differences(saved: dict, now: dict) -> list[str]:
    """``"section.key: checkpoint X, now Y"`` for each setting that differs."""
    out = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{k}: checkpoint {a.get(k)!r}, now {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(f"{key}: checkpoint {a!r}, now {b!r}")
    return out


def _bar(items: Iterable, *, quiet: bool, desc: str, total: int | None = None) -> Iterable:
    return items if quiet else progress.bar(items, desc=desc, total=total)


def _skip(path: Path, reason: str, *, log: Log, skipped: list[dict] | None) -> None:
    """Report a skipped file by name (``log``) and record it in ``skipped``."""
    log(f"skipped unreadable file: {reason}" if str(path) in reason else f"skipped {path}: {reason}")
    if skipped is not None:
        skipped.append({"file": str(path), "reason": reason})


def load_clips(items: list[LabeledFile], *, sample_rate: int, max_clip_s: float, log: Log, quiet: bool,
               skipped: list[dict] | None = None) -> list[tuple[LabeledFile, np.ndarray]]:
    """Decode each file; one that is unreadable or shorter than the detector's minimum is reported by name and skipped.

    Parameters
    ----------
    skipped : list, optional
        Receives ``{"file", "reason"}`` for each skipped file.
    """
    out = []
    for item in _bar(items, quiet=quiet, desc="loading"):
        try:
            y = load(item.path, sample_rate=sample_rate)
        except GuardError as exc:
            _skip(item.path, str(exc), log=log, skipped=skipped)
            continue
        if y.shape[0] < MIN_DURATION_S * sample_rate:
            _skip(item.path, f"{y.shape[0] / sample_rate:.3f} s, shorter than the detector's {MIN_DURATION_S} s",
                  log=log, skipped=skipped)
            continue
        out.append((item, y[: int(max_clip_s * sample_rate)]))
    return out


def make_views(clips: list[tuple[LabeledFile, np.ndarray]], *, front: FrontEnd, views: int, rng: np.random.Generator, quiet: bool,
               log: Log | None = None, skipped: list[dict] | None = None) -> tuple[list[torch.Tensor], np.ndarray]:
    """Features of ``views`` augmented copies of every clip: (list of [c, f, t] float16, labels).

    A clip the augmentation cannot use is reported by name (``log``), recorded in ``skipped``
    and left out.
    """
    feats, labels = [], []
    sr = front.config.sample_rate
    for item, y in _bar(clips, quiet=quiet, desc="augmenting"):
        try:
            zs = [augment(y, sample_rate=sr, rng=rng)[0] for _ in range(views)]
        except GuardError as exc:
            _skip(item.path, str(exc), log=log or (lambda msg: None), skipped=skipped)
            continue
        for z in zs:
            with torch.no_grad():
                feats.append(front(torch.from_numpy(z)[None])[0].to(torch.float16))
            labels.append(1.0 if item.is_spoof else 0.0)
    return feats, np.asarray(labels, dtype=np.float32)


def _batch(feats: list[torch.Tensor], idx: np.ndarray, *, frames: int, rng: np.random.Generator) -> torch.Tensor:
    frames = min(frames, min(feats[i].shape[-1] for i in idx))
    out = []
    for i in idx:
        f = feats[i]
        start = int(rng.integers(0, f.shape[-1] - frames + 1))
        out.append(f[..., start:start + frames])
    return torch.stack(out).to(torch.float32)


def make_loss(net: DetectorNet, *, spoof_weight: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss(features, labels)`` for the net's head, spoof terms weighted by ``spoof_weight``.

    ``"bce"``: binary cross-entropy on the logit. ``"ocsoftmax"``: the one-class softmax on
    the head's embedding and direction (:func:`guard.detect.model.oc_softmax_loss`).
    """
    cfg = net.config
    if cfg.loss == "ocsoftmax":
        def oc_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return oc_softmax_loss(net.head.embed(net.pooled(x)), net.head.direction, y, margin_bonafide=cfg.margin_bonafide,
                                   margin_spoof=cfg.margin_spoof, alpha=cfg.alpha, spoof_weight=spoof_weight)
        return oc_loss
    bce = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(spoof_weight))
    return lambda x, y: bce(net(x), y)


def train_epoch(state: State, feats: list[torch.Tensor], labels: np.ndarray, *, config: TrainConfig, hop_length: int,
                sample_rate: int, rng: np.random.Generator, quiet: bool) -> float:
    """One pass over all views in random batches; returns the mean loss."""
    state.net.train()
    n_spoof = float(labels.sum())
    spoof_weight = (labels.size - n_spoof) / max(n_spoof, 1.0)
    loss_fn = make_loss(state.net, spoof_weight=spoof_weight)
    order = rng.permutation(labels.size)
    losses = []
    frame_rate = sample_rate / hop_length
    for b in _bar(range(0, order.size - 1, config.batch_size), quiet=quiet, desc=f"epoch {state.epoch + 1}"):
        idx = order[b:b + config.batch_size]
        if idx.size < 2:
            continue
        frames = int(rng.uniform(config.min_crop_s, config.max_crop_s) * frame_rate)
        x = _batch(feats, idx, frames=frames, rng=rng)
        loss = loss_fn(x, torch.from_numpy(labels[idx]))
        state.optimizer.zero_grad()
        loss.backward()
        state.optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses)) if losses else float("nan")


def score_clips(net: DetectorNet, clips: list[tuple[LabeledFile, np.ndarray]], *, sample_rate: int) -> np.ndarray:
    """File scores of ``clips`` as :class:`Detector` computes them (before calibration)."""
    net.eval()
    detector = Detector.__new__(Detector)
    detector.net, detector.sample_rate = net, sample_rate
    return np.asarray([float(np.mean(detector.logits(y)[0])) for _, y in clips])


def _eer_by_attack(clips: list[tuple[LabeledFile, np.ndarray]], scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """``{"dev/eer/<attack>": EER of that attack's spoofs against all bona fide}`` (attacks named in the data)."""
    from guard.detect.metrics import equal_error_rate

    attacks = np.asarray([it.attack or "" for it, _ in clips])
    names = sorted({a for a, lab in zip(attacks, labels) if lab == 1 and a not in ("", "-")})
    if len(names) < 2:
        return {}
    return {f"dev/eer/{a}": round(equal_error_rate(scores[labels == 0], scores[(labels == 1) & (attacks == a)]), 5) for a in names}


@dataclass
class TrainingData:
    """The decoded and augmented data of a run.

    Attributes
    ----------
    feats : list of torch.Tensor [shape=(channels, bands, frames)], float16
        Features of every augmented view of the training clips.
    labels : np.ndarray [shape=(len(feats),)], float32
        1.0 for a spoof view, 0.0 for bona fide.
    train_clips, dev_clips : list of (LabeledFile, np.ndarray [shape=(n,)])
        The clips used, at the feature rate, cut to ``max_clip_s``.
    dev_labels : np.ndarray [shape=(len(dev_clips),)], int
        1 for spoof, 0 for bona fide.
    skipped : list of dict
        ``{"file", "reason"}`` for each file left out.
    """

    feats: list[torch.Tensor]
    labels: np.ndarray
    train_clips: list[tuple[LabeledFile, np.ndarray]]
    dev_clips: list[tuple[LabeledFile, np.ndarray]]
    dev_labels: np.ndarray
    skipped: list[dict]


def prepare_data(state: State, train_items: list[LabeledFile], dev_items: list[LabeledFile], *, config: TrainConfig,
                 source: str, log: Log, warn: Log, quiet: bool) -> TrainingData:
    """Decode both splits and augment the training clips (``state.rng`` draws the views); skipped files go to ``warn``.

    Raises
    ------
    DetectError
        Skipped files left a split without one class (the message names ``source``).
    """
    sr = state.net.feature_config.sample_rate
    skipped: list[dict] = []
    train_clips = load_clips(train_items, sample_rate=sr, max_clip_s=config.max_clip_s, log=warn, quiet=quiet, skipped=skipped)
    dev_clips = load_clips(dev_items, sample_rate=sr, max_clip_s=config.max_clip_s, log=warn, quiet=quiet, skipped=skipped)
    feats, labels = make_views(train_clips, front=state.net.front, views=config.views, rng=state.rng, quiet=quiet, log=warn,
                               skipped=skipped)
    dropped = {s["file"] for s in skipped}
    train_clips = [(it, y) for it, y in train_clips if str(it.path) not in dropped]
    for name, clips in (("train", train_clips), ("dev", dev_clips)):
        missing = missing_labels([it for it, _ in clips])
        if missing:
            raise DetectError(f"{source}: after skipping unreadable files the {name} split holds "
                              f"{no_files_text(missing)}; replace the files named above")
    log(f"training on {len(train_clips)} clips x {config.views} views ({int(labels.sum())} spoof views), "
        f"dev {len(dev_clips)} clips; {n_parameters(state.net)} parameters")
    dev_labels = np.asarray([1 if it.is_spoof else 0 for it, _ in dev_clips])
    return TrainingData(feats, labels, train_clips, dev_clips, dev_labels, skipped)


def fit(state: State, data: TrainingData, *, config: TrainConfig, checkpoint: Path, log: Log, quiet: bool) -> None:
    """Run the epochs left: train, score dev, keep the best weights, write ``checkpoint`` after each epoch.

    Raises
    ------
    DetectError
        The loss or the dev scores went NaN or infinite.
    """
    from guard.detect.metrics import equal_error_rate

    front = state.net.feature_config
    while state.epoch < config.epochs:
        loss = train_epoch(state, data.feats, data.labels, config=config, hop_length=front.hop_length,
                           sample_rate=front.sample_rate, rng=state.rng, quiet=quiet)
        state.scheduler.step()
        dev_scores = score_clips(state.net, data.dev_clips, sample_rate=front.sample_rate)
        if not (math.isfinite(loss) and np.all(np.isfinite(dev_scores))):
            what = "loss NaN" if math.isnan(loss) else "loss infinite" if math.isinf(loss) else "dev scores NaN"
            raise DetectError(f"training diverged ({what}) at epoch {state.epoch + 1}; lower --lr")
        dev_eer = equal_error_rate(dev_scores[data.dev_labels == 0], dev_scores[data.dev_labels == 1])
        state.epoch += 1
        state.history.append({"epoch": state.epoch, "train/loss": round(loss, 5), "dev/eer": round(dev_eer, 5),
                              **_eer_by_attack(data.dev_clips, dev_scores, data.dev_labels)})
        if dev_eer <= state.best_dev_eer:
            state.best_dev_eer = dev_eer
            state.best_state = {k: v.detach().clone() for k, v in state.net.state_dict().items()}
        state.checkpoint(checkpoint)
        per_attack = ", ".join(f"{k.rsplit('/', 1)[1]} {100 * v:.1f}%" for k, v in state.history[-1].items() if k.startswith("dev/eer/"))
        log(f"epoch {state.epoch}/{config.epochs}: loss {loss:.4f}, dev EER {100 * dev_eer:.2f}%" + (f" ({per_attack})" if per_attack else ""))


def calibrated_model(state: State, data: TrainingData) -> ModelFile:
    """The best epoch's weights with a logistic calibration fitted on their dev scores (``meta`` still empty)."""
    state.net.load_state_dict(state.best_state)
    dev_scores = score_clips(state.net, data.dev_clips, sample_rate=state.net.feature_config.sample_rate)
    calibration = fit_calibration(dev_scores, data.dev_labels)
    return ModelFile(state.net.feature_config, state.net.config, calibration, state.net.state_dict())


def run_summary(state: State, data: TrainingData) -> dict:
    """The model's ``meta`` about data and training: counts, skipped files, attacks, dev EER per epoch."""
    return {"n_train_clips": len(data.train_clips), "n_dev_clips": len(data.dev_clips),
            "n_skipped": len(data.skipped), "skipped": data.skipped,
            "train_attacks": sorted({it.attack for it, _ in data.train_clips if it.is_spoof}),
            "dev_attacks": sorted({it.attack for it, _ in data.dev_clips if it.is_spoof}),
            "best_dev_eer": state.best_dev_eer, "history": state.history, "n_parameters": n_parameters(state.net)}


def use_checkpoint(state: State, checkpoint: Path, *, resume: bool, force: bool, log: Log, warn: Log) -> None:
    """Resume from, refuse, or delete the checkpoint an earlier run of the same output left.

    With ``resume`` it is restored (checked against this run); without, it is refused unless
    ``force``, which deletes it so the run starts over. ``resume`` without a checkpoint
    starts at epoch 1 and says so to ``warn``.

    Raises
    ------
    DetectError
        A checkpoint there without ``resume`` or ``force``; a path in the way that is not a
        file; a checkpoint :meth:`State.restore` refuses.
    """
    if checkpoint.exists() and not checkpoint.is_file():
        raise DetectError(f"{checkpoint}: in the way of the training checkpoint (not a file); move it or choose another -o")
    if not checkpoint.exists():
        if resume:
            warn(f"--resume: there is no checkpoint {checkpoint}, so training starts from epoch 1")
        return
    if resume:
        state.restore(checkpoint)
        log(f"resumed from {checkpoint} after epoch {state.epoch}")
    elif force:
        checkpoint.unlink()
        log(f"--force: deleted the checkpoint {checkpoint} of an earlier run; training starts from epoch 1")
    else:
        raise DetectError(f"{checkpoint}: an unfinished training of this output left this checkpoint; add --resume to "
                          "continue it, or --force to delete it and start over")


def _tell_how_to_resume(state: State, checkpoint: Path, *, epochs: int, warn: Log) -> None:
    """After an interrupt: where the checkpoint is, which epoch it holds, and that ``--resume`` continues it."""
    if state.saved_epoch:
        warn(f"interrupted: {checkpoint} holds the run after epoch {state.saved_epoch} of {epochs}; "
             "run the same command with --resume to continue it")
    else:
        warn("interrupted before the first epoch ended: no checkpoint was written, so there is nothing to resume")


def _output_path(out_path: str | os.PathLike[str]) -> Path:
    """``out_path`` as a Path, checked to name a file in an existing folder."""
    out_path = Path(out_path)
    if not out_path.name:
        raise ParameterError(f"out_path must name a model file, given {str(out_path)!r}")
    if not out_path.parent.is_dir():
        raise DetectError(f"{out_path}: output folder {out_path.parent} does not exist")
    return out_path


def new_state(*, seed: int, config: TrainConfig, features: FeatureConfig, model: ModelConfig, rng: np.random.Generator,
              train_items: list[LabeledFile], dev_items: list[LabeledFile]) -> State:
    """A fresh :class:`State`: the network (its initial weights drawn from torch's generator), AdamW, cosine schedule."""
    net = DetectorNet(features, model)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return State(net, optimizer, scheduler, rng,
                 run=run_description(seed=seed, config=config, features=features, model=model,
                                     train_items=train_items, dev_items=dev_items))


def train(
    items: list[LabeledFile],
    out_path: str | os.PathLike[str],
    *,
    seed: int,
    config: TrainConfig | None = None,
    features: FeatureConfig | None = None,
    model: ModelConfig | None = None,
    resume: bool = False,
    force: bool = False,
    source: str | os.PathLike[str] | None = None,
    log: Log | None = None,
    warn: Log | None = None,
    quiet: bool = False,
    meta: dict | None = None,
) -> ModelFile:
    """Train, calibrate and save a detector model file.

    Parameters
    ----------
    items : list of LabeledFile
        Files with a ``split`` of train/dev (others, e.g. test, are ignored), or none set
        (then ``config.dev_fraction`` of them, drawn with ``seed``, form the dev split).
    out_path : path-like
        Model file to write; its checkpoint goes beside it as ``<name>.ckpt``.
    seed : int
        Seeds numpy and torch before anything random happens.
    resume : bool
        Continue from the checkpoint beside ``out_path`` when it exists (else start at epoch 1
        and say so to ``warn``); it must come from the same run (seed, configs and files),
        and hold the random-number state (a checkpoint of an older voiceguard does not), else
        DetectError. The resumed run ends with the same weights and calibration as an
        uninterrupted one.
    force : bool
        Without ``resume``, delete a checkpoint beside ``out_path`` and start over; without
        ``force`` such a checkpoint is refused (DetectError), never silently discarded.
    source : path-like, optional
        The data spec (CSV or folder) ``items`` came from, named in errors about the splits.
    log : callable, optional
        Receives progress lines (silence it for ``-q``).
    warn : callable, optional
        Receives warnings, such as each skipped file and, on KeyboardInterrupt, where the
        checkpoint is and how to resume it (default: ``log``); never silence it.

    Returns
    -------
    ModelFile
        What was written; ``meta`` holds the data counts, the skipped files
        (``n_skipped``, ``skipped``), dev EER per epoch and timings.

    Raises
    ------
    DetectError
        Unusable data, a checkpoint refused (see ``resume``, ``force``), or a diverged run.
    ParameterError
        ``out_path`` names no file.
    KeyboardInterrupt
        Passed on after telling ``warn`` how to resume.
    """
    t0 = time.monotonic()
    config, features, model = config or TrainConfig(), features or FeatureConfig(), model or ModelConfig()
    log = log or (lambda msg: None)
    warn = warn or log
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    out_path = _output_path(out_path)
    source = os.fspath(source) if source is not None else "training data"
    train_items, dev_items = split_items(items, dev_fraction=config.dev_fraction, rng=rng, source=source)
    state = new_state(seed=seed, config=config, features=features, model=model, rng=rng,
                      train_items=train_items, dev_items=dev_items)
    ckpt = checkpoint_path(out_path)
    use_checkpoint(state, ckpt, resume=resume, force=force, log=log, warn=warn)  # before the slow loading: fails at once
    try:
        data = prepare_data(state, train_items, dev_items, config=config, source=source, log=log, warn=warn, quiet=quiet)
        state.continue_random_streams()
        fit(state, data, config=config, checkpoint=ckpt, log=log, quiet=quiet)
        model_file = calibrated_model(state, data)
        model_file.meta = {"seed": seed, "train": asdict(config), **run_summary(state, data),
                           "train_time_s": round(time.monotonic() - t0, 1), **(meta or {})}
        save_model(out_path, model_file)
    except KeyboardInterrupt:
        _tell_how_to_resume(state, ckpt, epochs=config.epochs, warn=warn)
        raise
    ckpt.unlink(missing_ok=True)
    return model_file
