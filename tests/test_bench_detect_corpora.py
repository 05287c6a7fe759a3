"""`voiceguard bench detect` on public-corpus layouts made here in miniature.

ASVspoof 2019 LA with or without the ``LA/`` level and min t-DCF from the organizers' ASV
score file; ASVspoof 2021's per-codec breakdown; a CSV whose ``train`` rows train the
LFCC-GMM baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import untrained_model_file

from guard.audio import load, save
from guard.cli import cli

SR = 16000
ASV_FILE = "ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{split}.gi.trl.scores.txt"


def _clip(path: Path, seed: int, seconds: float = 0.6) -> Path:
    """Seeded noise under a slow envelope (a stand-in clip, not speech)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    env = np.repeat(rng.uniform(0.2, 1.0, n // 400 + 1), 400)[:n]
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(path, (0.1 * env * rng.standard_normal(n)).astype(np.float32), sample_rate=SR)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_model_file(tmp_path_factory.mktemp("model") / "m.pt")


def _bench(runner, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["bench", "detect", *args])


# --- ASVspoof 2019 LA ---


def _asvspoof2019(base: Path, splits: tuple[str, ...] = ("eval",), n: int = 3) -> Path:
    """A tiny LA tree under ``base`` (the folder holding ASVspoof2019_LA_cm_protocols/)."""
    names = {"train": ("train.trn", "T"), "dev": ("dev.trl", "D"), "eval": ("eval.trl", "E")}
    for s, split in enumerate(splits):
        proto, tag = names[split]
        lines = []
        for i in range(n):
            _clip(base / f"ASVspoof2019_LA_{split}" / "flac" / f"LA_{tag}_100{i}.flac", seed=100 * s + i)
            _clip(base / f"ASVspoof2019_LA_{split}" / "flac" / f"LA_{tag}_200{i}.flac", seed=100 * s + 50 + i)
            lines += [f"LA_00{i:02d} LA_{tag}_100{i} - - bonafide", f"LA_00{i:02d} LA_{tag}_200{i} - A0{i + 7} spoof"]
        _write(base / "ASVspoof2019_LA_cm_protocols" / f"ASVspoof2019.LA.cm.{proto}.txt", "\n".join(lines) + "\n")
    return base


def _asv_trials(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"target": rng.normal(3.0, 1.0, 40), "nontarget": rng.normal(-3.0, 1.0, 40), "spoof": rng.normal(1.0, 1.5, 40)}


def _asv_file(base: Path, trials: dict[str, np.ndarray], split: str = "eval") -> Path:
    lines = [f"{'bonafide' if key != 'spoof' else f'A{7 + i % 4:02d}'} {key} {score:.6f}"
             for key, scores in trials.items() for i, score in enumerate(scores)]
    return _write(base / ASV_FILE.format(split=split), "\n".join(lines) + "\n")


def _cnn_scores(model: Path, base: Path) -> tuple[np.ndarray, np.ndarray]:
    """The detector's own scores of the eval clips, bona fide then spoof."""
    from guard.detect import load_model

    detector = load_model(model)
    flac = sorted((base / "ASVspoof2019_LA_eval" / "flac").glob("*.flac"))
    score = {p.stem: detector.score(load(p, sample_rate=SR), sample_rate=SR).score for p in flac}
    return (np.asarray([v for k, v in score.items() if k.startswith("LA_E_1")]),
            np.asarray([v for k, v in score.items() if k.startswith("LA_E_2")]))


@pytest.mark.parametrize("level", ["", "LA"])
def test_asvspoof2019_root_with_or_without_the_la_level(level: str, model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    _asvspoof2019(tmp_path / "corpus" / level)
    res = _bench(runner, "--dataset", "asvspoof2019", "--root", str(tmp_path / "corpus"), "--model", str(model),
                 "--attacks", "none", "--no-baseline", "--json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert results["split"] == "eval" and results["n_files"] == 6 and results["n_skipped"] == 0


def test_asvspoof2019_min_tdcf_from_the_organizers_asv_scores(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from eval.metrics import min_tdcf

    base = _asvspoof2019(tmp_path / "corpus" / "LA")
    trials = _asv_trials()
    path = _asv_file(base, trials)
    out = tmp_path / "out"
    res = _bench(runner, "--dataset", "asvspoof2019", "--root", str(tmp_path / "corpus"), "--model", str(model),
                 "--attacks", "none,telephone", "--no-baseline", "--out", str(out))
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    bona, spoof = _cnn_scores(model, base)
    expected = min_tdcf(bona, spoof, asv_target_scores=trials["target"], asv_nontarget_scores=trials["nontarget"],
                        asv_spoof_scores=trials["spoof"])
    assert results["cnn"]["none"]["min_tdcf"] == pytest.approx(expected, abs=1e-5)
    assert results["cnn"]["telephone"]["min_tdcf"] is not None
    assert results["asv"]["file"] == str(path.resolve()) and "organizers" in results["asv"]["system"]
    assert (results["asv"]["n_target"], results["asv"]["n_nontarget"], results["asv"]["n_spoof"]) == (40, 40, 40)
    assert results["asv"]["n_speakers"] is None  # the file does not name the enrolled speakers
    none_line = next(line for line in res.stderr.splitlines() if line.strip().startswith("none:"))
    assert f"(min t-DCF {results['cnn']['none']['min_tdcf']:.4f})" in none_line
    assert "min t-DCF needs" not in res.stderr


def test_asvspoof2019_without_asv_scores_says_once_that_min_tdcf_needs_them(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    _asvspoof2019(tmp_path)
    args = ["--dataset", "asvspoof2019", "--root", str(tmp_path), "--model", str(model), "--attacks", "none,telephone",
            "--no-baseline"]
    res = _bench(runner, *args)
    assert res.exit_code == 0, res.output
    assert res.stderr.count("min t-DCF needs") == 1
    assert "min t-DCF needs the organizers' ASV scores" in res.stderr and "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt" in res.stderr
    assert "(min t-DCF" not in res.stderr
    res = _bench(runner, *args, "--json")
    results = json.loads(res.stdout)
    assert results["asv"] is None and "min_tdcf" not in results["cnn"]["none"]
    res = _bench(runner, *args, "--no-asv")
    assert res.exit_code == 0 and "min t-DCF" not in res.stderr


def test_asvspoof2019_train_split_has_no_asv_scores(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    _asvspoof2019(tmp_path / "LA", splits=("train", "eval"))
    _asv_file(tmp_path / "LA", _asv_trials())
    res = _bench(runner, "--dataset", "asvspoof2019", "--root", str(tmp_path), "--split", "train", "--model", str(model),
                 "--attacks", "none", "--no-baseline")
    assert res.exit_code == 0, res.output
    assert "min t-DCF needs ASV scores, which ASVspoof 2019 LA gives for dev and eval only" in res.stderr


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("bonafide target", "expected 3 fields 'SOURCE KEY SCORE', given 'bonafide target'"),
        ("bonafide impostor 0.5", "key 'impostor' is none of target, nontarget, spoof"),
        ("A07 spoof high", "score 'high' is not a finite number"),
        ("A07 spoof nan", "score 'nan' is not a finite number"),
    ],
)
def test_a_malformed_asv_score_file_is_one_error_before_any_audio_is_read(line: str, detail: str, model: Path, runner,  # noqa: ANN001
                                                                          tmp_path: Path) -> None:
    base = _asvspoof2019(tmp_path)
    _write(base / ASV_FILE.format(split="eval"), f"bonafide target 2.0\n{line}\nbonafide nontarget -1\nA07 spoof 1\n")
    for p in (base / "ASVspoof2019_LA_eval" / "flac").glob("*"):
        p.unlink()  # loading them would name each one as skipped
    res = _bench(runner, "--dataset", "asvspoof2019", "--root", str(tmp_path), "--model", str(model), "--attacks", "none",
                 "--no-baseline")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.count("Error:") == 1 and f"ASVspoof2019.LA.asv.eval.gi.trl.scores.txt line 2: {detail}" in res.stderr
    assert "skipped" not in res.stderr


# --- ASVspoof 2021: the codec column ---


def _asvspoof2021(root: Path, track: str, rows: list[tuple[str, str]]) -> Path:
    """A tiny 2021 eval tree: one (codec, label) pair per file."""
    lines = []
    for i, (codec, label) in enumerate(rows):
        utt = f"{track}_E_{1000 + i}"
        _clip(root / f"ASVspoof2021_{track}_eval" / "flac" / f"{utt}.flac", seed=i if label == "bonafide" else 50 + i)
        attack = "-" if label == "bonafide" else "A07"
        lines.append(f"LA_00{i:02d} {utt} {codec} ita_tx {attack} {label} notrim eval")
    _write(root / "keys" / track / "CM" / "trial_metadata.txt", "\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("track", ["LA", "DF"])
def test_asvspoof2021_breaks_eer_down_by_codec(track: str, model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    rows = [(codec, label) for codec in ("alaw", "none") for label in ("bonafide", "spoof", "bonafide", "spoof")]
    rows.append(("gsm", "spoof"))  # a codec with spoofs only: a row that says so
    root = _asvspoof2021(tmp_path, track, rows)
    res = _bench(runner, "--dataset", f"asvspoof2021-{track.lower()}", "--root", str(root), "--model", str(model),
                 "--attacks", "none,telephone", "--no-baseline")
    assert res.exit_code == 0, res.output
    res_json = _bench(runner, "--dataset", f"asvspoof2021-{track.lower()}", "--root", str(root), "--model", str(model),
                      "--attacks", "none,telephone", "--no-baseline", "--json")
    results = json.loads(res_json.stdout)
    for condition in ("none", "telephone"):
        by_codec = results["cnn"][condition]["by_codec"]
        assert sorted(by_codec) == ["alaw", "gsm", "none"]
        assert [(by_codec[c]["n_bonafide"], by_codec[c]["n_spoof"]) for c in ("alaw", "gsm", "none")] == [(2, 2), (0, 1), (2, 2)]
        assert by_codec["alaw"]["eer"] is not None and by_codec["none"]["eer"] is not None
        assert by_codec["gsm"]["eer"] is None and by_codec["gsm"]["note"] == "no bonafide clip with this codec"
    lines = res.stderr.splitlines()
    table = lines[lines.index("EER by codec:") + 1:]
    assert table[0].split() == ["condition", "codec", "CNN", "EER", "bona", "fide", "spoof"]
    alaw = results["cnn"]["none"]["by_codec"]["alaw"]
    assert any(line.split() == ["none", "alaw", f"{100 * alaw['eer']:.2f}%", "2", "2"] for line in table)
    assert any(line.split() == ["telephone", "gsm", "n/a", "0", "1"] for line in table)


def test_a_codec_covering_every_file_has_the_overall_eer(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    root = _asvspoof2021(tmp_path, "LA", [("alaw", label) for label in ("bonafide", "spoof") * 3])
    res = _bench(runner, "--dataset", "asvspoof2021-la", "--root", str(root), "--model", str(model), "--attacks", "none",
                 "--no-baseline", "--json")
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["cnn"]["none"]
    assert {k: row["by_codec"]["alaw"][k] for k in ("eer", "threshold", "n_bonafide", "n_spoof")} == \
        {k: row[k] for k in ("eer", "threshold", "n_bonafide", "n_spoof")}


def test_corpora_without_a_codec_column_have_no_codec_breakdown(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    _asvspoof2019(tmp_path)
    res = _bench(runner, "--dataset", "asvspoof2019", "--root", str(tmp_path), "--model", str(model), "--attacks", "none",
                 "--no-baseline", "--json")
    assert res.exit_code == 0, res.output
    assert "by_codec" not in json.loads(res.stdout)["cnn"]["none"] and "EER by codec" not in res.stderr


# --- a CSV with a split column ---


def _csv(root: Path, splits: dict[str, int], *, name: str = "labels.csv", column: bool = True) -> Path:
    """``splits[s]`` bona fide and as many spoof rows in split ``s`` (no split column when not ``column``)."""
    lines = ["file,label,split" if column else "file,label"]
    seed = 0
    for split, n in splits.items():
        for i in range(n):
            for label in ("bonafide", "spoof"):
                rel = f"{split}/{label}{i}.wav"
                _clip(root / rel, seed=seed)
                seed += 1
                lines.append(f"{rel},{label},{split}" if column else f"{rel},{label}")
    return _write(root / name, "\n".join(lines) + "\n")


def test_csv_train_rows_train_the_baseline(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    csv = _csv(tmp_path, {"train": 4, "test": 2})
    res = _bench(runner, "--dataset", "csv", "--root", str(csv), "--split", "test", "--model", str(model), "--attacks", "none",
                 "--gmm-components", "2", "--json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert results["split"] == "test" and results["n_files"] == 4
    assert results["gmm_train"] == {"split": "train", "n_files": 8, "n_skipped": 0, "skipped": [], "limit": None}
    assert results["gmm"]["none"]["eer"] is not None and results["gmm_components"] == 2
    assert "no train split" not in res.stderr


@pytest.mark.parametrize(
    ("splits", "column", "split", "message"),
    [
        ({"test": 2}, False, None, "the csv layout has no train split, so the LFCC-GMM baseline is not run"),
        ({"dev": 2, "test": 2}, True, "test", "the csv layout has no train split, so the LFCC-GMM baseline is not run"),
        ({"train": 2, "test": 2}, True, None,
         "the csv train rows would train the LFCC-GMM baseline, but without --split all rows are scored, so it is not run "
         "(its EER would be measured on its own training data); pass --split test"),
        ({"train": 2, "test": 2}, True, "train",
         "but with --split train the train rows are scored, so it is not run (its EER would be measured on its own "
         "training data); pass --split test"),
    ],
)
def test_csv_without_usable_train_rows_runs_no_baseline_and_says_why(splits: dict[str, int], column: bool, split: str | None,  # noqa: ANN001
                                                                      message: str, model: Path, runner, tmp_path: Path) -> None:
    csv = _csv(tmp_path, splits, column=column)
    args = ["--dataset", "csv", "--root", str(csv), "--model", str(model), "--attacks", "none"]
    res = _bench(runner, *args, *(["--split", split] if split else []))
    assert res.exit_code == 0, res.output
    assert message in res.stderr and "training the LFCC-GMM" not in res.stderr
    res = _bench(runner, *args, *(["--split", split] if split else []), "--json")
    results = json.loads(res.stdout)
    assert results["gmm"] is None and results["gmm_train"] is None and message in results["gmm_not_run"]


def test_csv_train_rows_of_one_class_are_refused_with_the_baseline_hint(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    csv = _csv(tmp_path, {"test": 2})
    _clip(tmp_path / "train" / "b.wav", seed=99)
    csv.write_text(csv.read_text() + "train/b.wav,bonafide,train\n")
    res = _bench(runner, "--dataset", "csv", "--root", str(csv), "--split", "test", "--model", str(model), "--attacks", "none")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "the train split of csv has no spoof clips; it is needed for the LFCC-GMM baseline; pass --no-baseline" in res.stderr
