"""`detect train --resume` continues the same run; an interrupt says how; a checkpoint is never silently thrown away."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from guard.audio import save
from guard.cli import cli, main
from guard.detect.data import read_spec
from guard.detect.io import ModelFile, load_model_file
from guard.detect.model import ModelConfig
from guard.detect.train import TrainConfig, train
from guard.errors import DetectError

SR = 16000
SMALL = ModelConfig(channels=(4, 8))
CONFIG = TrainConfig(epochs=3, views=2, batch_size=8)
SEED = 7
CLI_ARGS = ["--epochs", "3", "--views", "2", "--batch-size", "8", "--channels", "4,8", "--features", "logmel",
            "--filters", "64", "--seed", str(SEED)]


def _bona(rng: np.random.Generator) -> np.ndarray:
    """Noise under a slow random envelope (a stand-in class, not speech)."""
    n = int(1.2 * SR)
    env = np.repeat(rng.uniform(0.2, 1.0, n // 800 + 1), 800)[:n]
    return (0.1 * env * rng.standard_normal(n)).astype(np.float32)


def _spoof(rng: np.random.Generator) -> np.ndarray:
    """A harmonic buzz at a random pitch, with a little noise (the other stand-in class)."""
    t = np.arange(int(1.2 * SR)) / SR
    f0 = rng.uniform(100, 200)
    buzz = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    return (0.05 * buzz + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labelled folder (no split column: the dev split is drawn with the seed, so resuming must repeat the draw)."""
    root = tmp_path_factory.mktemp("resume_corpus")
    rng = np.random.default_rng(11)
    for label, make in (("bonafide", _bona), ("spoof", _spoof)):
        (root / label).mkdir()
        for i in range(12):
            save(root / label / f"{i}.wav", make(rng), sample_rate=SR)
    return root


@pytest.fixture(scope="module")
def uninterrupted(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> ModelFile:
    return train(read_spec(corpus), tmp_path_factory.mktemp("whole") / "whole.pt", seed=SEED, quiet=True, config=CONFIG, model=SMALL)


def _stop_after_epoch(n: int):  # noqa: ANN202
    """A progress callback that raises KeyboardInterrupt (as Ctrl-C would) once epoch ``n`` is reported."""
    def log(message: str) -> None:
        if message.startswith(f"epoch {n}/"):
            raise KeyboardInterrupt
    return log


@pytest.fixture(scope="module")
def interrupted(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The checkpoint a run stopped after epoch 1 leaves, and what it told ``warn``."""
    out = tmp_path_factory.mktemp("cut") / "cut.pt"
    warnings: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        train(read_spec(corpus), out, seed=SEED, quiet=True, config=CONFIG, model=SMALL, log=_stop_after_epoch(1),
              warn=warnings.append)
    assert not out.exists()
    return out.with_name("cut.pt.ckpt"), warnings


def _copy_checkpoint(ckpt: Path, folder: Path) -> Path:
    """A copy of the checkpoint beside ``folder/cut.pt``; returns the model path."""
    shutil.copy(ckpt, folder / "cut.pt.ckpt")
    return folder / "cut.pt"


def test_a_resumed_run_ends_with_the_uninterrupted_runs_weights_and_calibration(
        interrupted: tuple[Path, list[str]], uninterrupted: ModelFile, corpus: Path, tmp_path: Path) -> None:
    out = _copy_checkpoint(interrupted[0], tmp_path)
    messages: list[str] = []
    resumed = train(read_spec(corpus), out, seed=SEED, quiet=True, config=CONFIG, model=SMALL, resume=True, log=messages.append)
    assert messages[0] == f"resumed from {out}.ckpt after epoch 1"
    assert resumed.state_dict.keys() == uninterrupted.state_dict.keys()
    assert all(torch.equal(resumed.state_dict[k], uninterrupted.state_dict[k]) for k in uninterrupted.state_dict)
    assert resumed.calibration == uninterrupted.calibration
    assert resumed.meta["history"] == uninterrupted.meta["history"]
    assert resumed.meta["best_dev_eer"] == uninterrupted.meta["best_dev_eer"]
    on_disk = load_model_file(out)
    assert all(torch.equal(on_disk.state_dict[k], uninterrupted.state_dict[k]) for k in uninterrupted.state_dict)
    assert not out.with_name("cut.pt.ckpt").exists()


def test_an_interrupt_says_where_the_checkpoint_is_and_how_to_resume(interrupted: tuple[Path, list[str]]) -> None:
    ckpt, warnings = interrupted
    assert warnings == [f"interrupted: {ckpt} holds the run after epoch 1 of 3; run the same command with --resume to continue it"]
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1


def test_an_interrupt_before_the_first_epoch_says_there_is_nothing_to_resume(corpus: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.detect.train as train_module

    def ctrl_c(*args: object, **kwargs: object) -> float:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train_epoch", ctrl_c)
    warnings: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        train(read_spec(corpus), tmp_path / "m.pt", seed=SEED, quiet=True, config=CONFIG, model=SMALL, warn=warnings.append)
    assert warnings == ["interrupted before the first epoch ended: no checkpoint was written, so there is nothing to resume"]
    assert not (tmp_path / "m.pt.ckpt").exists()


def test_the_cli_names_the_checkpoint_on_ctrl_c_and_exits_130(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import guard.detect.train as train_module

    real_epoch, calls = train_module.train_epoch, []

    def ctrl_c_in_epoch_two(*args: object, **kwargs: object) -> float:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", ctrl_c_in_epoch_two)
    out = tmp_path / "c.pt"
    monkeypatch.setattr(sys, "argv", ["voiceguard", "detect", "train", "--data", str(corpus), "-o", str(out), *CLI_ARGS, "-q"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 130
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln]  # click itself prints an empty line on Ctrl-C
    assert lines == [f"interrupted: {out}.ckpt holds the run after epoch 1 of 3; run the same command with "
                                "--resume to continue it", "Error: interrupted"]


def test_a_checkpoint_without_resume_is_refused_and_kept(interrupted: tuple[Path, list[str]], corpus: Path, runner,  # noqa: ANN001
                                                         tmp_path: Path) -> None:
    out = _copy_checkpoint(interrupted[0], tmp_path)
    before = out.with_name("cut.pt.ckpt").read_bytes()
    expected = (f"{out}.ckpt: an unfinished training of this output left this checkpoint; add --resume to continue it, "
                "or --force to delete it and start over")
    with pytest.raises(DetectError) as info:
        train(read_spec(corpus), out, seed=SEED, quiet=True, config=CONFIG, model=SMALL)
    assert str(info.value) == expected
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus), "-o", str(out), *CLI_ARGS])
    assert res.exit_code == 1 and res.stderr.splitlines() == [f"Error: {expected}"]
    assert out.with_name("cut.pt.ckpt").read_bytes() == before and not out.exists()


def test_force_deletes_the_checkpoint_and_starts_over(interrupted: tuple[Path, list[str]], corpus: Path, runner,  # noqa: ANN001
                                                      tmp_path: Path) -> None:
    out = _copy_checkpoint(interrupted[0], tmp_path)
    res = runner.invoke(cli, ["detect", "train", "--data", str(corpus), "-o", str(out), "--epochs", "1", "--views", "1",
                              "--batch-size", "8", "--channels", "4,8", "--force"])
    assert res.exit_code == 0, res.output
    assert f"--force: deleted the checkpoint {out}.ckpt of an earlier run; training starts from epoch 1" in res.stderr
    assert "epoch 1/1" in res.stderr and load_model_file(out).model.channels == (4, 8)
    assert not out.with_name("cut.pt.ckpt").exists()


def test_resume_without_a_checkpoint_says_it_starts_at_epoch_one(corpus: Path, tmp_path: Path) -> None:
    warnings: list[str] = []
    mf = train(read_spec(corpus), tmp_path / "n.pt", seed=SEED, quiet=True, config=TrainConfig(epochs=1, views=1, batch_size=8),
               model=SMALL, resume=True, warn=warnings.append)
    assert warnings == [f"--resume: there is no checkpoint {tmp_path / 'n.pt.ckpt'}, so training starts from epoch 1"]
    assert [h["epoch"] for h in mf.meta["history"]] == [1]


def test_a_folder_in_the_checkpoints_place_is_one_error(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "m.pt.ckpt").mkdir()
    with pytest.raises(DetectError, match=r"m\.pt\.ckpt: in the way of the training checkpoint \(not a file\); move it"):
        train(read_spec(corpus), tmp_path / "m.pt", seed=SEED, quiet=True, config=CONFIG, model=SMALL, resume=True)
