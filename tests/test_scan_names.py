"""scan: file names that are not UTF-8 (or hold control characters) are shown safely, and the report
is written whole or not at all (a failure keeps the report that was there)."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from conftest import SR, tone

import guard.report
from guard.audio import save
from guard.cli import cli
from guard.errors import GuardError
from guard.plaintext import printable
from guard.report import write_report
from guard.scan_result import ScanResult

LATIN1 = os.fsdecode(b"caf\xe9 latin1.wav")  # what Python makes of a Latin-1 name: "caf\udce9 latin1.wav"


@pytest.fixture
def no_default_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEGUARD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))


@pytest.mark.parametrize("text, controls, shown", [
    (LATIN1, False, "caf\\xe9 latin1.wav"),
    ("caf\udcc3\udca9.wav", False, "caf\\xc3\\xa9.wav"),  # each byte that was not UTF-8
    ("café.wav", False, "café.wav"),  # valid UTF-8 stays as it is
    ("a\ud800b", False, "a\\ud800b"),  # a lone surrogate from elsewhere
    ("red\x1b[31m\nname.wav", False, "red\x1b[31m\nname.wav"),  # JSON escapes these itself
    ("red\x1b[31m\nname.wav", True, "red\\x1b[31m\\x0aname.wav"),
    ("del\x7f and c1\x85", True, "del\\x7f and c1\\x85"),
])
def test_printable(text: str, controls: bool, shown: str) -> None:
    assert printable(text, controls=controls) == shown
    shown.encode("utf-8")  # always encodable


def test_a_latin1_name_is_shown_safely_in_json_table_and_report(runner, tmp_path: Path, no_default_home) -> None:  # noqa: ANN001
    folder = tmp_path / "inbox"
    folder.mkdir()
    save(folder / LATIN1, tone(300, 1.0), sample_rate=SR)
    report = tmp_path / "r1.html"
    report.write_text("old report")
    result = runner.invoke(cli, ["scan", str(folder), "--json", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["file"] == str(folder / "caf\\xe9 latin1.wav") and row["verdict"] != "error"
    json.dumps(row, ensure_ascii=False).encode("utf-8")  # no lone surrogate left for a JSON reader to mangle
    html = report.read_text(encoding="utf-8")
    assert "caf\\xe9 latin1.wav" in html and "old report" not in html


def test_a_table_row_shows_control_characters_escaped(runner, tmp_path: Path, no_default_home) -> None:  # noqa: ANN001
    path = save(tmp_path / "clear\x1b[2J.wav", tone(300, 1.0), sample_rate=SR)
    result = runner.invoke(cli, ["scan", str(path), str(tmp_path / "gone\udce9.wav")])
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "clear\\x1b[2J.wav" in result.stderr
    assert result.stderr.splitlines()[-1] == f"Error: {tmp_path}/gone\\xe9.wav: no such file or folder"


def _row(name: str) -> ScanResult:
    return ScanResult(name, "error", f"{name}: empty file", error=f"{name}: empty file")


def test_the_report_of_an_undecodable_name_is_written(tmp_path: Path) -> None:
    out = write_report([_row(LATIN1)], tmp_path / "r.html", threshold=0.5)
    html = out.read_text(encoding="utf-8")
    assert html.count("caf\\xe9 latin1.wav") >= 3  # summary, section heading, reason
    assert "\udce9" not in html


def test_a_failed_write_keeps_the_earlier_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "r.html"
    report.write_text("earlier report")

    def disk_full(staged: Path, target: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(staged))

    monkeypatch.setattr(guard.report, "replace_keeping_mode", disk_full)
    with pytest.raises(GuardError, match=r"r\.html: report not written \(No space left on device\); a report already "
                                         r"there is left as it was"):
        write_report([_row("a.wav")], report, threshold=0.5)
    assert report.read_text() == "earlier report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no half-written file left beside it


def test_a_rewritten_report_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path: Path) -> None:
    kept = tmp_path / "kept.html"
    kept.write_text("old")
    kept.chmod(0o640)
    write_report([_row("a.wav")], kept, threshold=0.5)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and "a.wav" in kept.read_text()
    umask = os.umask(0o022)
    try:
        new = write_report([_row("a.wav")], tmp_path / "new.html", threshold=0.5)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644


def test_a_report_through_a_link_writes_the_linked_file(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "latest.html"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "r.html"
    link.symlink_to(target)
    write_report([_row("a.wav")], link, threshold=0.5)
    assert link.is_symlink() and "a.wav" in target.read_text()


def test_a_name_holding_the_escape_literally_is_told_apart_by_its_bytes(runner, tmp_path: Path,  # noqa: ANN001
                                                                       no_default_home) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    save(folder / LATIN1, tone(300, 1.0), sample_rate=SR)
    save(folder / "caf\\xe9 latin1.wav", tone(300, 1.0), sample_rate=SR)  # a backslash, an x, an e and a 9
    result = runner.invoke(cli, ["scan", str(folder), "--json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and len(rows) == 2
    assert {r["file"] for r in rows} == {str(folder / "caf\\xe9 latin1.wav")}  # shown alike
    by_bytes = {r["file_bytes_hex"] for r in rows}
    assert by_bytes == {None, os.fsencode(str(folder / LATIN1)).hex()}
    assert any(Path(os.fsdecode(bytes.fromhex(h))).exists() for h in by_bytes if h)
