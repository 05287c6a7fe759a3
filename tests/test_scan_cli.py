"""`voiceguard scan`: exit codes, one JSON line per file with the contract's keys, table, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import chirp, tone

from guard.audio import save
from guard.cli import cli

SR = 16000
KEYS = {"file", "verdict", "reason", "watermark", "provenance", "manifest", "detector", "duration_s", "error",
        "file_bytes_hex"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    (root / "sub").mkdir(parents=True)
    save(root / "a.wav", tone(300, 1.0), sample_rate=SR)
    save(root / "sub" / "b.mp3", chirp(200, 3000, 1.5), sample_rate=SR, bitrate_bps=32000)
    save(root / "sub" / "c.ogg", tone(500, 0.5, sample_rate=8000), sample_rate=8000)
    (root / "empty.wav").write_bytes(b"")
    (root / "fake.flac").write_text("no audio here " * 10)
    (root / "notes.txt").write_text("skipped, not audio by extension")
    return root


@pytest.fixture
def no_default_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEGUARD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))


def test_json_one_line_per_file(runner, folder: Path, home) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["scan", str(folder), "--home", str(home.root), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5 and all(set(r) == KEYS for r in rows)
    by_name = {Path(r["file"]).name: r for r in rows}
    assert by_name["empty.wav"]["verdict"] == "error" and "empty" in by_name["empty.wav"]["error"]
    assert by_name["fake.flac"]["verdict"] == "error" and "not an audio file" in by_name["fake.flac"]["reason"]
    for name in ("a.wav", "b.mp3", "c.ogg"):
        row = by_name[name]
        assert row["verdict"] in {"watermarked", "likely-synthetic", "no-evidence"} and row["error"] is None
        assert set(row["watermark"]) >= {"detected", "payload", "p_value", "segments", "reason"}
        assert set(row["detector"]) >= {"score", "p_synthetic", "segments"}
    assert abs(by_name["b.mp3"]["duration_s"] - 1.5) < 0.05
    assert "skipped 1 file(s)" in result.stderr


def test_table_on_stderr_and_nothing_on_stdout(runner, folder: Path, home) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["--home", str(home.root), "scan", str(folder), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("FILE"))
    names = ("a.wav", "b.mp3", "c.ogg", "empty.wav", "fake.flac")
    rows = lines[header + 1:header + 6]
    assert sorted(n for n in names for ln in rows if ln.split()[0].endswith(n)) == sorted(names)
    assert "scanned 5 file(s): 2 error" in result.stderr


def test_quiet_prints_nothing(runner, folder: Path, home) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["scan", str(folder / "a.wav"), "--home", str(home.root), "-q"])
    assert result.exit_code == 0 and result.output == ""


def test_without_a_home_scans_and_says_so(runner, folder: Path, no_default_home) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["scan", str(folder / "a.wav"), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["watermark"]["detected"] is None and row["provenance"] is None
    assert "no voiceguard home" in result.stderr


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["scan"], 2, "Missing argument"),
        (["scan", "{folder}", "--workers", "0"], 2, "--workers"),
        (["scan", "{folder}", "--threshold", "1.5"], 2, "--threshold"),
        (["scan", "{folder}", "--home", "{tmp}/nohome"], 1, "voiceguard init"),
        (["scan", "{folder}", "--model", "{tmp}/none.pt"], 1, "none.pt: file not found"),
        (["scan", "{tmp}/emptydir"], 1, "nothing to scan"),
    ],
)
def test_usage_and_errors(runner, folder: Path, tmp_path: Path, no_default_home, args, code, message) -> None:  # noqa: ANN001
    (tmp_path / "emptydir").mkdir()
    argv = [a.format(folder=folder, tmp=tmp_path) for a in args]
    result = runner.invoke(cli, argv)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    if code == 1:
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
        assert len(errors) == 1


def test_missing_file_is_an_error_row_not_an_abort(runner, folder: Path, home) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["scan", str(folder / "gone.wav"), str(folder / "a.wav"), "--home", str(home.root), "--json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["verdict"] == "error" for r in rows] == [True, False]
    # the other files are scanned, but a path that does not exist fails the command
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert result.exit_code == 1 and len(errors) == 1 and "gone.wav: no such file or folder" in errors[0]


def test_empty_path_is_a_usage_error_not_the_current_folder(runner, home) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["scan", "", "--home", str(home.root)])
    assert result.exit_code == 2 and "empty path" in result.stderr


def test_report_folder_must_exist_before_the_scan(runner, folder: Path, home, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "nowhere" / "report.html"
    result = runner.invoke(cli, ["scan", str(folder), "--home", str(home.root), "--report", str(out)])
    assert result.exit_code == 1 and "does not exist" in result.stderr and not out.parent.exists()


def test_broken_link_in_a_folder_is_counted_as_skipped(runner, folder: Path, home, tmp_path: Path) -> None:  # noqa: ANN001
    inbox = tmp_path / "links"
    inbox.mkdir()
    (inbox / "a.wav").symlink_to(folder / "a.wav")
    (inbox / "dead.wav").symlink_to(tmp_path / "gone.wav")
    result = runner.invoke(cli, ["scan", str(inbox), "--home", str(home.root), "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["file"] for line in result.stdout.splitlines()] == [str(inbox / "a.wav")]
    assert "links to nothing (1)" in result.stderr


def test_report_is_written(runner, folder: Path, home, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    result = runner.invoke(cli, ["scan", str(folder), "--home", str(home.root), "--report", str(out), "-q"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.count('<section class="file"') == 5 and text.count("data:image/png;base64,") == 3


def test_a_report_path_that_is_not_html_is_refused(runner, home, tmp_path: Path) -> None:  # noqa: ANN001
    call1 = save(tmp_path / "call1.wav", tone(440, 1.0), sample_rate=16000)
    call2 = save(tmp_path / "call2.wav", tone(330, 1.0), sample_rate=16000)
    before = call1.read_bytes()
    typo = runner.invoke(cli, ["scan", "--report", str(call1), str(call2), "--home", str(home.root)])
    assert typo.exit_code == 2 and "does not end in .html" in typo.output and call1.read_bytes() == before


def test_ctrl_c_keeps_what_was_scanned_and_exits_130(runner, home, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from guard import scan_cli
    from guard.scan_result import ScanResult

    files = [save(tmp_path / f"f{i}.wav", tone(300 + 50 * i, 1.0), sample_rate=16000) for i in range(3)]

    def two_then_ctrl_c(paths, *, scanner, workers):  # noqa: ANN001, ANN202
        for path in paths[:2]:
            yield ScanResult(str(path), "no-evidence", "test", {}, None, None, {}, 1.0, None, None)
        raise KeyboardInterrupt

    left: list[int] = []
    monkeypatch.setattr(scan_cli, "scan_files", two_then_ctrl_c)
    monkeypatch.setattr(scan_cli, "_leave_now", left.append)
    report = tmp_path / "partial.html"
    res = runner.invoke(cli, ["scan", *map(str, files), "--report", str(report), "--home", str(home.root)])
    assert left == [130] and "interrupted: 2 of 3 file(s) scanned" in res.stderr
    assert "scanned 2 file(s)" in res.stderr and report.is_file() and "f1.wav" in report.read_text()


def test_a_pool_scan_stopped_early_cancels_the_files_not_started(tmp_path: Path) -> None:
    import time

    from guard.scan import ScanConfig, Scanner, scan_files

    files = [save(tmp_path / f"f{i}.wav", tone(300 + 20 * i, 2.0), sample_rate=16000) for i in range(12)]
    scanning = scan_files(files, scanner=Scanner(ScanConfig(home_dir=None)), workers=2)
    first = next(scanning)
    started = time.monotonic()
    scanning.close()
    assert first.file == str(files[0]) and time.monotonic() - started < 30


def test_the_p_syn_cell_says_what_drove_the_verdict() -> None:
    from guard.scan_cli import _table
    from guard.scan_result import ScanResult

    def row(verdict: str, detector: dict) -> ScanResult:
        return ScanResult("a.wav", verdict, "r", {"detected": False, "payload": None}, None, None, detector, 12.0)

    windows = [[0.0, 3.0, 0.05], [2.0, 5.0, 0.81], [4.0, 7.0, 0.77], [6.0, 9.0, 0.04]]
    part = row("likely-synthetic", {"p_synthetic": 0.11, "speech": True, "segments": windows})
    noise = row("no-evidence", {"p_synthetic": 0.26, "speech": False, "segments": []})
    plain = row("no-evidence", {"p_synthetic": 0.02, "speech": True, "segments": windows[:1]})
    lines = _table([part, noise, plain], threshold=0.5)
    cells = [line.split()[3] for line in lines[1:4]]
    assert cells == ["0.81*", "n/a", "0.02"]
    assert lines[-1].startswith("(* the peak of a synthetic part")
    assert len(_table([plain], threshold=0.5)) == 2  # no footnote without a star
