"""guard.scan on long files: blocks that tile the detector's windows, bounded inputs, joined findings, progress."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from guard import progress
from guard.audio import save
from guard.cli import cli
from guard.detect.scoring import HOP_S, WINDOW_S, window_starts
from guard.errors import ParameterError
from guard.scan import ScanConfig, Scanner
from guard.scan_blocks import BLOCK_OVERLAP_S, BLOCK_S, SCAN_RATE, block_bounds
from guard.scan_overview import overview
from guard.watermark.result import join

SR = SCAN_RATE


@pytest.mark.parametrize("seconds, block_s", [(0.5, BLOCK_S), (60.0, BLOCK_S), (BLOCK_S + 3.0, BLOCK_S),
                                              (BLOCK_S + 3.001, BLOCK_S), (BLOCK_S + 5.0, BLOCK_S),
                                              (3600.0, BLOCK_S), (700.0, 300.0), (61.37, 20.0), (24.0, 2.0)])
def test_blocks_hold_exactly_the_whole_files_detector_windows(seconds: float, block_s: float) -> None:
    n = int(round(seconds * SR))
    window, hop = int(WINDOW_S * SR), int(HOP_S * SR)
    bounds = block_bounds(n, sample_rate=SR, block_s=block_s)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert (len(bounds) == 1) == (n <= block_s * SR + window)  # a clip up to a block and a window: whole, as before
    assert all(stop - start <= block_s * SR + window for start, stop in bounds)
    in_blocks = [start + s for start, stop in bounds for s in window_starts(stop - start, window=window, hop=hop)]
    assert in_blocks == window_starts(n, window=window, hop=hop)


@pytest.mark.parametrize("block_s, ok", [(120.0, True), (2.0, True), (3.0, False), (0.0, False), (-2.0, False),
                                         (float("nan"), False)])
def test_block_length_is_checked(block_s: float, ok: bool) -> None:
    if ok:
        assert block_bounds(10 * SR, sample_rate=SR, block_s=block_s)
        return
    with pytest.raises(ParameterError, match="block_s"):
        block_bounds(10 * SR, sample_rate=SR, block_s=block_s)
    with pytest.raises(ParameterError, match="block_s"):
        Scanner(ScanConfig(block_s=block_s))


def _long_speech(speech: np.ndarray, seconds: float) -> np.ndarray:
    return np.tile(speech, int(np.ceil(seconds * SR / speech.shape[0])))[: int(seconds * SR)]


def test_no_part_sees_more_than_a_block(tmp_path: Path, home, rng: np.random.Generator,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """What holds the memory (the verifier's echo search, the detector's voicing measure) grows with
    its input: a long file must reach them a block at a time."""
    import guard.watermark

    path = save(tmp_path / "long.wav", (0.05 * rng.standard_normal(45 * SR)).astype(np.float32), sample_rate=SR)
    scanner = Scanner(ScanConfig(home_dir=str(home.root), block_s=20.0))
    seen: dict[str, list[int]] = {"verify": [], "score": []}
    real_verify, real_score = guard.watermark.verify, scanner.detector.score

    def verify(y, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen["verify"].append(y.shape[0])
        return real_verify(y, **kwargs)

    def score(y, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen["score"].append(y.shape[0])
        return real_score(y, **kwargs)

    monkeypatch.setattr(guard.watermark, "verify", verify)
    monkeypatch.setattr(scanner.detector, "score", score)
    result = scanner.scan(path)
    assert result.verdict != "error" and len(seen["verify"]) == len(seen["score"]) == 3
    assert max(seen["score"]) <= (20.0 + WINDOW_S) * SR
    assert max(seen["verify"]) <= (20.0 + WINDOW_S + BLOCK_OVERLAP_S) * SR
    assert sum(seen["score"]) < 1.1 * 45.0 * SR  # blocks overlap by a window less a hop only


def test_blocks_give_the_whole_files_findings(tmp_path: Path, home, speech: np.ndarray) -> None:  # noqa: ANN001
    from guard.watermark import embed

    y = _long_speech(speech, 44.0)
    piece = slice(15 * SR, 25 * SR)  # a marked clip across the boundary of the first two blocks (20 s)
    y[piece] = embed(y[piece], sample_rate=SR, payload=0x0BADCAFE, key=home.watermark_key())
    path = save(tmp_path / "spliced.wav", y, sample_rate=SR)
    whole = Scanner(ScanConfig(home_dir=str(home.root))).scan(path)
    blocks = Scanner(ScanConfig(home_dir=str(home.root), block_s=20.0)).scan(path)
    for r in (whole, blocks):
        assert r.verdict == "watermarked" and r.watermark["payload"] == "0badcafe", r.reason
        (start, end), = r.watermark["segments"]
        assert abs(start - 15.0) < 0.5 and abs(end - 25.0) < 0.5
    assert "found in 2 of 3 blocks" in blocks.watermark["reason"] and blocks.watermark["other_marks"] == []
    det_whole, det_blocks = np.array(whole.detector["segments"]), np.array(blocks.detector["segments"])
    assert np.array_equal(det_whole[:, :2], det_blocks[:, :2])  # the same windows
    assert np.allclose(det_whole[:, 2], det_blocks[:, 2], atol=1e-4)
    assert abs(whole.detector["score"] - blocks.detector["score"]) < 1e-4
    assert abs(whole.detector["voiced_s"] - blocks.detector["voiced_s"]) < 1.0
    assert whole.detector["speech"] is blocks.detector["speech"] is True


def _verification(detected: bool, payload: int | None, p: float, segments: list, others: list = ()):  # noqa: ANN202
    from guard.watermark import OtherMark, Verification

    return Verification(detected, payload, p, segments, "no watermark found" if not detected else "found",
                        0 if detected else None, payload, other_marks=[OtherMark(s, 0, q) for s, q in others])


def test_join_shifts_merges_and_keeps_other_payloads_apart() -> None:
    parts = [(0.0, _verification(True, None, 1e-8, [(15.0, 21.0)])),
             (10.0, _verification(True, 0x0BADCAFE, 1e-30, [(5.0, 15.0)], [([(20.0, 25.0)], 0x12345678)])),
             (30.0, _verification(True, 0x12345678, 1e-9, [(0.0, 4.0)])),
             (50.0, _verification(False, None, 0.3, []))]
    joined = join(parts, unit="blocks")
    assert joined.detected and joined.payload == 0x0BADCAFE and joined.p_value == 1e-30
    assert joined.segments == [(15.0, 25.0)]
    assert [(m.payload, m.segments) for m in joined.other_marks] == [(0x12345678, [(30.0, 35.0)])]
    assert joined.reason.startswith("watermark found in 3 of 4 blocks (p=1e-30); payload read")
    none = join([(0.0, _verification(False, None, 0.2, [])), (10.0, _verification(False, None, 0.01, []))], unit="blocks")
    assert not none.detected and none.p_value == 0.01 and none.segments == []


def test_a_long_file_shows_progress_unless_silenced(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    y = (0.05 * np.random.default_rng(3).standard_normal(41 * SR)).astype(np.float32)
    path = save(tmp_path / "long.wav", y, sample_rate=SR)
    Scanner(ScanConfig(block_s=10.0, show_progress=True)).scan(path)
    assert capsys.readouterr().err == ""  # stderr is no terminal here: bars are for people watching one
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    Scanner(ScanConfig(block_s=10.0, show_progress=True)).scan(path)
    assert "scan long.wav" in capsys.readouterr().err
    Scanner(ScanConfig(block_s=10.0, show_progress=False)).scan(path)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("flags, bar", [([], True), (["--json"], False), (["-q"], False)])
def test_the_cli_shows_a_long_files_progress_but_not_under_json_or_quiet(
        runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], bar: bool) -> None:  # noqa: ANN001
    monkeypatch.setattr(progress, "on_terminal", lambda: True)  # as if stderr were a terminal
    monkeypatch.delenv("VOICEGUARD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # no home: only the detector runs, quickly
    y = (0.05 * np.random.default_rng(4).standard_normal(int((BLOCK_S + 4) * SR))).astype(np.float32)
    path = save(tmp_path / "call.wav", y, sample_rate=SR)
    result = runner.invoke(cli, ["scan", str(path), *flags])
    assert result.exit_code == 0, result.output
    assert ("scan call.wav" in result.stderr) is bar
    if "--json" in flags:
        assert json.loads(result.stdout)["duration_s"] == BLOCK_S + 4


def test_overview_does_not_copy_the_signal(rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(SR * 600)).astype(np.float32)  # 38 MB
    tracemalloc.start()
    try:
        view = overview(y, sample_rate=SR)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert view.image_db.shape == (128, 600)
    assert peak < y.nbytes / 4, f"overview allocated {peak / 1e6:.0f} MB for a {y.nbytes / 1e6:.0f} MB signal"
