"""guard.report: each file's spans as a table of times, and figures small enough for reports of many files."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import chirp

from guard.errors import ParameterError
from guard.report import (
    MAX_SPAN_ROWS,
    detector_runs,
    display_db,
    figure_png,
    render_html,
    spans_table,
)
from guard.scan_overview import overview
from guard.scan_result import ScanResult, not_checked

SR = 16000


def _result(*, duration_s: float = 6.0, wm_segments=((1.0, 4.5),), windows=None, others=(), y=None) -> ScanResult:  # noqa: ANN001
    wm = {"detected": bool(wm_segments), "payload": "0badcafe" if wm_segments else None, "p_value": 3e-11,
          "segments": [list(s) for s in wm_segments], "reason": "", "other_marks": list(others)}
    if windows is None:  # 2 s windows every 1 s; two in a row at or over 0.5
        windows = [[t, t + 2.0, p] for t, p in zip(np.arange(0.0, 6.0, 1.0), [0.1, 0.3, 0.7, 0.8, 0.2, 0.1])]
    det = {"score": -1.2, "p_synthetic": 0.31, "warning": None, "segments": windows}
    view = overview(chirp(200, 4000, 6.0) if y is None else y, sample_rate=SR)
    verdict = "watermarked" if wm_segments else "no-evidence"
    return ScanResult("clip.wav", verdict, "a reason", wm, None, None, det, duration_s, None, view)


def _rows(html: str) -> list[list[str]]:
    table = re.search(r'<table class="spans">(.*?)</table>', html).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)][1:]


def test_spans_are_listed_as_text() -> None:
    other = {"segments": [[5.0, 5.9]], "key_index": 0, "payload": None}
    rows = _rows(spans_table(_result(others=[other]), threshold=0.5))
    assert rows == [["watermark", "1.00 s", "4.50 s", "3.5 s", "payload 0badcafe"],
                    ["other watermark", "5.00 s", "5.90 s", "0.9 s", "payload not readable"],
                    ["detector &gt;= 0.50", "2.00 s", "5.00 s", "3.0 s", "p_synthetic up to 0.80 (2 windows)"]]


def test_a_long_files_spans_read_as_clock_times() -> None:
    result = _result(duration_s=4000.0, wm_segments=((75.0, 3725.46),), windows=[[3600.0, 3603.0, 0.9]])
    html = spans_table(result, threshold=0.5)
    assert "Spans (m:ss)" in html
    assert _rows(html) == [["watermark", "1:15.0", "1:02:05.5", "3650.5 s", "payload 0badcafe"],
                           ["detector &gt;= 0.50", "1:00:00.0", "1:00:03.0", "3.0 s", "p_synthetic up to 0.90 (1 window)"]]


def test_many_spans_are_counted_past_the_limit() -> None:
    windows = [[2.0 * i, 2.0 * i + 3.0, 0.9 if i % 2 == 0 else 0.1] for i in range(2 * (MAX_SPAN_ROWS + 5))]
    rows = _rows(spans_table(_result(duration_s=400.0, wm_segments=(), windows=windows), threshold=0.5))
    assert len(rows) == MAX_SPAN_ROWS + 1 and rows[-1][1] == "and 5 more"


@pytest.mark.parametrize("wm, det, words", [
    ({"detected": False, "segments": []}, {"p_synthetic": 0.1, "segments": [[0.0, 3.0, 0.1]]},
     ["no marked segment", "no detector window at or over 0.50"]),
    (not_checked("watermark", "no home"), not_checked("detector", "no model"), ["watermark not checked", "detector not run"]),
])
def test_no_spans_says_why(wm: dict, det: dict, words: list[str]) -> None:
    html = spans_table(ScanResult("a.wav", "no-evidence", "r", wm, None, None, det, 3.0), threshold=0.5)
    assert "<table" not in html and all(w in html for w in words)


def test_each_file_section_holds_its_spans_table() -> None:
    html = render_html([_result(), ScanResult("bad.wav", "error", "broken", error="broken")], threshold=0.5)
    assert html.count('<table class="spans">') == 1 and "payload 0badcafe" in html


@pytest.mark.parametrize("windows, threshold, runs", [
    ([], 0.5, []),
    ([(0, 3, 0.5)], 0.5, [(0.0, 3.0, 0.5, 1)]),
    ([(0, 3, 0.9), (2, 5, 0.95), (4, 7, 0.1), (6, 9, 0.6)], 0.5, [(0.0, 5.0, 0.95, 2), (6.0, 9.0, 0.6, 1)]),
    ([(0, 3, 0.9), (2, 5, 0.95)], 0.99, []),
])
def test_detector_runs(windows: list, threshold: float, runs: list) -> None:
    assert detector_runs(windows, threshold=threshold) == runs


def test_display_db_pools_power_and_rounds() -> None:
    image = np.array([[0.0, -10.0, -20.0, -20.0, -7.0]], dtype=np.float16)
    shown = display_db(image, max_columns=3, step_db=2.0)
    assert shown.shape == (1, 3) and shown.dtype == np.float32
    assert np.allclose(shown, [[-2.0, -20.0, -8.0]])  # 10 log10 of the mean power, to 2 dB
    assert np.array_equal(display_db(image, max_columns=10, step_db=1.0), [[0.0, -10.0, -20.0, -20.0, -7.0]])
    for bad in ({"max_columns": 0}, {"max_columns": 3, "step_db": 0.0}):
        with pytest.raises(ParameterError):
            display_db(image, **bad)


def test_a_figure_is_small(rng: np.random.Generator) -> None:
    """A noisy spectrogram is the worst case for PNG: truecolour, 600 columns, it took some 240 KB."""
    y = (chirp(200, 4000, 20.0) + 0.05 * rng.standard_normal(20 * SR)).astype(np.float32)
    png = figure_png(_result(duration_s=20.0, y=y), threshold=0.5)
    assert png.startswith(b"\x89PNG") and len(png) < 80_000, f"{len(png)} bytes"
