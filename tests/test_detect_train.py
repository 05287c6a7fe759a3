"""Training end to end on tiny synthetic data, the detect CLI, the self-play builder and bench detect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from guard.audio import save
from guard.cli import cli
from guard.detect import load_model
from guard.detect.data import read_spec
from guard.detect.train import TrainConfig, train
from guard.errors import DatasetError, DetectError

SR = 16000


def _bona(rng: np.random.Generator) -> np.ndarray:
    """Noise shaped by a slow random envelope (a stand-in class, not speech)."""
    n = int(1.5 * SR)
    env = np.repeat(rng.uniform(0.2, 1.0, n // 800 + 1), 800)[:n]
    return (0.1 * env * rng.standard_normal(n)).astype(np.float32)


def _spoof(rng: np.random.Generator) -> np.ndarray:
    """A harmonic buzz at a random pitch (the other stand-in class)."""
    t = np.arange(int(1.5 * SR)) / SR
    f0 = rng.uniform(100, 200)
    return (0.05 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(5)
    lines = ["file,label,split,speaker,attack"]
    for split, n in (("train", 8), ("dev", 4), ("test", 4)):
        for i in range(n):
            for label, make in (("bonafide", _bona), ("spoof", _spoof)):
                rel = f"{split}/{label}/{i}.wav"
                (root / split / label).mkdir(parents=True, exist_ok=True)
                save(root / rel, make(rng), sample_rate=SR)
                lines.append(f"{rel},{label},{split},s{i},{'-' if label == 'bonafide' else 'buzz'}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    (root / "train" / "bonafide" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    (root / "manifest.csv").write_text((root / "manifest.csv").read_text() + "train/bonafide/broken.wav,bonafide,train,s9,-\n")
    return root


@pytest.fixture(scope="module")
def tiny_model(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "tiny.pt"
    messages: list[str] = []
    train(read_spec(tiny_corpus / "manifest.csv"), out, seed=3, quiet=True, log=messages.append,
          config=TrainConfig(epochs=2, views=1, batch_size=8))
    assert any("broken.wav" in m for m in messages), "an unreadable training file must be reported by name"
    return out


def test_training_learns_the_stand_in_classes(tiny_model: Path, tiny_corpus: Path) -> None:
    det = load_model(tiny_model)
    assert det.meta["seed"] == 3 and len(det.meta["history"]) == 2
    assert det.meta["n_train_clips"] == 16  # the broken file skipped
    rng = np.random.default_rng(99)
    bona = [det.score(_bona(rng), sample_rate=SR).p_synthetic for _ in range(3)]
    spoof = [det.score(_spoof(rng), sample_rate=SR).p_synthetic for _ in range(3)]
    assert max(bona) < min(spoof)
    assert not (tiny_model.parent / "tiny.pt.ckpt").exists()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda r: r, "data spec not found"),
        (lambda r: (r.mkdir(), r)[1], "no bonafide/ subfolder"),
        (lambda r: (r.parent.joinpath("x.txt").write_text("hi"), r.parent / "x.txt")[1], "is a .csv manifest or a folder"),
        (lambda r: (r.parent.joinpath("y.csv").write_text("file,label\na.wav,spoof\n"), r.parent / "y.csv")[1], "both classes"),
        (lambda r: (r.parent.joinpath("z.csv").write_text("file,label\na.wav,maybe\n"), r.parent / "z.csv")[1], "'maybe' is neither"),
    ],
)
def test_read_spec_errors(make, match: str, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(DetectError, match=match):
        read_spec(make(tmp_path / "spec"))


def test_train_refuses_a_split_without_both_classes(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    spec = tmp_path / "m.csv"
    spec.write_text("file,label,split\na.wav,bonafide,train\nb.wav,spoof,train\na.wav,bonafide,dev\n")
    with pytest.raises(DetectError, match=r"the split=dev rows hold no spoof files; mark some spoof rows split=dev"):
        train(read_spec(spec), tmp_path / "m.pt", seed=0, quiet=True, source=spec)
    with pytest.raises(DetectError, match="epochs >= 1"):
        TrainConfig(epochs=0)


def test_cli_score_json_and_errors(tiny_model: Path, tiny_corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    good = tiny_corpus / "test" / "spoof" / "0.wav"
    short = tmp_path / "short.wav"
    save(short, np.zeros(800, np.float32), sample_rate=SR)
    res = runner.invoke(cli, ["detect", "score", str(good), str(short), "--model", str(tiny_model), "--json"])
    assert res.exit_code == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    keys = {"file", "score", "p_synthetic", "segments", "warning", "voiced_s", "speech", "error", "file_bytes_hex"}
    assert len(rows) == 2 and set(rows[0]) == keys and rows[0]["error"] is None
    assert rows[1]["file"] == str(short) and "at least 0.25 s" in rows[1]["error"]  # every file gets its line
    assert set(rows[1]) == keys and all(rows[1][k] is None for k in keys - {"file", "error"})
    assert "Error:" in res.stderr and "short.wav" in res.stderr and "at least 0.25 s" in res.stderr
    res = runner.invoke(cli, ["detect", "score", str(good), "--model", str(tmp_path / "none.pt")])
    assert res.exit_code == 1 and res.stderr.strip().startswith("Error:") and "not found" in res.stderr
    assert "Traceback" not in res.output


def test_cli_train_writes_a_model(tiny_corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "cli.pt"
    res = runner.invoke(cli, ["detect", "train", "--data", str(tiny_corpus / "manifest.csv"), "-o", str(out),
                              "--epochs", "1", "--views", "1", "--seed", "1", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["model"] == str(out) and out.is_file() and 0.0 <= summary["best_dev_eer"] <= 1.0
    res = runner.invoke(cli, ["detect", "train", "--data", str(tmp_path / "nothing"), "-o", str(out)])
    assert res.exit_code == 1 and "Error:" in res.stderr and "data spec not found" in res.stderr
    res = runner.invoke(cli, ["detect", "train", "--data", str(tiny_corpus / "manifest.csv"), "-o", str(out), "--channels", "a,b"])
    assert res.exit_code == 2 and "--channels" in res.output and "comma-separated integers" in res.output


def test_bench_detect_on_a_folder(tiny_model: Path, tiny_corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "data"
    for label in ("bonafide", "spoof"):
        (folder / label).mkdir(parents=True)
        for p in sorted((tiny_corpus / "test" / label).glob("*.wav")):
            (folder / label / p.name).write_bytes(p.read_bytes())
    (folder / "spoof" / "unreadable.wav").write_bytes(b"RIFF1234WAVEjunk")
    out = tmp_path / "bench"
    res = runner.invoke(cli, ["bench", "detect", "--dataset", "folder", "--root", str(folder), "--model", str(tiny_model),
                              "--attacks", "none,telephone", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert set(results["cnn"]) == {"none", "telephone"} and results["gmm"] is None
    assert 0.0 <= results["cnn"]["none"]["eer"] <= 1.0 and results["n_files"] == 8
    assert results["cnn_x_realtime_1_thread"] > 0
    assert "unreadable.wav" in res.stderr
    assert (out / "det.png").is_file() and json.loads((out / "results.json").read_text())["dataset"] == "folder"
    res = runner.invoke(cli, ["bench", "detect", "--dataset", "folder", "--root", str(folder), "--model", str(tiny_model),
                              "--attacks", "none"])
    n_bona, n_spoof = results["cnn"]["none"]["n_bonafide"], results["cnn"]["none"]["n_spoof"]
    assert res.exit_code == 0 and f"({n_bona} bona fide, {n_spoof} spoof)" in res.stderr  # how many the EER rests on
    res = runner.invoke(cli, ["bench", "detect", "--dataset", "folder", "--root", str(folder), "--model", str(tiny_model), "--attacks", "nope"])
    assert res.exit_code == 2 and "unknown attack 'nope'" in res.output


def test_selfplay_builds_disjoint_splits(tmp_path: Path) -> None:
    from eval.datasets import load_dataset
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    src = tmp_path / "real"
    src.mkdir()
    rng = np.random.default_rng(0)
    for spk in range(8):  # stand-in "recordings" (made here, not real speech): the builder's mechanics only
        save(src / f"{100 + spk}-1-0000.flac", _bona(rng), sample_rate=SR)
    config = SelfplayConfig(librispeech=src, asterisk=None, espeak_clips={"train": 2, "dev": 1}, speaker_fractions=(0.5, 0.25, 0.25),
                            train_families=("espeak", "world"), dev_only_families=(), test_families=("griffinlim", "lpc"))
    manifest = build(tmp_path / "corpus", seed=0, config=config, quiet=True)
    rows = load_dataset("csv", manifest)
    by_split: dict[str, set] = {}
    for it in rows:
        by_split.setdefault(it.split, set()).add(it.speaker)
        assert it.path.is_file()
    assert not (by_split["train"] & by_split["test"]) and not (by_split["dev"] & by_split["test"])
    test_attacks = {it.attack for it in rows if it.split == "test" and it.label == "spoof"}
    train_attacks = {it.attack for it in rows if it.split != "test" and it.label == "spoof"}
    assert test_attacks == {"griffinlim", "lpc"} and train_attacks == {"espeak", "world"}
    with pytest.raises(DatasetError, match="in both training and test"):
        build(tmp_path / "bad", seed=0, config=SelfplayConfig(librispeech=src, asterisk=None, train_families=("lpc",), test_families=("lpc",)), quiet=True)
    with pytest.raises(DatasetError, match="no real speech found"):
        build(tmp_path / "none", seed=0, config=SelfplayConfig(librispeech=tmp_path / "absent", asterisk=None), quiet=True)


def test_interrupted_training_resumes_from_its_checkpoint(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.detect.train as train_module

    real_epoch = train_module.train_epoch
    calls = {"n": 0}

    def dies_in_epoch_two(state, *args, **kwargs):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(state, *args, **kwargs)

    out = tmp_path / "r.pt"
    items = read_spec(tiny_corpus / "manifest.csv")
    config = TrainConfig(epochs=2, views=1, batch_size=8)
    monkeypatch.setattr(train_module, "train_epoch", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(items, out, seed=3, quiet=True, config=config)
    assert (tmp_path / "r.pt.ckpt").is_file() and not out.exists()
    monkeypatch.setattr(train_module, "train_epoch", real_epoch)
    messages: list[str] = []
    mf = train(items, out, seed=3, quiet=True, config=config, resume=True, log=messages.append)
    assert any("resumed" in m and "after epoch 1" in m for m in messages)
    assert [h["epoch"] for h in mf.meta["history"]] == [1, 2] and out.is_file()
