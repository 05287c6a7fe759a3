"""guard.report on a file where the detector does not apply (no voiced speech): no detector span and
no score, as the CLI table (``n/a``); and the starred peak of a part a watermarked file's mark does not cover."""

from __future__ import annotations

import re

from conftest import SR, chirp

from guard.report import STAR_NOTE, figure_png, render_html, spans_table
from guard.scan_overview import overview
from guard.scan_result import ScanResult

NO_SPEECH = ("no voiced speech found (0.00 s voiced): the detector was trained on speech, so its score says nothing "
             "about this audio")


def _noise_result(*, speech: bool) -> ScanResult:
    """The QA's clipped noise: two windows at 0.70 and 0.75, file p_synthetic 0.70."""
    wm = {"detected": False, "payload": None, "p_value": 1.0, "segments": [], "reason": "no watermark found"}
    det = {"score": 1.159, "p_synthetic": 0.70, "segments": [[0.0, 3.0, 0.70], [2.0, 5.0, 0.75]],
           "warning": None if speech else NO_SPEECH, "voiced_s": 3.0 if speech else 0.0, "speech": speech}
    view = overview(chirp(200, 4000, 5.0), sample_rate=SR)
    return ScanResult("clipped_noise.wav", "no-evidence" if not speech else "likely-synthetic", "a reason", wm, None,
                      None, det, 5.0, None, view)


def _summary_p(html: str) -> str:
    row = re.search(r'<table class="summary">.*?<tbody><tr>(.*?)</tr>', html).group(1)
    return re.findall(r"<td[^>]*>(.*?)</td>", row)[-1]


def test_no_detector_span_where_the_detector_does_not_apply() -> None:
    html = spans_table(_noise_result(speech=False), threshold=0.5)
    assert "detector &gt;=" not in html and "0.75" not in html
    assert "detector does not apply (no voiced speech)" in html


def test_the_summary_and_details_say_n_a_where_the_detector_does_not_apply() -> None:
    html = render_html([_noise_result(speech=False)], threshold=0.5)
    assert _summary_p(html) == "n/a"
    assert "<th>p_synthetic</th><td>n/a (does not apply: no voiced speech)</td>" in html
    assert "detector &gt;= 0.50" not in html


def test_speech_keeps_its_span_and_score() -> None:
    result = _noise_result(speech=True)
    html = render_html([result], threshold=0.5)
    assert _summary_p(html) == "0.70" and "<th>p_synthetic</th><td>0.700</td>" in html
    assert "detector &gt;= 0.50" in spans_table(result, threshold=0.5)


def test_the_figure_of_a_file_without_speech_is_drawn() -> None:
    png = figure_png(_noise_result(speech=False), threshold=0.5)
    assert png is not None and png.startswith(b"\x89PNG")


def test_the_summary_stars_a_part_outside_a_watermark() -> None:
    windows = [[t, t + 3.0, 0.9 if 20.0 <= t <= 22.0 or t <= 4.0 else 0.05] for t in range(0, 40, 2)]
    wm = {"detected": True, "payload": "0badcafe", "p_value": 1e-20, "segments": [[0.0, 6.0]], "reason": "",
          "other_marks": []}
    det = {"score": -2.0, "p_synthetic": 0.2, "segments": windows, "warning": None, "speech": True}
    result = ScanResult("mix.wav", "watermarked", "r", wm, None, None, det, 42.0)
    html = render_html([result], threshold=0.5)
    assert _summary_p(html) == "0.90*" and STAR_NOTE in html
    plain = render_html([_noise_result(speech=True)], threshold=0.5)
    assert STAR_NOTE not in plain
