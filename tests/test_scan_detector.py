"""scan with a detector model: the threshold decides unmarked files, the watermark still comes first.

The model files here are small untrained networks whose calibration has scale 0, so
p_synthetic is a constant we choose (sigmoid(offset)): the tests check the scan's plumbing
and verdict logic, not the detector's accuracy (that is `voiceguard bench detect`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import chirp

from guard.audio import save
from guard.cli import cli
from guard.scan import ScanConfig, Scanner
from guard.scan_blocks import SCAN_RATE


def _model(path: Path, *, offset: float) -> Path:
    import torch

    from guard.detect.calibration import Calibration
    from guard.detect.features import FeatureConfig
    from guard.detect.io import ModelFile, save_model
    from guard.detect.model import DetectorNet, ModelConfig

    torch.manual_seed(0)
    features, config = FeatureConfig(), ModelConfig(channels=(4, 8), embedding=8)
    net = DetectorNet(features, config)
    return save_model(path, ModelFile(features, config, Calibration(scale=0.0, offset=offset), net.state_dict()))


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    return [save(tmp_path / "a.wav", chirp(200, 3000, 4.0), sample_rate=SCAN_RATE),
            save(tmp_path / "b.flac", chirp(500, 900, 7.0), sample_rate=SCAN_RATE)]


@pytest.mark.parametrize("offset, verdict", [(8.0, "likely-synthetic"), (-8.0, "no-evidence")])
def test_threshold_decides_unmarked_files(runner, tmp_path: Path, home, clips, offset, verdict) -> None:  # noqa: ANN001
    model = _model(tmp_path / "m.pt", offset=offset)
    result = runner.invoke(cli, ["scan", *map(str, clips), "--home", str(home.root), "--model", str(model), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected_p = 1 / (1 + np.exp(-offset))
    for row in rows:
        assert row["verdict"] == verdict and row["watermark"]["detected"] is False
        assert row["detector"]["p_synthetic"] == pytest.approx(expected_p)
        windows = row["detector"]["segments"]
        assert windows and windows[-1][1] == pytest.approx(row["duration_s"], abs=0.01)
        assert all(p == pytest.approx(expected_p, abs=1e-6) for _, _, p in windows)


def test_threshold_option_moves_the_line(runner, tmp_path: Path, home, clips) -> None:  # noqa: ANN001
    model = _model(tmp_path / "m.pt", offset=0.0)  # p_synthetic = 0.5 everywhere
    args = ["scan", str(clips[0]), "--home", str(home.root), "--model", str(model), "--json"]
    at_half = json.loads(runner.invoke(cli, args).stdout)
    above = json.loads(runner.invoke(cli, [*args, "--threshold", "0.6"]).stdout)
    assert at_half["verdict"] == "likely-synthetic" and above["verdict"] == "no-evidence"


def test_watermark_comes_before_the_detector(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    from guard.watermark import embed

    y = np.tile(speech, 4)[: 10 * SCAN_RATE]
    path = save(tmp_path / "m.wav", embed(y, sample_rate=SCAN_RATE, payload=7, key=home.watermark_key()), sample_rate=SCAN_RATE)
    scanner = Scanner(ScanConfig(home_dir=str(home.root), model_path=str(_model(tmp_path / "m.pt", offset=8.0))))
    result = scanner.scan(path)
    assert result.verdict == "watermarked" and result.detector["p_synthetic"] > 0.99


def test_pool_loads_the_model_in_each_worker(runner, tmp_path: Path, home, clips) -> None:  # noqa: ANN001
    model = _model(tmp_path / "m.pt", offset=8.0)
    base = ["scan", *map(str, clips * 2), "--home", str(home.root), "--model", str(model), "--json"]
    one = runner.invoke(cli, base)
    two = runner.invoke(cli, [*base, "--workers", "2"])
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout and len(two.stdout.splitlines()) == 2  # the same files once each


def test_damaged_model_is_one_error_line(runner, tmp_path: Path, home, clips) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file" * 10)
    result = runner.invoke(cli, ["scan", str(clips[0]), "--home", str(home.root), "--model", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(errors) == 1 and "bad.pt" in errors[0]


@pytest.mark.parametrize(("ps", "part"), [
    ([0.1, 0.9, 0.95, 0.2], (2.0, 7.0, 0.95)),  # two windows in a row: a part
    ([0.1, 0.9, 0.2, 0.9], None),  # single windows: not enough
    ([0.6, 0.7, 0.1, 0.8, 0.9, 0.99], (6.0, 13.0, 0.99)),  # the longer run wins; ties go to the first
    ([], None),
])
def test_synthetic_part_is_the_longest_run_of_windows_over_the_threshold(ps: list, part: tuple | None) -> None:
    from guard.scan_verdict import synthetic_part

    segments = [(2.0 * i, 2.0 * i + 3.0, p) for i, p in enumerate(ps)]
    assert synthetic_part(segments, threshold=0.5) == part


def test_a_synthetic_part_makes_the_verdict_and_names_its_span() -> None:
    from guard.scan_verdict import decide

    detector = {"p_synthetic": 0.12, "speech": True, "warning": None,
                "segments": [[0.0, 3.0, 0.01], [2.0, 5.0, 0.02], [4.0, 7.0, 0.95], [6.0, 9.0, 0.99], [8.0, 11.0, 0.03]]}
    verdict, reason = decide({"detected": False}, None, detector, threshold=0.5)
    assert verdict == "likely-synthetic"
    assert "detector: 4.0-9.0 s scores likely synthetic (p_synthetic up to 0.99) though the whole file scores 0.12" in reason
    assert "detector evidence only" in reason
    detector["segments"][3][2] = 0.2  # one window alone
    assert decide({"detected": False}, None, detector, threshold=0.5)[0] == "no-evidence"


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample").is_dir(),
                    reason="librispeech sample not present")
def test_speech_synthesis_hidden_inside_real_speech_is_found_where_it_is(tmp_path: Path) -> None:
    from cloner.tts import synthesize
    from guard.audio import load, save
    from guard.scan import ScanConfig, Scanner

    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample"
    real = np.concatenate([load(f, sample_rate=16000) for f in sorted(folder.glob("*.flac"))[200:204]])
    fake = synthesize("Every clip we make carries a mark and a signed record, so anyone can check where a voice "
                      "came from and who agreed to it.", voice="en-us", sample_rate=16000)
    at = 20 * 16000
    mixed = save(tmp_path / "hidden.wav", np.concatenate([real[:at], 0.3 * fake / np.abs(fake).max(), real[at:]]),
                 sample_rate=16000)
    scanner = Scanner(ScanConfig(home_dir=None))
    result = scanner.scan(mixed)
    assert result.verdict == "likely-synthetic" and result.detector["p_synthetic"] < 0.5
    start, end = (float(x) for x in result.reason.split("detector: ")[1].split(" s scores")[0].split("-"))
    assert start <= 21.0 and end >= 25.0 and end - start <= 12.0  # the 6.5 s of synthesis at 20 s, in its windows
    only_real = scanner.scan(save(tmp_path / "real.wav", real, sample_rate=16000))
    assert only_real.verdict == "no-evidence"
