"""eval.bench_scan: the mixed corpus has the promised files, and every timed scan gives one row per file."""

from __future__ import annotations

import json
from pathlib import Path

from guard.cli import cli
from guard.scan_collect import collect


def test_corpus_counts(tmp_path: Path) -> None:
    from eval.bench_scan import make_corpus

    corpus = make_corpus(tmp_path / "c", n_files=24, seed=3, watermark_key=None)
    files, skipped = collect([tmp_path / "c"])
    assert len(files) == corpus["files"] == 24 and len(skipped) == corpus["skipped"] == 2
    assert corpus["broken"] == 3 and corpus["marked"] == 0
    assert {f.suffix for f in files} >= {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"}
    assert 21 * 4.0 <= corpus["audio_s"] <= 21 * 10.0


def test_bench_cli_json_and_plot(runner, tmp_path: Path) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["bench", "scan", "--files", "20", "--repeats", "1", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["one_row_per_file"] is True and sum(data["verdicts"].values()) == 20
    assert data["verdicts"]["error"] == data["corpus"]["broken"]
    assert set(data["x_realtime_per_worker"]) == set(data["x_realtime_per_cpu_s"]) == {"1", "2"} and data["speedup"] > 0
    assert json.loads((tmp_path / "scan.json").read_text()) == data
    assert (tmp_path / "scan.png").read_bytes().startswith(b"\x89PNG")
