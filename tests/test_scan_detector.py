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
from guard.scan import SCAN_RATE, ScanConfig, Scanner


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
