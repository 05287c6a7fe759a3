"""Progress bars are drawn only on a terminal: a stderr kept in a file (``scan ... 2> scan.txt``) holds
the table and messages, not carriage-return-joined bar records. Every command's bars come from
guard.progress.bar, directly or through guard.cliutil.progress."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import SR, tone

from guard import progress
from guard.audio import save
from guard.cli import cli
from guard.cliutil import progress as cli_progress


def test_no_bar_into_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert not progress.on_terminal()  # pytest's capture is no terminal
    assert sum(1 for _ in progress.bar(range(500), desc="work")) == 500
    manual = progress.bar(total=10, desc="by hand")
    manual.update(10)
    manual.close()
    assert list(cli_progress(range(3), silent=False, desc="steps")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_a_bar_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress.on_terminal()
    assert list(cli_progress(range(3), silent=False, desc="steps")) == [0, 1, 2]
    assert "steps" in capsys.readouterr().err
    assert list(cli_progress(range(3), silent=True, desc="steps")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_a_closed_stderr_is_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    def closed() -> bool:
        raise ValueError("I/O operation on closed file")

    monkeypatch.setattr(sys.stderr, "isatty", closed, raising=False)
    assert not progress.on_terminal()


def test_a_scan_kept_in_a_file_holds_no_bar(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("VOICEGUARD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    (tmp_path / "inbox").mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        save(tmp_path / "inbox" / name, tone(300, 1.0), sample_rate=SR)
    result = runner.invoke(cli, ["scan", str(tmp_path / "inbox")])  # CliRunner's stderr is no terminal
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr and "scan:" not in result.stderr and "it/s" not in result.stderr
    assert any(line.startswith("FILE  ") for line in result.stderr.splitlines())  # the table's header on its own line
