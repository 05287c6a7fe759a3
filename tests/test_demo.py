"""The demo end to end: consent, enrollment, clones, scan verdicts, refusal and both audits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ASTERISK_EN

from eval.demo import MARKER, run_demo


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_demo(tmp_path_factory.mktemp("demo") / "out", seed=0)


def test_clones_are_watermarked_with_their_records(summary: dict) -> None:
    rows = {row["file"]: row for row in summary["verdicts"]}
    for name in ("clone1.wav", "clone2.wav", "clone3.wav"):
        assert rows[name]["verdict"] == "watermarked", rows[name]
        assert "record rec-" in rows[name]["reason"] and "C2PA manifest valid" in rows[name]["reason"]


def test_unmarked_tts_and_real_speech_verdicts(summary: dict) -> None:
    rows = {row["file"]: row for row in summary["verdicts"]}
    assert rows["tts-unmarked.wav"]["verdict"] == "likely-synthetic"
    real = [row for name, row in rows.items() if name.startswith("real-")]
    if ASTERISK_EN.is_dir():
        assert len(real) == 1 and real[0]["verdict"] == "no-evidence"
    else:
        assert real == []


def test_every_file_was_scanned_without_error(summary: dict) -> None:
    assert len(summary["verdicts"]) >= 8
    assert all(row["verdict"] != "error" for row in summary["verdicts"])


def test_revocation_refuses_and_audits_tell_clean_from_tampered(summary: dict) -> None:
    assert summary["clone_refused_after_revocation"] is True
    assert summary["audit_ok"] is True
    assert summary["tampered_audit_failed"] is True


def test_outputs_are_written(summary: dict) -> None:
    out = Path(summary["out"])
    assert json.loads((out / "summary.json").read_text())["voice_id"] == summary["voice_id"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= len(summary["verdicts"])
    assert (out / MARKER).exists()


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from guard.errors import GuardError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    with pytest.raises(GuardError, match="was not made by `voiceguard demo`"):
        run_demo(tmp_path / "mine", seed=0)
    assert (tmp_path / "mine" / "precious.txt").exists()
