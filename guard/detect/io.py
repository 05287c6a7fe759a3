"""Versioned detector model files (configs, calibration and weights in one torch file) and training checkpoints.

A file holds only tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(..., weights_only=True)``; a file of another format or version is refused.
A training checkpoint (``<model>.ckpt``, written by :class:`guard.detect.train.State`) is
read and checked here; the training loop decides what it holds.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from guard.detect.calibration import Calibration
from guard.detect.features import FeatureConfig
from guard.detect.model import DetectorNet, ModelConfig
from guard.errors import DetectError, ParameterError

FORMAT = "voiceguard-detector"
VERSION = 1
CHECKPOINT_FIX = "start over with --force instead of --resume"  # how every refused checkpoint message ends


@dataclass
class ModelFile:
    """Everything a detector needs at scoring time, plus how it was made (``meta``)."""

    features: FeatureConfig
    model: ModelConfig
    calibration: Calibration
    state_dict: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)

    def build(self) -> DetectorNet:
        """The network with these weights, in eval mode."""
        net = DetectorNet(self.features, self.model)
        net.load_state_dict(self.state_dict)
        return net.eval()


def save_model(path: str | os.PathLike[str], model_file: ModelFile) -> Path:
    """Write ``model_file`` atomically (temporary file, then rename)."""
    p = Path(path)
    if not p.parent.exists():
        raise DetectError(f"{p}: output folder {p.parent} does not exist")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "features": model_file.features.to_dict(),
        "model": model_file.model.to_dict(),
        "calibration": model_file.calibration.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model_file.state_dict.items()},
        "meta": model_file.meta,
    }
    tmp = p.with_name(f".{p.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, p)
    return p


def load_plain_torch_file(path: Path) -> object:
    """``torch.load(path, weights_only=True)``, with a short reason in place of torch's error text.

    Torch's own messages for a refused or broken file advise loading it with
    ``weights_only=False``, which would run any code a crafted file holds; that advice must
    never reach a user.

    Raises
    ------
    DetectError
        With a short reason only (no file name): the caller says which file and what to do.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        text = str(exc)
        if "Unsupported global" in text:
            reason = "it holds Python objects, which are never loaded because they could run code"
        elif not zipfile.is_zipfile(path):
            reason = "not a PyTorch file, or it is truncated"
        else:
            reason = f"the file is damaged: {type(exc).__name__}"
        raise DetectError(reason) from None


def load_model_file(path: str | os.PathLike[str]) -> ModelFile:
    """Read a model file, refusing another format or version and anything but plain data.

    Raises
    ------
    DetectError
        Missing, unreadable, not a detector file, wrong version, or weights that do not fit.
    """
    p = Path(path)
    if not p.is_file():
        raise DetectError(f"{p}: detector model file not found")
    try:
        payload = load_plain_torch_file(p)
    except DetectError as exc:
        raise DetectError(f"{p}: not a voiceguard detector model ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DetectError(f"{p}: not a voiceguard detector model file")
    if payload.get("version") != VERSION:
        raise DetectError(f"{p}: detector model version {payload.get('version')!r}, this voiceguard reads version {VERSION}; retrain it")
    try:
        model_cfg = dict(payload["model"])
        model_cfg["channels"] = tuple(model_cfg["channels"])
        mf = ModelFile(FeatureConfig(**payload["features"]), ModelConfig(**model_cfg),
                       Calibration(**payload["calibration"]), dict(payload["state_dict"]), dict(payload.get("meta") or {}))
        mf.build()
    except (KeyError, TypeError, RuntimeError, ParameterError) as exc:
        raise DetectError(f"{p}: detector model file is damaged ({str(exc).splitlines()[0][:200]})") from None
    return mf


def checkpoint_path(out_path: Path) -> Path:
    """Where a run that writes ``out_path`` keeps its checkpoint: ``<name>.ckpt`` beside it."""
    return out_path.with_name(out_path.name + ".ckpt")


def write_checkpoint(path: Path, payload: dict) -> None:
    """Write a checkpoint atomically (temporary file, then rename): a kill leaves the previous one whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's payload, with ``run`` parsed to a dict.

    Raises
    ------
    DetectError
        Not a readable torch file, or one that does not say which run it belongs to.
    """
    try:
        payload = load_plain_torch_file(path)
    except DetectError as exc:
        raise DetectError(f"{path}: not a readable training checkpoint ({exc}); {CHECKPOINT_FIX}") from None
    try:
        saved_run = json.loads(payload["run"]) if isinstance(payload, dict) and "run" in payload else None
    except (TypeError, ValueError):
        saved_run = None
    if not isinstance(saved_run, dict):
        raise DetectError(f"{path}: checkpoint does not say which run it belongs to; {CHECKPOINT_FIX}")
    return {**payload, "run": saved_run}


def scheduler_state(saved: object, *, like: dict, epoch: int) -> dict:
    """``saved``, checked to hold the keys and value types of ``like`` (a fresh schedule) and to stand at ``epoch``.

    Torch's ``load_state_dict`` takes any dict and fails only at the next step.

    Raises
    ------
    ValueError
        ``saved`` is not such a schedule state.
    """
    if not (isinstance(saved, dict) and saved.keys() == like.keys()
            and all(type(saved[k]) is type(v) for k, v in like.items()) and saved.get("last_epoch") == epoch):
        raise ValueError("the learning-rate schedule state does not fit")
    return saved


def random_state(payload: dict, *, bit_generator: type) -> tuple[dict, torch.Tensor]:
    """The checkpoint's (numpy bit-generator state, torch RNG state), checked so that applying them cannot fail.

    Raises
    ------
    ValueError, TypeError
        Either state is not of the kind this generator or torch takes.
    """
    numpy_state = json.loads(payload["numpy_rng"])
    bit_generator(0).state = numpy_state  # raises for a state of another kind or shape
    torch_state = payload["torch_rng"]
    if not (isinstance(torch_state, torch.Tensor) and torch_state.dtype == torch.uint8
            and torch_state.shape == torch.get_rng_state().shape):
        raise ValueError("torch_rng is not a torch RNG state")
    return numpy_state, torch_state
