"""guard.report: a self-contained HTML report whose figures show the timelines; Chromium renders it."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import chirp

from guard.errors import ParameterError
from guard.report import COLORS, figure_png, render_html, write_report
from guard.scan_overview import overview
from guard.scan_result import ScanResult, not_checked

SR = 16000
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _marked_result(name: str = "clip.wav") -> ScanResult:
    y = chirp(200, 4000, 6.0)
    wm = {"detected": True, "payload": "0badcafe", "p_value": 3e-11, "segments": [[1.0, 4.5]], "reason": "payload check passed"}
    det = {"score": -1.2, "p_synthetic": 0.31, "warning": None,
           "segments": [[t, t + 2.0, p] for t, p in zip(np.arange(0.0, 6.0, 1.0), [0.1, 0.3, 0.7, 0.8, 0.2, 0.1])]}
    prov = {"record_id": "rec-42", "voice_id": "alice", "consent_id": "c-7", "created_at": "2026-11-01T10:00:00+00:00",
            "valid": True, "consent_status_at_generation": "valid", "consent_status_now": "revoked"}
    return ScanResult(name, "watermarked", "voiceguard watermark present, payload 0badcafe: record rec-42",
                      wm, prov, {"valid": True, "failures": []}, det, 6.0, None, overview(y, sample_rate=SR))


def _results() -> list[ScanResult]:
    plain = ScanResult("<script>alert(1)</script>.wav", "no-evidence", "no voiceguard watermark; p_synthetic=0.10 < 0.50",
                       {"detected": False, "payload": None, "p_value": 0.5, "segments": [], "reason": ""},
                       None, None, not_checked("detector", "no default detector model"), 2.0, None,
                       overview(chirp(300, 600, 2.0), sample_rate=SR))
    broken = ScanResult("broken.wav", "error", "broken.wav: file is empty (0 bytes)", error="broken.wav: file is empty (0 bytes)")
    return [_marked_result(), plain, broken]


def _png_pixels(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]


def _share_of_color(pixels: np.ndarray, hex_color: str, tol: float = 0.08) -> float:
    rgb = np.array([int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return float(np.mean(np.all(np.abs(pixels - rgb) < tol, axis=-1)))


def test_figure_draws_marked_segments() -> None:
    marked = _marked_result()
    png = figure_png(marked, threshold=0.5)
    assert png is not None and png.startswith(b"\x89PNG")
    with_mark = _share_of_color(_png_pixels(png), COLORS["watermarked"])
    marked.watermark = {**marked.watermark, "segments": []}
    without = _share_of_color(_png_pixels(figure_png(marked, threshold=0.5)), COLORS["watermarked"])
    assert with_mark > 0.01 and without < 1e-4
    assert figure_png(_results()[2], threshold=0.5) is None  # no audio, no figure


def test_html_is_self_contained_escaped_and_complete() -> None:
    text = render_html(_results(), threshold=0.5, notes=["detector not run: no default detector model"])
    assert text.startswith("<!DOCTYPE html>")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # nothing fetched from outside
    assert text.count('<section class="file"') == 3
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 2 and all(base64.b64decode(b).startswith(b"\x89PNG") for b in images)
    for expected in ("rec-42", "alice", "c-7", "revoked", "0badcafe", "1.0-4.5 s", "0.31",
                     "file is empty", "detector not run: no default detector model"):
        assert expected in text


def test_figures_drawn_by_two_workers_are_the_ones_one_draws() -> None:
    results = [_marked_result(f"clip{i}.wav") for i in range(5)] + _results()
    stamp = re.compile(r"generated [0-9-]+ [0-9:]+ UTC")
    one = stamp.sub("", render_html(results, threshold=0.5, workers=1))
    two = stamp.sub("", render_html(results, threshold=0.5, workers=2))
    assert one == two and one.count("data:image/png;base64,") == 7  # in order, every file but the broken one


def test_bad_threshold_and_write(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="threshold"):
        render_html(_results(), threshold=2.0)
    out = write_report(_results(), tmp_path / "a" / "r.html", threshold=0.5)
    assert out.read_text(encoding="utf-8").endswith("</html>")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_renders_a_non_blank_page(tmp_path: Path) -> None:
    report = write_report(_results(), tmp_path / "report.html", threshold=0.5)
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,2000",
                        report.resolve().as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = _png_pixels(shot.read_bytes())
    assert pixels.shape[:2] == (2000, 1280)
    ink = np.mean(np.any(pixels < 0.9, axis=-1))
    assert ink > 0.05, f"page is nearly blank ({ink:.3f} of pixels drawn)"
    # the blue of the watermark timeline made it through the browser
    assert _share_of_color(pixels, COLORS["watermarked"], tol=0.1) > 0.002
