"""guard.scan: verdict logic, file collection, broken files as error rows, the pool, the parts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import chirp, tone

from guard.audio import save
from guard.errors import HomeError, ParameterError
from guard.scan import ScanConfig, Scanner, scan_file, scan_files
from guard.scan_blocks import SCAN_RATE
from guard.scan_collect import collect
from guard.scan_overview import overview
from guard.scan_result import not_checked
from guard.scan_verdict import decide

SR = 16000
MARK = {"detected": True, "payload": "0badcafe", "p_value": 1e-12, "segments": [[0.0, 10.0]], "reason": ""}
MARK_NO_PAYLOAD = {**MARK, "payload": None}
NO_MARK = {"detected": False, "payload": None, "p_value": 0.4, "segments": [], "reason": ""}
NOT_CHECKED = not_checked("watermark", "no voiceguard home")
RECORD = {"record_id": "rec-1", "voice_id": "alice", "consent_id": "c-9", "created_at": "2026-01-01T00:00:00+00:00",
          "valid": True, "consent_status_at_generation": "valid", "consent_status_now": "revoked"}
DET_HIGH = {"score": 3.0, "p_synthetic": 0.9, "segments": [], "warning": None}
DET_EDGE = {"score": 0.0, "p_synthetic": 0.5, "segments": [], "warning": None}
DET_LOW = {"score": -3.0, "p_synthetic": 0.1, "segments": [], "warning": None}
DET_OFF = not_checked("detector", "no default detector model")


@pytest.mark.parametrize(
    "watermark, provenance, detector, verdict, words",
    [
        (MARK, RECORD, DET_LOW, "watermarked", ["record rec-1", "voice alice", "consent c-9", "valid at generation", "revoked now"]),
        (MARK, None, DET_HIGH, "watermarked", ["payload 0badcafe", "no record"]),
        (MARK_NO_PAYLOAD, None, DET_LOW, "watermarked", ["presence only: payload not readable"]),
        (MARK, {"record_id": None, "error": "ledger lookup failed: locked"}, DET_LOW, "watermarked", ["ledger lookup failed: locked"]),
        (NO_MARK, None, DET_HIGH, "likely-synthetic", ["no voiceguard watermark", "p_synthetic=0.90 >= threshold 0.50"]),
        (NO_MARK, None, DET_EDGE, "likely-synthetic", [">= threshold"]),
        (NO_MARK, None, DET_LOW, "no-evidence", ["p_synthetic=0.10 < threshold 0.50"]),
        (NOT_CHECKED, None, DET_LOW, "no-evidence", ["watermark not checked (no voiceguard home)"]),
        (NOT_CHECKED, None, DET_HIGH, "likely-synthetic", ["watermark not checked"]),
        (NO_MARK, None, DET_OFF, "no-evidence", ["detector not run (no default detector model)"]),
    ],
)
def test_decide(watermark, provenance, detector, verdict, words) -> None:  # noqa: ANN001
    got, reason = decide(watermark, provenance, detector, threshold=0.5)
    assert got == verdict
    assert "\n" not in reason
    for word in words:
        assert word in reason


@pytest.mark.parametrize("watermark, detector, suggest, hint", [
    (NO_MARK, DET_LOW, True, True),
    (NO_MARK, DET_HIGH, True, True),  # said whatever the detector says
    (NO_MARK, DET_OFF, True, True),
    (NO_MARK, DET_LOW, False, False),  # speed search was used, or the clip is too short to carry a mark
    (MARK, DET_LOW, True, False),
    (NOT_CHECKED, DET_LOW, True, False),
])
def test_decide_suggests_speed_search_for_no_watermark(watermark, detector, suggest, hint) -> None:  # noqa: ANN001
    verdict, reason = decide(watermark, None, detector, threshold=0.5, suggest_speed_search=suggest)
    assert verdict == decide(watermark, None, detector, threshold=0.5)[0]
    assert ("--speed-search" in reason) is hint


def test_decide_threshold_is_explicit() -> None:
    assert decide(NO_MARK, None, DET_HIGH, threshold=0.95)[0] == "no-evidence"
    for bad in (-0.1, 1.5):
        with pytest.raises(ParameterError, match="threshold"):
            decide(NO_MARK, None, DET_LOW, threshold=bad)


def test_collect_recurses_skips_and_dedupes(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    save(tmp_path / "a" / "one.wav", tone(300, 0.5), sample_rate=SR)
    save(tmp_path / "a" / "b" / "two.FLAC", tone(300, 0.5), sample_rate=SR)
    (tmp_path / "a" / "readme.txt").write_text("notes")
    (tmp_path / "a" / "b" / "image.png").write_bytes(b"\x89PNG")
    explicit = tmp_path / "explicit.txt"
    explicit.write_text("named by the user, so scanned (and reported as an error)")
    files, skipped = collect([tmp_path / "a", tmp_path / "a" / "one.wav", explicit, tmp_path / "missing.wav"])
    assert [f.name for f in files] == ["two.FLAC", "one.wav", "explicit.txt", "missing.wav"]  # b/ sorts before one.wav
    assert sorted(f.name for f in skipped) == ["image.png", "readme.txt"]


def test_overview_shape_and_range(rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(SR * 3)).astype(np.float32)
    view = overview(y, sample_rate=SR, max_frames=200)
    assert view.image_db.shape[0] == 128 and 100 <= view.image_db.shape[1] <= 200
    assert view.image_db.dtype == np.float16 and float(view.image_db.max()) == 0.0
    assert abs(view.duration_s - 3.0) < 1e-6 and view.max_freq_hz == SR / 2
    short = overview(tone(440, 0.01), sample_rate=SR)  # shorter than one FFT frame
    assert short.image_db.shape == (128, 1)


def _broken_files(tmp_path: Path) -> dict[str, Path]:
    good = save(tmp_path / "good.wav", chirp(200, 3000, 1.0), sample_rate=SR)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "trunc.wav").write_bytes(good.read_bytes()[:40])
    (tmp_path / "text.mp3").write_text("this is not audio " * 20)
    return {"empty": tmp_path / "empty.wav", "truncated": tmp_path / "trunc.wav",
            "not-audio": tmp_path / "text.mp3", "missing": tmp_path / "gone.wav"}


@pytest.mark.parametrize("kind, message", [("empty", "empty"), ("truncated", "truncated"),
                                            ("not-audio", "not an audio file"), ("missing", "not found")])
def test_broken_file_is_an_error_row(tmp_path: Path, kind: str, message: str) -> None:
    path = _broken_files(tmp_path)[kind]
    result = Scanner(ScanConfig()).scan(path)
    assert result.verdict == "error" and message in result.error and str(path) in result.error
    assert result.to_dict()["watermark"] is None and result.duration_s is None


def test_scan_without_home_says_what_was_not_checked(tmp_path: Path) -> None:
    path = save(tmp_path / "x.flac", chirp(200, 3000, 2.0, 44100), sample_rate=44100)
    scanner = Scanner(ScanConfig(keep_overview=True))
    assert any(n.startswith("watermark not checked") for n in scanner.notes)
    result = scanner.scan(path)
    assert result.verdict in {"no-evidence", "likely-synthetic"}
    assert result.watermark["detected"] is None and result.provenance is None
    assert "not checked" in result.reason
    assert abs(result.duration_s - 2.0) < 0.01 and result.overview is not None
    assert scan_file(path, home_dir=None).to_dict() == result.to_dict()
    assert set(result.to_dict()) == {"file", "verdict", "reason", "watermark", "provenance", "manifest",
                                     "detector", "duration_s", "error", "file_bytes_hex"}


def test_config_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="threshold"):
        Scanner(ScanConfig(threshold=1.2))
    with pytest.raises(HomeError, match="voiceguard init"):
        Scanner(ScanConfig(home_dir=str(tmp_path / "nohome")))


def test_pool_matches_in_process_and_keeps_order(tmp_path: Path, home) -> None:  # noqa: ANN001
    paths = [save(tmp_path / f"{i}.wav", tone(200 + 100 * i, 1.0), sample_rate=SR) for i in range(4)]
    paths.insert(2, _broken_files(tmp_path)["empty"])
    scanner = Scanner(ScanConfig(home_dir=str(home.root)))
    one = [r.to_dict() for r in scan_files(paths, scanner=scanner, workers=1)]
    two = [r.to_dict() for r in scan_files(paths, scanner=scanner, workers=2)]
    assert [r["file"] for r in two] == [str(p) for p in paths]
    assert one == two
    assert two[2]["verdict"] == "error"


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_count(workers) -> None:  # noqa: ANN001
    with pytest.raises(ParameterError, match="workers"):
        list(scan_files([], scanner=Scanner(ScanConfig()), workers=workers))


def _marked(tmp_path: Path, home, speech: np.ndarray, *, payload: int) -> Path:  # noqa: ANN001
    from guard.watermark import embed

    y = np.tile(speech, 4)[: 10 * SCAN_RATE]  # 10 s: long enough to carry the payload
    marked = embed(y, sample_rate=SCAN_RATE, payload=payload, key=home.watermark_key())
    return save(tmp_path / "marked.wav", marked, sample_rate=SCAN_RATE)


def test_marked_file_is_watermarked_with_payload(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    path = _marked(tmp_path, home, speech, payload=0x0BADCAFE)
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(path)
    assert result.verdict == "watermarked", result.reason
    assert result.watermark["detected"] is True and result.watermark["payload"] == "0badcafe"
    assert result.watermark["p_value"] < 1e-6 and result.watermark["segments"]
    assert result.provenance is None and "no record" in result.reason  # never issued in this home


def test_speed_search_finds_a_sped_up_mark(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    from guard.audio import load, resample

    path = _marked(tmp_path, home, speech, payload=0x0BADCAFE)
    slower = save(tmp_path / "slower.wav", resample(load(path, sample_rate=SCAN_RATE), orig_sr=round(SCAN_RATE * 0.956),
                                                    target_sr=SCAN_RATE), sample_rate=SCAN_RATE)
    plain = Scanner(ScanConfig(home_dir=str(home.root))).scan(slower)
    assert plain.watermark["detected"] is False and plain.watermark["speed"] == 1.0
    assert "no voiceguard watermark at its own speed (--speed-search also tries" in plain.reason  # what to do next
    result = Scanner(ScanConfig(home_dir=str(home.root), speed_search=True)).scan(slower)
    assert result.verdict == "watermarked" and result.watermark["payload"] == "0badcafe"
    assert abs(result.watermark["speed"] - 0.956) <= 0.005 and "speed" in result.reason


@pytest.mark.parametrize("seconds, speed_search, hint", [(4.0, False, True), (2.0, False, False), (4.0, True, False)])
def test_speed_search_is_suggested_only_where_it_could_find_a_mark(tmp_path: Path, home, speech, seconds: float,
                                                                    speed_search: bool, hint: bool) -> None:  # noqa: ANN001
    clip = save(tmp_path / "unmarked.wav", np.tile(speech, 2)[: int(seconds * SCAN_RATE)], sample_rate=SCAN_RATE)
    result = Scanner(ScanConfig(home_dir=str(home.root), speed_search=speed_search)).scan(clip)
    assert result.watermark["detected"] is False
    assert ("--speed-search" in result.reason) is hint


def test_other_homes_key_does_not_mark(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    from guard.home import init_home

    path = _marked(tmp_path, home, speech, payload=0x12345678)
    other, _ = init_home(tmp_path / "other")
    result = Scanner(ScanConfig(home_dir=str(other.root))).scan(path)
    assert result.watermark["detected"] is False and result.verdict != "watermarked"


def _issued(tmp_path: Path, home, speech) -> tuple[Path, object, object]:  # noqa: ANN001
    from guard import consent, provenance

    path = _marked(tmp_path, home, speech, payload=0x00C0FFEE)
    grant = consent.grant(home, voice_id="corpus-voice", subject="A Reader", operator="Lab", purposes=["research"],
                          expires=(date.today() + timedelta(days=365)).isoformat(),
                          license_text="CC BY 4.0 research corpus")
    record = provenance.issue(home, payload=0x00C0FFEE, voice_id="corpus-voice", consent_id=grant.consent_id,
                              text="a sentence", audio_path=path, generator="test", generator_version="0")
    return path, grant, record


def test_record_consent_and_manifest_are_reported(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    path, grant, record = _issued(tmp_path, home, speech)
    scanner = Scanner(ScanConfig(home_dir=str(home.root)))
    result = scanner.scan(path)
    assert result.verdict == "watermarked" and result.watermark["payload"] == "00c0ffee"
    prov = result.provenance
    assert prov["record_id"] == record.record_id and prov["consent_id"] == grant.consent_id
    assert prov["voice_id"] == "corpus-voice" and prov["valid"] is True
    assert prov["consent_status_at_generation"] == prov["consent_status_now"] == "valid"
    assert f"record {record.record_id}" in result.reason
    assert result.manifest is not None and result.manifest["record_id"] == record.record_id
    import guard.consent

    guard.consent.revoke(home, grant.consent_id, reason="the speaker withdrew")
    after = scanner.scan(path).provenance
    assert after["consent_status_at_generation"] == "valid" and after["consent_status_now"] == "revoked"


def test_a_joined_clip_names_both_records(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    from guard import provenance
    from guard.audio import load

    path, grant, record = _issued(tmp_path, home, speech)
    first = load(path, sample_rate=SCAN_RATE)
    (tmp_path / "b").mkdir()
    second = load(_marked(tmp_path / "b", home, speech, payload=0x0BADF00D), sample_rate=SCAN_RATE)
    other = provenance.issue(home, payload=0x0BADF00D, voice_id="corpus-voice", consent_id=grant.consent_id,
                             text="another sentence", audio_path=tmp_path / "b" / "marked.wav", generator="test",
                             generator_version="0")
    joined = save(tmp_path / "joined.wav", np.concatenate([first, second]), sample_rate=SCAN_RATE)
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(joined)
    assert result.verdict == "watermarked" and len(result.watermark["other_marks"]) == 1
    piece = result.watermark["other_marks"][0]
    records = {result.provenance["record_id"], piece["provenance"]["record_id"]}
    assert records == {record.record_id, other.record_id}
    assert f"(record {piece['provenance']['record_id']}, voice corpus-voice" in result.reason


def test_three_second_crop_is_presence_or_payload(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    from guard.audio import load

    path, _, record = _issued(tmp_path, home, speech)
    y = load(path, sample_rate=SCAN_RATE)
    crop = save(tmp_path / "crop.wav", y[int(4.2 * SCAN_RATE): int(7.2 * SCAN_RATE)], sample_rate=SCAN_RATE)
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(crop)
    assert result.verdict == "watermarked", result.reason
    if result.watermark["payload"] is None:
        assert "presence only: payload not readable" in result.reason and result.provenance is None
    else:
        assert result.provenance["record_id"] == record.record_id


def test_in_process_scan_restores_thread_limits(tmp_path: Path) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import torch

    before = ([p["num_threads"] for p in threadpoolctl.threadpool_info()], torch.get_num_threads())
    path = save(tmp_path / "a.wav", tone(300, 1.0), sample_rate=SR)
    rows = list(scan_files([path], scanner=Scanner(ScanConfig()), workers=1))
    assert len(rows) == 1 and rows[0].verdict != "error"
    assert ([p["num_threads"] for p in threadpoolctl.threadpool_info()], torch.get_num_threads()) == before


def test_decide_names_pieces_of_other_marks() -> None:
    mark = {**MARK, "other_marks": [{"segments": [[0.0, 5.568]], "key_index": 0, "payload": "deadbeef"},
                                    {"segments": [[20.0, 23.0]], "key_index": 1, "payload": None}]}
    verdict, reason = decide(mark, None, DET_HIGH, threshold=0.5)
    assert verdict == "watermarked" and "no record" in reason
    assert reason.endswith("; also a piece marked with payload deadbeef at 0.0-5.6 s"
                           "; also a piece marked with payload (unread) at 20.0-23.0 s")
    mark["other_marks"][0]["provenance"] = {"record_id": "rec-1", "voice_id": "nova", "consent_id": "c-1",
                                            "consent_status_now": "revoked"}
    assert "payload deadbeef at 0.0-5.6 s (record rec-1, voice nova, consent c-1: revoked now)" in decide(
        mark, None, DET_HIGH, threshold=0.5)[1]


def test_a_record_edited_behind_the_ledgers_back_is_not_believed(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    import sqlite3

    path, _, record = _issued(tmp_path, home, speech)
    with sqlite3.connect(home.ledger_path) as conn:
        conn.execute("UPDATE events SET canonical = replace(canonical, '\"voice_id\":\"corpus-voice\"', "
                     "'\"voice_id\":\"ada-lovelace\"') WHERE kind='clip.generated'")
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(path)
    assert result.verdict == "watermarked" and result.watermark["payload"] == "00c0ffee"
    assert not (result.provenance or {}).get("valid")
    assert "ada-lovelace" not in result.reason and "changed after it was logged" in result.reason


def test_a_clip_too_short_to_look_in_says_the_watermark_was_not_checked(tmp_path: Path, home, speech) -> None:  # noqa: ANN001
    short = save(tmp_path / "short.wav", speech[: SCAN_RATE // 2], sample_rate=SCAN_RATE)
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(short)
    assert result.watermark["detected"] is None
    assert result.reason.startswith("watermark not checked (clip is 0.50 s, under the 1 s the mark is looked for in")
