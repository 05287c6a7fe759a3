"""`voiceguard bench detect`'s LFCC-GMM baseline: never scored on its own training split, what the limits cap, the per-attack table.

Every loader keeps one rule: when the scored split is the one the baseline trains on, the
baseline is not run, a line says why and ``gmm_not_run`` carries the same line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import untrained_model_file
from test_bench_detect_corpora import _asvspoof2019, _clip, _csv, _write

from guard.cli import cli

NOT_ON_TRAIN = "(its EER would be measured on its own training data)"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_model_file(tmp_path_factory.mktemp("model") / "m.pt")


def _bench(runner, model: Path, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["bench", "detect", "--model", str(model), "--gmm-components", "2", "--no-asv", *args])


def _selfplay(root: Path, *, per_class: dict[str, int], attacks: tuple[str, ...] = ("buzz",)) -> Path:
    """A self-play manifest: ``per_class[split]`` bona fide clips and as many spoofs, the spoofs' attacks in turn."""
    lines = ["file,label,split,speaker,attack"]
    seed = 0
    for split, n in per_class.items():
        for i in range(n):
            for label in ("bonafide", "spoof"):
                rel = f"{split}/{label}/{i}.wav"
                _clip(root / rel, seed=seed)
                seed += 1
                lines.append(f"{rel},{label},{split},s{i},{'-' if label == 'bonafide' else attacks[i % len(attacks)]}")
    _write(root / "manifest.csv", "\n".join(lines) + "\n")
    return root


def _asvspoof5(root: Path, n: int = 2) -> Path:
    """A tiny ASVspoof 5 tree with train and eval protocols (9 tab-separated fields a line)."""
    for split, (proto, folder) in {"train": ("ASVspoof5.train.tsv", "flac_T"),
                                   "eval": ("ASVspoof5.eval.track_1.tsv", "flac_E_eval")}.items():
        lines = []
        for i in range(n):
            for k, label in enumerate(("bonafide", "spoof")):
                utt = f"{folder[5]}_{split}_{label}_{i}"
                _clip(root / folder / f"{utt}.flac", seed=10 * i + k + (0 if split == "train" else 100))
                attack = "-" if label == "bonafide" else "A01"
                lines.append("\t".join([f"T_{i:04d}", utt, "F", "-", "-", "-", "-", attack, label]))
        _write(root / "ASVspoof5_protocols" / proto, "\n".join(lines) + "\n")
    return root


def _corpus(dataset: str, root: Path) -> Path:
    if dataset == "asvspoof2019":
        return _asvspoof2019(root, splits=("train", "eval"), n=2)
    if dataset == "asvspoof5":
        return _asvspoof5(root)
    if dataset == "selfplay":
        return _selfplay(root, per_class={"train": 2, "test": 2})
    return _csv(root, {"train": 2, "dev": 2})


@pytest.mark.parametrize(
    ("dataset", "split", "message"),
    [
        ("asvspoof2019", "train", "the asvspoof2019 train files would train the LFCC-GMM baseline, but with --split train "
                                  f"the train files are scored, so it is not run {NOT_ON_TRAIN}; pass --split eval"),
        ("asvspoof5", "train", "the asvspoof5 train files would train the LFCC-GMM baseline, but with --split train "
                               f"the train files are scored, so it is not run {NOT_ON_TRAIN}; pass --split eval"),
        ("selfplay", "train", "the selfplay train files would train the LFCC-GMM baseline, but with --split train "
                              f"the train files are scored, so it is not run {NOT_ON_TRAIN}; pass --split test"),
        ("csv", "train", "the csv train rows would train the LFCC-GMM baseline, but with --split train "
                         f"the train rows are scored, so it is not run {NOT_ON_TRAIN}; pass --split dev"),
        ("csv", None, "the csv train rows would train the LFCC-GMM baseline, but without --split all rows "
                      f"are scored, so it is not run {NOT_ON_TRAIN}; pass --split dev"),
    ],
)
def test_no_loader_scores_the_baseline_on_its_training_split(dataset: str, split: str | None, message: str, model: Path,  # noqa: ANN001
                                                              runner, tmp_path: Path) -> None:
    root = _corpus(dataset, tmp_path / "corpus")
    out = tmp_path / "out"
    res = _bench(runner, model, "--dataset", dataset, "--root", str(root), "--attacks", "none", "--out", str(out),
                 *(["--split", split] if split else []))
    assert res.exit_code == 0, res.output
    assert res.stderr.count(message) == 1 and "training the LFCC-GMM" not in res.stderr and "LFCC-GMM EER" not in res.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["gmm"] is None and results["gmm_train"] is None and results["gmm_components"] is None
    assert results["gmm_not_run"] == message
    assert results["cnn"]["none"]["eer"] is not None  # the CNN is still scored on that split


@pytest.mark.parametrize(("dataset", "split"), [("asvspoof2019", "eval"), ("asvspoof5", None), ("selfplay", "test"),
                                                ("csv", "dev")])
def test_another_split_is_scored_by_a_baseline_trained_on_train(dataset: str, split: str | None, model: Path, runner,  # noqa: ANN001
                                                                tmp_path: Path) -> None:
    root = _corpus(dataset, tmp_path / "corpus")
    res = _bench(runner, model, "--dataset", dataset, "--root", str(root), "--attacks", "none", "--json",
                 *(["--split", split] if split else []))
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert results["gmm_not_run"] is None and results["gmm_train"]["split"] == "train"
    assert results["gmm_train"]["n_files"] == 4 and results["gmm"]["none"]["eer"] is not None
    assert results["split"] != "train"


def test_layouts_without_a_train_split_and_no_baseline_say_so_in_the_json(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    for i in range(2):
        _clip(tmp_path / "bonafide" / f"b{i}.wav", seed=i)
        _clip(tmp_path / "spoof" / "tts" / f"s{i}.wav", seed=10 + i)
    res = _bench(runner, model, "--dataset", "folder", "--root", str(tmp_path), "--attacks", "none", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["gmm_not_run"] == "the folder layout has no train split, so the LFCC-GMM baseline is not run"
    res = _bench(runner, model, "--dataset", "folder", "--root", str(tmp_path), "--attacks", "none", "--no-baseline")
    assert res.exit_code == 0 and "LFCC-GMM" not in res.stderr  # asked for: nothing to explain on stderr
    res = _bench(runner, model, "--dataset", "folder", "--root", str(tmp_path), "--attacks", "none", "--no-baseline", "--json")
    assert json.loads(res.stdout)["gmm_not_run"] == "--no-baseline was given"


# --- --limit and --gmm-train-limit ---


def test_limit_caps_the_scored_files_only(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    root = _selfplay(tmp_path / "sp", per_class={"train": 4, "test": 4})
    res = _bench(runner, model, "--dataset", "selfplay", "--root", str(root), "--attacks", "none", "--limit", "2")
    assert res.exit_code == 0, res.output
    assert "training the LFCC-GMM baseline (2 components) on 8 clips" in res.stderr
    res = _bench(runner, model, "--dataset", "selfplay", "--root", str(root), "--attacks", "none", "--limit", "2", "--json")
    results = json.loads(res.stdout)
    assert results["n_files"] == 4 and results["limit"] == 2
    assert (results["cnn"]["none"]["n_bonafide"], results["cnn"]["none"]["n_spoof"]) == (2, 2)
    assert results["gmm_train"]["n_files"] == 8 and results["gmm_train"]["limit"] is None


def test_gmm_train_limit_caps_the_baselines_training_files(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    root = _selfplay(tmp_path / "sp", per_class={"train": 4, "test": 3})
    args = ["--dataset", "selfplay", "--root", str(root), "--attacks", "none", "--gmm-train-limit", "2", "--json"]
    res = _bench(runner, model, *args)
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert results["n_files"] == 6 and results["limit"] is None
    assert results["gmm_train"] == {"split": "train", "n_files": 4, "n_skipped": 0, "skipped": [], "limit": 2}
    again = json.loads(_bench(runner, model, *args).stdout)
    assert again["gmm"] == results["gmm"]  # the draw is seeded


@pytest.mark.parametrize("option", ["--limit", "--gmm-train-limit"])
@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_a_bad_limit_is_a_usage_error(option: str, value: str, model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    root = _selfplay(tmp_path / "sp", per_class={"train": 1, "test": 1})
    res = _bench(runner, model, "--dataset", "selfplay", "--root", str(root), "--attacks", "none", option, value)
    assert res.exit_code == 2 and option in res.stderr and "Traceback" not in res.output


def test_help_says_what_each_limit_caps(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "detect", "--help"], terminal_width=200)
    text = " ".join(res.output.split())
    assert "Score at most N files per class of the scored split" in text
    assert "the baseline's training files are not capped by it" in text
    assert "Train the LFCC-GMM baseline on at most N files per class of its train split" in text


# --- the per-attack table ---


def _attack_tables(stderr: str) -> dict[str, dict[str, list[str]]]:
    """system -> attack -> the row's cells, read from the "EER by attack (SYSTEM):" tables."""
    tables: dict[str, dict[str, list[str]]] = {}
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("EER by attack ("):
            system = line[len("EER by attack ("):-2]
            header = lines[i + 1].split()
            rows = {}
            for row in lines[i + 2:]:
                cells = row.split()
                if len(cells) != len(header) or row.startswith("EER by"):
                    break
                rows[cells[0]] = cells[1:]
            tables[system] = {"header": header[1:], **rows}
    return tables


def test_the_per_attack_table_prints_the_jsons_by_attack(model: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    root = _selfplay(tmp_path / "sp", per_class={"train": 3, "test": 4}, attacks=("buzz", "lpc_vocoder"))
    out = tmp_path / "out"
    res = _bench(runner, model, "--dataset", "selfplay", "--root", str(root), "--attacks", "none,telephone", "--out", str(out))
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    tables = _attack_tables(res.stderr)
    assert set(tables) == {"CNN", "LFCC-GMM"}
    for system, key in (("CNN", "cnn"), ("LFCC-GMM", "gmm")):
        table = tables[system]
        assert table["header"] == ["none", "telephone"]
        assert set(table) - {"header"} == {"buzz", "lpc_vocoder"}
        for attack in ("buzz", "lpc_vocoder"):
            expected = [f"{100 * results[key][c]['by_attack'][attack]['eer']:.2f}%" for c in ("none", "telephone")]
            assert table[attack] == expected


def test_the_per_attack_table_says_na_where_a_condition_lacks_the_attack() -> None:
    from eval.detect_rows import attack_table

    assert attack_table({"cnn": {"none": {"eer": None, "by_attack": {}}}, "gmm": None}) == []
    row = {"eer": 0.1, "by_attack": {"A07": {"eer": 0.25}}}
    lines = attack_table({"cnn": {"none": row, "telephone": {"eer": None, "by_attack": {}}}, "gmm": None})
    assert lines[0] == "EER by attack (CNN):" and lines[2].split() == ["A07", "25.00%", "n/a"]
