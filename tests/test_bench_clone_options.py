"""`voiceguard bench clone` options: -q silences stderr as on the other benches; --out is made only by a run that writes.

The measurement itself (minutes per voice) is replaced by a canned result: these tests are
about the command around it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.bench_clone import gaps
from guard.cli import cli

ROW = {"mcd_db": 7.5, "f0_rmse_cents": 120.0, "f0_corr": 0.8, "similarity": 0.7, "wer": 0.2}


def _measured(name: str, **kwargs) -> dict:  # noqa: ANN003
    metrics = {kind: dict(ROW) for kind in ("tts", "clone", "ceiling")}
    metrics["real"] = {"similarity": 0.9, "wer": 0.1}
    return {"voice": name, "kind": "synthetic persona", "sample_rate": 16000, "speech_s": 180.0, "n_recordings": 40,
            "n_test": kwargs["n_test"], "steps": 10, "postfilter_steps": 0, "train_s": 12.0, "tts_settings": {},
            "metrics": metrics, **gaps(metrics), "synthesis_rtf": 0.1,
            "clone_call": {"audio_s": 9.0, "wall_s": 1.0, "rtf": 0.11, "watermark_detected": True,
                           "payload_matches": True}}


@pytest.fixture
def canned(monkeypatch) -> None:  # noqa: ANN001
    import eval.bench_clone as bench

    monkeypatch.setattr(bench, "measure_voice", _measured)


@pytest.mark.parametrize(("flags", "quiet"), [([], False), (["-q"], True), (["--quiet"], True)])
def test_quiet_silences_stderr_and_keeps_the_results_file(canned, runner, tmp_path: Path, flags: list[str],
                                                          quiet: bool) -> None:  # noqa: ANN001
    out = tmp_path / "results"
    res = runner.invoke(cli, ["bench", "clone", "--voice", "nova", "--out", str(out), *flags])
    assert res.exit_code == 0, res.output
    assert (res.stderr == "") == quiet and res.stdout == ""
    if not quiet:
        assert "bench clone: nova" in res.stderr and "watermark verified" in res.stderr
    assert json.loads((out / "clone.json").read_text())["voices"][0]["voice"] == "nova"


def test_quiet_with_json_prints_only_the_json(canned, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "clone", "--voice", "orson", "--json", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stderr == "" and json.loads(res.stdout)["voices"][0]["voice"] == "orson"


@pytest.mark.parametrize("later", [["--test", "1"], ["--seed", "-1"], ["--voice", "nobody"], ["--no-such-option"]])
def test_a_usage_error_after_out_leaves_no_folder(runner, tmp_path: Path, later: list[str]) -> None:  # noqa: ANN001
    out = tmp_path / "new" / "results"
    res = runner.invoke(cli, ["bench", "clone", "--out", str(out), *later])
    assert res.exit_code == 2, res.output
    assert list(tmp_path.iterdir()) == []
