"""Bad inputs to detector training and scoring: short clips, skipped files, checkpoints, options, NaN models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import untrained_model_file

from guard.audio import save
from guard.cli import cli
from guard.detect import load_model
from guard.detect.data import read_spec
from guard.detect.features import FeatureConfig
from guard.detect.io import load_model_file
from guard.detect.model import ModelConfig
from guard.detect.train import TrainConfig, train
from guard.errors import DetectError, GuardError, ParameterError

SR = 16000
SMALL = ModelConfig(channels=(4, 8))
FAST = TrainConfig(epochs=2, views=1, batch_size=8)


def _noise(rng: np.random.Generator, seconds: float = 1.2) -> np.ndarray:
    return (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32)


def _buzz(rng: np.random.Generator, seconds: float = 1.2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(100, 200)
    return (0.05 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 10))).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder corpus (bonafide/, spoof/) with one unreadable file and one 10-sample clip."""
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(2)
    for label, make in (("bonafide", _noise), ("spoof", _buzz)):
        (root / label).mkdir()
        for i in range(8):
            save(root / label / f"{i}.wav", make(rng), sample_rate=SR)
    save(root / "spoof" / "tiny.wav", np.full(10, 0.1, np.float32), sample_rate=SR)
    (root / "bonafide" / "empty.wav").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def checkpoint(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint an interrupted 2-epoch run leaves after epoch 1 (``run.pt.ckpt``)."""
    import guard.detect.train as train_module

    real_epoch, calls = train_module.train_epoch, {"n": 0}

    def dies_in_epoch_two(state, *args, **kwargs):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(state, *args, **kwargs)

    out = tmp_path_factory.mktemp("ckpt") / "run.pt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train_module, "train_epoch", dies_in_epoch_two)
        with pytest.raises(KeyboardInterrupt):
            train(read_spec(corpus), out, seed=0, quiet=True, config=FAST, model=SMALL)
    ckpt = out.with_name("run.pt.ckpt")
    assert ckpt.is_file()
    return ckpt


def _copy_ckpt(ckpt: Path, tmp_path: Path) -> Path:
    """A fresh copy of the checkpoint beside ``tmp_path/run.pt``; returns the model path."""
    shutil.copy(ckpt, tmp_path / "run.pt.ckpt")
    return tmp_path / "run.pt"


def _rewrite(ckpt: Path, *, drop: tuple[str, ...] = (), **changes: object) -> None:
    """Rewrite a checkpoint with some entries replaced (``changes``) or removed (``drop``)."""
    payload = torch.load(ckpt, weights_only=True)
    payload.update(changes)
    for key in drop:
        del payload[key]
    torch.save(payload, ckpt)


def test_short_and_unreadable_clips_are_skipped_named_and_recorded(corpus: Path, tmp_path: Path) -> None:
    progress: list[str] = []
    warnings: list[str] = []
    mf = train(read_spec(corpus), tmp_path / "m.pt", seed=0, quiet=True, config=TrainConfig(epochs=1, views=1, batch_size=8),
               model=SMALL, log=progress.append, warn=warnings.append)
    tiny = [w for w in warnings if "tiny.wav" in w]
    assert len(tiny) == 1 and "0.001 s, shorter than the detector's 0.25 s" in tiny[0]
    assert any("empty.wav" in w for w in warnings) and not any("skipped" in m for m in progress)
    assert mf.meta["n_skipped"] == 2
    assert {Path(s["file"]).name for s in mf.meta["skipped"]} == {"tiny.wav", "empty.wav"}
    assert load_model(tmp_path / "m.pt").meta["n_skipped"] == 2


@pytest.mark.parametrize("flag", ["--json", "-q"])
def test_cli_train_names_skipped_files_even_when_quiet(flag: str, corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "q.pt"
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus), "-o", str(out), "--epochs", "1", "--views", "1",
                              "--batch-size", "8", "--channels", "4,8", flag])
    assert res.exit_code == 0, res.output
    assert "tiny.wav" in res.stderr and "empty.wav" in res.stderr
    assert "epoch 1/1" not in res.stderr and "wrote " not in res.stderr  # progress and the summary line stay silent
    if flag == "--json":
        summary = json.loads(res.stdout)
        assert summary["n_skipped"] == 2 and {Path(s["file"]).name for s in summary["skipped"]} == {"tiny.wav", "empty.wav"}


def test_resume_continues_a_matching_checkpoint(checkpoint: Path, corpus: Path, tmp_path: Path) -> None:
    out = _copy_ckpt(checkpoint, tmp_path)
    messages: list[str] = []
    mf = train(read_spec(corpus), out, seed=0, quiet=True, config=FAST, model=SMALL, resume=True, log=messages.append)
    assert any("after epoch 1" in m for m in messages) and [h["epoch"] for h in mf.meta["history"]] == [1, 2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": FeatureConfig(kind="linspec", n_filters=32)}, r"features\.kind: checkpoint 'logmel', now 'linspec'"),
        ({"model": ModelConfig(channels=(4, 16))}, r"model\.channels"),
        ({"config": TrainConfig(epochs=3, views=1, batch_size=8)}, r"train\.epochs: checkpoint 2, now 3"),
        ({"seed": 1}, r"seed: checkpoint 0, now 1"),
    ],
)
def test_resume_refuses_a_checkpoint_of_another_run(kwargs: dict, match: str, checkpoint: Path, corpus: Path, tmp_path: Path) -> None:
    out = _copy_ckpt(checkpoint, tmp_path)
    args = {"seed": 0, "config": FAST, "model": SMALL, **kwargs}
    with pytest.raises(DetectError, match=match) as info:
        train(read_spec(corpus), out, quiet=True, resume=True, **args)
    assert str(info.value).startswith(f"{out}.ckpt: checkpoint is from another run")
    assert str(info.value).endswith("give the settings of that run, or start over with --force instead of --resume")


def test_resume_refuses_a_checkpoint_of_other_data(checkpoint: Path, corpus: Path, tmp_path: Path) -> None:
    out = _copy_ckpt(checkpoint, tmp_path)
    items = [it for it in read_spec(corpus) if it.path.name != "7.wav"]
    with pytest.raises(DetectError, match=r"data: checkpoint .* --force instead of --resume"):
        train(items, out, seed=0, quiet=True, config=FAST, model=SMALL, resume=True)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:5000]), "not a readable training checkpoint"),
        (lambda p: p.write_bytes(b""), "not a readable training checkpoint"),
        (lambda p: torch.save({"net": {}, "epoch": 1}, p), "does not say which run"),
    ],
)
def test_damaged_checkpoint_is_one_error_naming_it(damage, match: str, checkpoint: Path, corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = _copy_ckpt(checkpoint, tmp_path)
    damage(tmp_path / "run.pt.ckpt")
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus), "-o", str(out), "--epochs", "2", "--views", "1",
                              "--batch-size", "8", "--channels", "4,8", "--seed", "0", "--resume", "-q"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and match in errors[0] and f"{out}.ckpt" in errors[0] and "--force instead of --resume" in errors[0]
    assert "weights_only" not in res.stderr


@pytest.mark.parametrize(
    ("changes", "drop", "match"),
    [
        ({"numpy_rng": '{"bit_generator": "PCG64"}'}, (), "training checkpoint is damaged"),
        ({"numpy_rng": "not json"}, (), "training checkpoint is damaged"),
        ({"torch_rng": torch.zeros(3)}, (), "training checkpoint is damaged"),
        ({"scheduler": {"last_epoch": "x"}}, (), "training checkpoint is damaged"),
        ({}, ("numpy_rng", "torch_rng", "scheduler"), "written by an older voiceguard, without the random-number state"),
    ],
)
def test_a_checkpoint_without_usable_random_state_is_refused(changes: dict, drop: tuple, match: str, checkpoint: Path,
                                                             corpus: Path, tmp_path: Path) -> None:
    out = _copy_ckpt(checkpoint, tmp_path)
    _rewrite(tmp_path / "run.pt.ckpt", drop=drop, **changes)
    with pytest.raises(DetectError, match=match) as info:
        train(read_spec(corpus), out, seed=0, quiet=True, config=FAST, model=SMALL, resume=True)
    assert str(info.value).startswith(f"{out}.ckpt: ") and str(info.value).endswith("start over with --force instead of --resume")
    assert "\n" not in str(info.value) and not out.exists()


def test_cli_resume_with_other_channels_is_one_error(checkpoint: Path, corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = _copy_ckpt(checkpoint, tmp_path)
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus), "-o", str(out), "--epochs", "2", "--views", "1",
                              "--batch-size", "8", "--channels", "8,8", "--seed", "0", "--resume", "-q"])
    assert res.exit_code == 1 and "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    assert res.stderr.startswith("Error: ") and "model.channels" in res.stderr and "--force instead of --resume" in res.stderr


def test_cli_train_keeps_an_existing_model_unless_forced(corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "keep.pt"
    out.write_bytes(b"precious")
    args = ["detect", "train", "--data", str(corpus), "-o", str(out), "--epochs", "1", "--views", "1", "--batch-size", "8",
            "--channels", "4,8", "-q"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 1 and f"Error: {out} already exists" in res.stderr and "--force" in res.stderr
    assert out.read_bytes() == b"precious"
    res = runner.invoke(cli, [*args, "--force"])
    assert res.exit_code == 0, res.output
    assert load_model_file(out).model.channels == (4, 8)
    assert "--force" in runner.invoke(cli, ["detect", "train", "--help"]).output


@pytest.mark.parametrize(
    ("extra", "match"),
    [(["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"), (["--lr", "0"], "--lr"), (["--lr", "-1e-3"], "--lr"),
     (["-o", ""], "-o"), (["--channels", "16,abc"], "--channels"), (["--channels", "8,0"], "--channels"),
     (["--channels", ""], "--channels"), (["--channels", "100000"], "--channels"),
     (["--channels", "8,8,8,8,8,8,8,8,8"], "--channels")],
)
def test_cli_train_bad_values_are_usage_errors(extra: list[str], match: str, corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus), "-o", str(tmp_path / "x.pt"), "--epochs", "1", *extra])
    assert res.exit_code == 2 and match in res.output and "Traceback" not in res.output
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0, -1.0])
def test_train_config_refuses_a_bad_learning_rate(lr: float) -> None:
    with pytest.raises(ParameterError, match="learning_rate must be a finite number > 0"):
        TrainConfig(learning_rate=lr)


def test_train_refuses_an_empty_output_name(corpus: Path) -> None:
    with pytest.raises(ParameterError, match="out_path must name a model file"):
        train(read_spec(corpus), "", seed=0, quiet=True, config=FAST, model=SMALL)


def test_diverged_training_stops_with_one_clear_error(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.detect.train as train_module

    monkeypatch.setattr(train_module, "train_epoch", lambda *args, **kwargs: float("nan"))
    with pytest.raises(DetectError, match=r"^training diverged \(loss NaN\) at epoch 1; lower --lr$"):
        train(read_spec(corpus), tmp_path / "d.pt", seed=0, quiet=True, config=FAST, model=SMALL)
    assert not (tmp_path / "d.pt").exists()


@pytest.fixture
def nan_model(tmp_path: Path) -> Path:
    path = untrained_model_file(tmp_path / "nanw.pt", model=SMALL)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    torch.save(payload, path)
    return path


def test_a_model_giving_nan_is_an_error_not_a_nan_score(nan_model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    clip = tmp_path / "c.wav"
    save(clip, _noise(np.random.default_rng(0)), sample_rate=SR)
    with pytest.raises(DetectError, match=r"c\.wav: the detector model gave a NaN"):
        load_model(nan_model).score(_noise(np.random.default_rng(0)), sample_rate=SR, path=clip)
    res = runner.invoke(cli, ["detect", "score", str(clip), "--model", str(nan_model), "--json"])
    assert res.exit_code == 1 and ": NaN" not in res.stdout
    row = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert row["file"] == str(clip) and "NaN or infinite score" in row["error"]
    assert res.stderr.startswith(f"Error: {clip}: the detector model gave a NaN")


def test_short_clip_error_carries_the_path_when_given(tmp_path: Path) -> None:
    det = load_model(untrained_model_file(tmp_path / "m.pt", model=SMALL))
    with pytest.raises(DetectError, match=r"^clip is 0\.001 s long; the detector needs at least 0\.25 s$") as info:
        det.score(np.zeros(16, np.float32), sample_rate=SR)
    assert isinstance(info.value, GuardError)
    with pytest.raises(DetectError, match=r"^/data/tiny\.wav: clip is 0\.001 s long"):
        det.score(np.zeros(16, np.float32), sample_rate=SR, path="/data/tiny.wav")


class _Evil:
    def __reduce__(self):  # noqa: ANN204 - what a malicious pickle does
        return (print, ("pwned",))


@pytest.mark.parametrize(
    ("write", "reason"),
    [
        (lambda p: torch.save({"x": _Evil()}, p), "holds Python objects"),
        (lambda p: p.write_bytes(b"not a torch file at all"), "not a PyTorch file"),
        (lambda p: p.write_bytes(Path(untrained_model_file(p.with_name("ok.pt"))).read_bytes()[:5000]), "truncated"),
    ],
)
def test_model_load_errors_never_advise_weights_only_false(write, reason: str, runner, tmp_path: Path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.pt"
    write(bad)
    with pytest.raises(DetectError, match=rf"^{bad}: not a voiceguard detector model \(.*{reason}.*\)$") as info:
        load_model(bad)
    assert "weights_only" not in str(info.value) and "\n" not in str(info.value)
    clip = tmp_path / "c.wav"
    save(clip, _noise(np.random.default_rng(0)), sample_rate=SR)
    res = runner.invoke(cli, ["detect", "score", str(clip), "--model", str(bad)])
    assert res.exit_code == 1 and "weights_only" not in res.output and "Traceback" not in res.output
    assert [ln for ln in res.stderr.splitlines() if ln.strip()] == [f"Error: {info.value}"]
