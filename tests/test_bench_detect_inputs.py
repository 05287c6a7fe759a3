"""`voiceguard bench detect` on bad input: short and unreadable clips are named and skipped, options checked up front."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import untrained_model_file

from guard.audio import load, save
from guard.cli import cli
from guard.errors import DetectError

SR = 16000


def _clip(path: Path, seconds: float, seed: int) -> Path:
    """Seeded noise under a slow envelope, ``seconds`` long (a stand-in clip, not speech)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    env = np.repeat(rng.uniform(0.2, 1.0, n // 400 + 1), 400)[:n]
    path.parent.mkdir(parents=True, exist_ok=True)
    save(path, (0.1 * env * rng.standard_normal(n)).astype(np.float32), sample_rate=SR)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_model_file(tmp_path_factory.mktemp("model") / "m.pt")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i in range(3):
        _clip(root / "bonafide" / f"b{i}.wav", 0.6, seed=i)
        _clip(root / "spoof" / "tts" / f"s{i}.wav", 0.6, seed=10 + i)
    return root


def _bench(runner, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["bench", "detect", *args])


def test_a_clip_under_the_minimum_is_named_and_skipped(corpus: Path, model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    _clip(corpus / "spoof" / "tts" / "tiny.wav", 10 / SR, seed=20)
    (corpus / "spoof" / "tts" / "broken.wav").symlink_to(tmp_path / "nowhere.wav")
    out = tmp_path / "out"
    res = _bench(runner, "--dataset", "folder", "--root", str(corpus), "--model", str(model), "--attacks", "none",
                 "--no-baseline", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert results == json.loads((out / "results.json").read_text())
    assert results["n_files"] == 6 and results["n_skipped"] == 2
    reasons = {Path(s["file"]).name: s["reason"] for s in results["skipped"]}
    assert set(reasons) == {"tiny.wav", "broken.wav"} and "shorter than the detector's 0.25 s" in reasons["tiny.wav"]
    assert "tiny.wav" in res.stderr and "broken.wav" in res.stderr
    assert results["split"] == "all" and results["root"] == str(corpus.resolve()) and results["model"] == str(model.resolve())


def test_an_attack_that_shortens_a_clip_skips_it_for_that_condition_only(corpus: Path, model: Path, runner) -> None:  # noqa: ANN001
    _clip(corpus / "spoof" / "tts" / "short.wav", 0.26, seed=21)
    res = _bench(runner, "--dataset", "folder", "--root", str(corpus), "--model", str(model), "--attacks", "none,speed_1.05",
                 "--no-baseline", "-q", "--json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    clean, fast = results["cnn"]["none"], results["cnn"]["speed_1.05"]
    assert clean["n_skipped"] == 0 and clean["n_spoof"] == 4
    assert fast["n_skipped"] == 1 and fast["n_spoof"] == 3 and fast["eer"] is not None
    assert Path(fast["skipped"][0]["file"]).name == "short.wav" and "0.25 s" in fast["skipped"][0]["reason"]
    assert "short.wav under speed_1.05" in res.stderr


def test_per_clip_scoring_errors_are_skipped_not_fatal() -> None:
    from eval.detect_run import _score_condition
    from guard.detect.data import LabeledFile

    clips = [(LabeledFile(Path(f"{i}.wav"), "spoof"), np.zeros(4)) for i in range(3)]

    def score(z: np.ndarray) -> float:
        if z[0] == 1:
            raise DetectError("clip is 0.001 s long; the detector needs at least 0.25 s")
        return float("nan") if z[0] == 2 else 0.5

    attacked = [np.array([0.0]), np.array([1.0]), np.array([2.0])]
    scores, skipped = _score_condition(clips, attacked, score, label="none (GMM)")
    assert scores[0] == 0.5 and np.isnan(scores[1:]).all()
    assert [s["file"] for s in skipped] == ["1.wav", "2.wav"] and "0.25 s" in skipped[0]["reason"]


def _selfplay(root: Path, *, train_spoof: bool = True) -> Path:
    lines = ["file,label,split,speaker,attack"]
    for s, split in enumerate(("train", "test")):
        for i in range(3):
            for k, label in enumerate(("bonafide", "spoof")):
                if label == "spoof" and split == "train" and not train_spoof:
                    continue
                rel = f"{split}/{label}/{i}.wav"
                _clip(root / rel, 0.6, seed=100 * s + 10 * k + i)
                lines.append(f"{rel},{label},{split},s{i},{'-' if label == 'bonafide' else 'buzz'}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def test_gmm_scoring_error_skips_the_clip(tmp_path: Path, model: Path, runner, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from eval import baseline_gmm

    root = _selfplay(tmp_path / "sp")
    real = baseline_gmm.GmmBaseline.score
    first = load(root / "test" / "spoof" / "1.wav", sample_rate=SR)

    def failing(self, y: np.ndarray, *, sample_rate: int) -> float:  # noqa: ANN001
        if y.shape == first.shape and np.allclose(y, first):
            raise DetectError("LFCC frames could not be computed")
        return real(self, y, sample_rate=sample_rate)

    monkeypatch.setattr(baseline_gmm.GmmBaseline, "score", failing)
    res = _bench(runner, "--dataset", "selfplay", "--root", str(root), "--model", str(model), "--attacks", "none",
                 "--gmm-components", "2", "--no-asv", "-q", "--json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert results["split"] == "test" and results["gmm_train"]["n_files"] == 6
    assert results["gmm"]["none"]["n_skipped"] == 1 and results["cnn"]["none"]["n_skipped"] == 0
    assert "1.wav under none (GMM): LFCC frames could not be computed" in res.stderr


def test_missing_train_split_is_refused_before_the_eval_set_is_loaded(tmp_path: Path, model: Path, runner) -> None:  # noqa: ANN001
    proto = tmp_path / "asv" / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.eval.trl.txt"
    proto.parent.mkdir(parents=True)
    proto.write_text("LA_0079 LA_E_1 - - bonafide\nLA_0080 LA_E_2 - A07 spoof\n")  # audio absent: loading it would print skips
    res = _bench(runner, "--dataset", "asvspoof2019", "--root", str(tmp_path / "asv"), "--model", str(model), "--attacks", "none")
    assert res.exit_code == 1 and "needed for the LFCC-GMM baseline; pass --no-baseline" in res.stderr
    assert "skipped" not in res.stderr and "Traceback" not in res.output
    root = _selfplay(tmp_path / "sp", train_spoof=False)
    res = _bench(runner, "--dataset", "selfplay", "--root", str(root), "--model", str(model), "--attacks", "none", "--no-asv")
    assert res.exit_code == 1 and "no rows of split 'train'" not in res.stderr
    assert "train split of selfplay has no spoof clips" in res.stderr and "pass --no-baseline" in res.stderr


def test_bad_out_is_refused_before_any_work(corpus: Path, model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "afile").write_text("")
    (corpus / "spoof" / "bad.wav").write_bytes(b"not audio")
    res = _bench(runner, "--dataset", "folder", "--root", str(corpus), "--model", str(model), "--attacks", "none",
                 "--no-baseline", "--out", str(tmp_path / "afile" / "sub"))
    assert res.exit_code == 2 and "--out" in res.stderr and "cannot create folder" in res.stderr
    assert "bad.wav" not in res.stderr, "nothing may be loaded before --out is checked"


def test_split_dataset_and_attack_options_are_usage_errors(corpus: Path, model: Path, runner) -> None:  # noqa: ANN001
    from eval.bench_detect import DATASETS
    from eval.datasets import LOADERS

    assert set(DATASETS) == set(LOADERS)
    base = ["--root", str(corpus), "--model", str(model), "--no-baseline"]
    res = _bench(runner, "--dataset", "folder", "--split", "test", *base)
    assert res.exit_code == 2 and "the folder layout has no splits; drop --split" in res.stderr
    res = _bench(runner, "--dataset", "asvspoof2021-la", "--split", "bogus", *base)
    assert res.exit_code == 2 and "progress, eval, hidden_track" in res.stderr
    res = _bench(runner, "--dataset", "nope", *base)
    assert res.exit_code == 2 and "asvspoof2019" in res.stderr
    res = _bench(runner, "--dataset", "folder", "--attacks", ",", *base)
    assert res.exit_code == 2 and "--attacks" in res.stderr


def test_duplicates_warn_and_one_class_names_what_is_missing(tmp_path: Path, model: Path, runner) -> None:  # noqa: ANN001
    for i in range(2):
        _clip(tmp_path / f"b{i}.wav", 0.6, seed=i)
        _clip(tmp_path / f"s{i}.wav", 0.6, seed=5 + i)
    (tmp_path / "labels.csv").write_text("file,label\nb0.wav,bonafide\nb0.wav,bonafide\nb1.wav,bonafide\ns0.wav,spoof\ns1.wav,spoof\n")
    res = _bench(runner, "--dataset", "csv", "--root", str(tmp_path), "--model", str(model), "--attacks", "none", "-q", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n_files"] == 4 and "b0.wav is listed again" in res.stderr
    (tmp_path / "one.csv").write_text("file,label\nb0.wav,bonafide\nbad.wav,spoof\n")
    (tmp_path / "bad.wav").write_bytes(b"junk")
    res = _bench(runner, "--dataset", "csv", "--root", str(tmp_path / "one.csv"), "--model", str(model), "--attacks", "none")
    assert res.exit_code == 1 and "has no spoof clips after skipping 1 unusable file(s)" in res.stderr
