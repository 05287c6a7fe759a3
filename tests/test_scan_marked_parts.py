"""scan: where a watermark is when it covers only part of a file, and a synthetic part outside it.

A mark vouches for the audio it is in. The verdict of a file with our mark stays
"watermarked" (the order of evidence is fixed), but its reason, the table's P_SYN cell and
``detector.synthetic_part`` name a run of detector windows outside every marked segment that
scores likely synthetic: a deepfake insert cannot hide behind a legitimately marked piece.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SR

from guard.audio import save
from guard.home import Home
from guard.scan import ScanConfig, Scanner
from guard.scan_cli import _table
from guard.scan_result import ScanResult
from guard.scan_verdict import decide, p_synthetic_cell, unmarked_synthetic_part, where_marked
from guard.watermark import embed

MARK_RECORD = {"record_id": "mark-1", "voice_id": None, "consent_id": None, "created_at": "2026-01-31T10:00:00+00:00",
               "valid": False, "consent_status_at_generation": None, "consent_status_now": None, "kind": "mark",
               "seq": 4}


def _mark(*segments: tuple[float, float], others: tuple[dict, ...] = ()) -> dict:
    return {"detected": True, "payload": "080d946a", "p_value": 4.9e-76, "segments": [list(s) for s in segments],
            "reason": "", "other_marks": list(others)}


def _detector(high: dict[float, float], *, end_s: float, p_file: float = 0.1, speech: bool = True) -> dict:
    """Windows of 3 s every 2 s up to ``end_s``; those starting at a key of ``high`` score its value, the rest 0.05."""
    windows = [[t, t + 3.0, high.get(t, 0.05)] for t in np.arange(0.0, end_s - 2.0, 2.0).tolist()]
    return {"score": -2.0, "p_synthetic": p_file, "segments": windows, "warning": None, "speech": speech}


# the QA case: 10 min of real speech, an unmarked synthetic insert at 300-307 s, a marked clip at 400-412 s
INSERT = {300.0: 0.97, 302.0: 1.0, 304.0: 0.99}
MARKED_CLIP = {398.0: 0.9, 400.0: 1.0, 402.0: 1.0, 404.0: 1.0, 406.0: 1.0, 408.0: 1.0, 410.0: 0.9}


def test_a_synthetic_part_outside_the_mark_is_named_in_the_reason() -> None:
    verdict, reason = decide(_mark((400.0, 411.968)), MARK_RECORD, _detector({**INSERT, **MARKED_CLIP}, end_s=600.0),
                             threshold=0.5, duration_s=600.0)
    assert verdict == "watermarked"  # the order of evidence is kept
    assert reason.startswith("voiceguard watermark present (p=4.9e-76) in 400.0-412.0 s of 600.0 s, payload 080d946a")
    assert reason.endswith("; detector: 300.0-307.0 s, outside the watermarked 400.0-412.0 s, scores likely synthetic "
                           "(p_synthetic up to 1.00; detector evidence only)")
    assert "\n" not in reason


@pytest.mark.parametrize("detector, why", [
    (_detector(MARKED_CLIP, end_s=600.0), "windows over the marked clip itself are its mark's"),
    (_detector({**INSERT, **MARKED_CLIP}, end_s=600.0, speech=False), "the detector does not apply"),
    ({"score": None, "p_synthetic": None, "segments": [], "warning": "no model"}, "the detector did not run"),
    (_detector({300.0: 0.97}, end_s=600.0), "one window alone is not a part"),
])
def test_no_part_is_named_where_none_is_outside_the_mark(detector: dict, why: str) -> None:
    verdict, reason = decide(_mark((400.0, 411.968)), MARK_RECORD, detector, threshold=0.5, duration_s=600.0)
    assert verdict == "watermarked" and "outside the watermarked" not in reason, why


def test_pieces_of_other_marks_are_marked_audio_too() -> None:
    other = {"payload": "12345678", "segments": [[299.5, 308.0]], "key_index": 0, "provenance": None}
    watermark = _mark((400.0, 411.968), others=(other,))
    detector = _detector({**INSERT, **MARKED_CLIP}, end_s=600.0)
    assert unmarked_synthetic_part(watermark, detector, threshold=0.5) is None
    _, reason = decide(watermark, None, detector, threshold=0.5, duration_s=600.0)
    assert "also a piece marked with payload 12345678 at 299.5-308.0 s" in reason and "outside" not in reason


def test_an_unmarked_files_part_is_unchanged() -> None:
    no_mark = {"detected": False, "payload": None, "p_value": 0.4, "segments": [], "reason": ""}
    verdict, reason = decide(no_mark, None, _detector(INSERT, end_s=600.0), threshold=0.5, duration_s=600.0)
    assert verdict == "likely-synthetic"
    assert "detector: 300.0-307.0 s scores likely synthetic (p_synthetic up to 1.00) though the whole file" in reason


@pytest.mark.parametrize("segments, duration_s, text", [
    ([(4.048, 8.016)], 12.0, " in 4.0-8.0 s of 12.0 s"),
    ([(3.0, 7.032), (12.016, 16.944)], 17.0, " in 3.0-7.0 s and 12.0-16.9 s of 17.0 s"),
    ([(0.0, 1.536), (3.072, 5.056), (6.016, 6.72), (8.576, 9.152), (9.984, 10.56)], 11.855,
     " in 0.0-1.5 s, 3.1-5.1 s, 6.0-6.7 s and 2 more of 11.9 s"),
    ([(0.0, 11.84)], 11.855, ""),  # the whole file: the segments end some ms inside it
    ([(0.032, 2.976)], 3.0, ""),
    ([(4.0, 8.0)], None, ""),
    ([], 12.0, ""),
])
def test_where_the_mark_is(segments: list, duration_s: float | None, text: str) -> None:
    assert where_marked(segments, duration_s=duration_s) == text


def test_a_partly_marked_files_reason_says_where_the_mark_is() -> None:
    _, reason = decide(_mark((4.048, 8.016)), MARK_RECORD, _detector({}, end_s=12.0), threshold=0.5, duration_s=12.0)
    assert reason.startswith("voiceguard watermark present (p=4.9e-76) in 4.0-8.0 s of 12.0 s, payload 080d946a: "
                             "marked with `voiceguard watermark embed` on 2026-01-31")
    _, whole = decide(_mark((0.0, 11.84)), MARK_RECORD, _detector({}, end_s=12.0), threshold=0.5, duration_s=11.855)
    assert whole.startswith("voiceguard watermark present (p=4.9e-76), payload 080d946a")


@pytest.mark.parametrize("verdict, detector, cell", [
    ("watermarked", _detector({**INSERT, **MARKED_CLIP}, end_s=600.0), "1.00*"),
    ("watermarked", _detector(MARKED_CLIP, end_s=600.0), "0.10"),
    ("watermarked", _detector({**INSERT, **MARKED_CLIP}, end_s=600.0, p_file=0.8), "0.80"),
    ("watermarked", _detector({**INSERT, **MARKED_CLIP}, end_s=600.0, speech=False), "n/a"),
    ("watermarked", {"score": None, "p_synthetic": None, "segments": []}, "-"),
    ("no-evidence", _detector({}, end_s=12.0), "0.10"),
])
def test_the_p_syn_cell(verdict: str, detector: dict, cell: str) -> None:
    assert p_synthetic_cell(verdict, _mark((400.0, 411.968)), detector, threshold=0.5) == cell


def test_the_table_stars_the_part_a_watermarked_file_hides() -> None:
    detector = _detector({**INSERT, **MARKED_CLIP}, end_s=600.0)
    watermark = _mark((400.0, 411.968))
    _, reason = decide(watermark, MARK_RECORD, detector, threshold=0.5, duration_s=600.0)
    lines = _table([ScanResult("mix_10min.flac", "watermarked", reason, watermark, MARK_RECORD, None, detector, 600.0)],
                   threshold=0.5)
    assert lines[1].split()[:4] == ["mix_10min.flac", "watermarked", "080d946a", "1.00*"]
    assert "outside the watermarked 400.0-412.0 s" in lines[1]
    assert lines[-1].startswith("(* the peak of a synthetic part inside the file")


def test_a_scan_names_an_unmarked_synthetic_part_beside_a_marked_piece(home: Home, tmp_path: Path, speech) -> None:  # noqa: ANN001
    noise = (0.1 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    marked = embed(noise, sample_rate=SR, payload=0x0BADCAFE, key=home.watermark_key())
    pause = np.zeros(SR, np.float32)
    path = save(tmp_path / "mix.wav", np.concatenate([marked, pause, speech, speech, pause]), sample_rate=SR)
    row = Scanner(ScanConfig(home_dir=str(home.root))).scan(path).to_dict()
    assert row["verdict"] == "watermarked" and row["watermark"]["payload"] == "0badcafe"
    duration_s = row["duration_s"]
    ((mark_start, mark_end),) = row["watermark"]["segments"]  # at 0.5 s resolution: the key drawn moves it a step
    assert mark_start == 0.0 and 5.5 <= mark_end <= 7.0
    spans = f"{mark_start:.1f}-{mark_end:.1f} s"
    assert f"voiceguard watermark present (p={row['watermark']['p_value']:.1e}) in {spans} of {duration_s:.1f} s" \
        in row["reason"]
    start, end, top = row["detector"]["synthetic_part"]
    assert 6.0 <= start <= 8.0 and end > 12.0 and top >= 0.5  # the espeak speech after the marked noise
    assert f"; detector: {start:.1f}-{end:.1f} s, outside the watermarked {spans}, scores likely synthetic" \
        in row["reason"]


def test_a_file_without_detector_has_no_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Scanner, "_load_detector", lambda self: (None, "no model here"))
    path = save(tmp_path / "a.wav", (0.1 * np.random.default_rng(1).standard_normal(2 * SR)).astype(np.float32),
                sample_rate=SR)
    row = Scanner(ScanConfig()).scan(path).to_dict()
    assert row["detector"]["p_synthetic"] is None and row["detector"]["synthetic_part"] is None
