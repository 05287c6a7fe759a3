"""Train/dev split errors of `detect train` name the data file (CSV or folder) and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guard.audio import save
from guard.cli import cli
from guard.detect.data import LabeledFile, read_spec, split_items
from guard.detect.model import ModelConfig
from guard.detect.train import TrainConfig, train
from guard.errors import DetectError

SR = 16000
RANDOM_FIX = "or drop the split column to draw 15% of the files for dev at random"


def _manifest(folder: Path, rows: list[tuple[str, str]]) -> Path:
    """A CSV of ``(label, split)`` rows naming files that need not exist (splitting comes before loading)."""
    lines = ["file,label,split"] + [f"{label}{i}.wav,{label},{split}" for i, (label, split) in enumerate(rows)]
    path = folder / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("bonafide", "train"), ("spoof", "train")],
         "no rows with split=dev; mark some bonafide and some spoof rows split=dev, " + RANDOM_FIX),
        ([("bonafide", "train"), ("spoof", "train"), ("bonafide", "dev"), ("bonafide", "dev")],
         "the split=dev rows hold no spoof files; mark some spoof rows split=dev, " + RANDOM_FIX),
        ([("bonafide", "train"), ("spoof", "dev"), ("bonafide", "dev"), ("spoof", "test")],
         "the split=train rows hold no spoof files; mark some spoof rows split=train, " + RANDOM_FIX),
        ([("bonafide", "test"), ("spoof", "test")],
         "no rows with split=train; mark some bonafide and some spoof rows split=train, " + RANDOM_FIX),
    ],
)
def test_a_csv_split_without_both_classes_names_the_csv_and_the_fix(rows: list[tuple[str, str]], message: str, runner,  # noqa: ANN001
                                                                    tmp_path: Path) -> None:
    csv = _manifest(tmp_path, rows)
    with pytest.raises(DetectError) as info:
        train(read_spec(csv), tmp_path / "m.pt", seed=0, quiet=True, source=csv)
    assert str(info.value) == f"{csv}: {message}"
    res = runner.invoke(cli, ["detect", "train", "--data", str(csv), "-o", str(tmp_path / "m.pt"), "--epochs", "1"])
    assert res.exit_code == 1 and res.stderr.splitlines() == [f"Error: {csv}: {message}"]
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "m.pt.ckpt").exists()


def test_a_random_split_without_both_classes_names_the_folder_and_the_fix(runner, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "data"
    for label in ("bonafide", "spoof"):
        (folder / label).mkdir(parents=True)
        for i in range(2):
            (folder / label / f"{i}.wav").write_bytes(b"")  # never read: the split is refused first
    res = runner.invoke(cli, ["detect", "train", "--data", str(folder), "-o", str(tmp_path / "m.pt"), "--seed", "0"])
    assert res.exit_code == 1  # seed 0 draws one spoof file of the four for dev, leaving train without spoof
    assert res.stderr.splitlines() == [
        f"Error: {folder}: the random split (15% of 4 files drawn for dev with the seed) left the train split with no "
        "spoof files; add files of both classes, or list them in a CSV manifest with a split column "
        "(file,label,split) to choose the dev files"]


def test_split_items_keeps_the_split_column_and_leaves_the_rng_alone() -> None:
    items = [LabeledFile(Path(f"{s}{lab}.wav"), lab, s) for s in ("train", "dev", "test") for lab in ("bonafide", "spoof")]
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    train_items, dev_items = split_items(items, dev_fraction=0.15, rng=rng)
    assert [it.split for it in train_items] == ["train", "train"] and [it.split for it in dev_items] == ["dev", "dev"]
    assert rng.bit_generator.state == before
    with pytest.raises(DetectError, match=r"^training data: no rows with split=dev"):
        split_items(items[:2], dev_fraction=0.15, rng=rng)


def test_a_split_emptied_by_unreadable_files_names_the_data_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = ["file,label,split"]
    for i in range(2):
        for label in ("bonafide", "spoof"):
            save(tmp_path / f"{label}{i}.wav", (0.1 * rng.standard_normal(int(1.2 * SR))).astype(np.float32), sample_rate=SR)
            rows.append(f"{label}{i}.wav,{label},train")
    save(tmp_path / "devb.wav", (0.1 * rng.standard_normal(int(1.2 * SR))).astype(np.float32), sample_rate=SR)
    (tmp_path / "devs.wav").write_bytes(b"RIFF\x00\x00")
    rows += ["devb.wav,bonafide,dev", "devs.wav,spoof,dev"]
    csv = tmp_path / "m.csv"
    csv.write_text("\n".join(rows) + "\n")
    warnings: list[str] = []
    with pytest.raises(DetectError) as info:
        train(read_spec(csv), tmp_path / "m.pt", seed=0, quiet=True, source=csv, warn=warnings.append,
              config=TrainConfig(epochs=1, views=1, batch_size=4), model=ModelConfig(channels=(4, 8)))
    assert str(info.value) == (f"{csv}: after skipping unreadable files the dev split holds no spoof files; "
                               "replace the files named above")
    assert len(warnings) == 1 and "devs.wav" in warnings[0]
