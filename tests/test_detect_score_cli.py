"""`detect score`: --max-duration like scan's, JSON lines of one shape, and help that says what p_synthetic is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import untrained_model_file

from guard.audio import DEFAULT_MAX_DURATION_S, save
from guard.cli import cli
from guard.detect.cli import score_command
from guard.detect.model import ModelConfig

SR = 16000
KEYS = {"file", "score", "p_synthetic", "segments", "warning", "voiced_s", "speech", "error", "file_bytes_hex"}
TOO_LONG = ("is 3.0 s long, over the maximum of 2 s; cut it into shorter files; or raise the limit with "
            "--max-duration SECONDS (about 0.8 GB of memory per hour of audio)")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_model_file(tmp_path_factory.mktemp("score") / "m.pt", model=ModelConfig(channels=(4, 8)))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """3 s of seeded noise."""
    return save(tmp_path / "three.wav", (0.1 * np.random.default_rng(1).standard_normal(3 * SR)).astype(np.float32), sample_rate=SR)


def test_a_file_over_max_duration_is_an_error_naming_the_option(model: Path, clip: Path, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["detect", "score", str(clip), "--model", str(model), "--max-duration", "2"])
    assert res.exit_code == 1 and res.stderr.splitlines() == [f"Error: {clip}: {TOO_LONG}"]
    res = runner.invoke(cli, ["detect", "score", str(clip), "--model", str(model), "--max-duration", "2", "--json"])
    row = json.loads(res.stdout)
    assert res.exit_code == 1 and row["error"] == f"{clip}: {TOO_LONG}"


def test_raising_max_duration_scores_the_file(model: Path, clip: Path, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["detect", "score", str(clip), "--model", str(model), "--max-duration", "3.5", "--json"])
    row = json.loads(res.stdout)
    assert res.exit_code == 0 and row["error"] is None and row["file"] == str(clip) and len(row["segments"]) == 1


def test_max_duration_defaults_to_scans_limit(runner) -> None:  # noqa: ANN001
    option = next(p for p in score_command.params if p.name == "max_duration_s")
    assert option.default == DEFAULT_MAX_DURATION_S == 7200
    assert "--max-duration SECONDS" in runner.invoke(cli, ["detect", "score", "--help"]).output


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_bad_max_duration_is_a_usage_error(value: str, model: Path, clip: Path, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["detect", "score", str(clip), "--model", str(model), "--max-duration", value])
    assert res.exit_code == 2 and "--max-duration" in res.output and "Traceback" not in res.output


def test_json_error_lines_carry_every_key_of_a_scored_line(model: Path, clip: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    missing = tmp_path / "gone.wav"
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00")
    res = runner.invoke(cli, ["detect", "score", str(missing), str(clip), str(broken), "--model", str(model), "--json"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.exit_code == 1 and [r["file"] for r in rows] == [str(missing), str(clip), str(broken)]
    assert all(set(r) == KEYS for r in rows)
    assert rows[1]["error"] is None and isinstance(rows[1]["p_synthetic"], float)
    for row in (rows[0], rows[2]):
        assert row["error"].startswith(row["file"]) and all(row[k] is None for k in KEYS - {"file", "error"})
    errors = res.stderr.splitlines()
    assert len(errors) == 2 and all(e.startswith("Error: ") for e in errors)


def test_the_help_says_what_p_synthetic_is_calibrated_on_and_how_much_to_trust_it(runner) -> None:  # noqa: ANN001
    text = " ".join(runner.invoke(cli, ["detect", "score", "--help"], terminal_width=200).output.split())
    assert "calibration fitted on the dev split of the model's training corpus" in text
    assert "It is a probability only for audio like that corpus; on other audio" in text
    assert "weak supporting evidence" in text
    assert "calibrated probability of synthetic speech" not in text
    assert "error (null, or the message; the other keys are then null)" in text


def test_a_name_that_is_not_utf8_is_shown_as_its_bytes_in_json_and_on_stderr(model: Path, clip: Path, runner,  # noqa: ANN001
                                                                            tmp_path: Path) -> None:
    import os
    import shutil

    odd = tmp_path / os.fsdecode(b"caf\xe9.wav")
    shutil.copy(clip, odd)
    gone = tmp_path / os.fsdecode(b"gone\xe9.wav")
    res = runner.invoke(cli, ["detect", "score", str(odd), str(gone), "--model", str(model), "--json"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.exit_code == 1 and [r["file"] for r in rows] == [f"{tmp_path}/caf\\xe9.wav", f"{tmp_path}/gone\\xe9.wav"]
    assert "\\udc" not in res.stdout and "\udce9" not in res.stderr and f"{tmp_path}/gone\\xe9.wav" in res.stderr
    assert rows[0]["error"] is None and rows[1]["p_synthetic"] is None and "gone\\xe9.wav" in rows[1]["error"]
    assert [r["file_bytes_hex"] for r in rows] == [os.fsencode(str(odd)).hex(), os.fsencode(str(gone)).hex()]
