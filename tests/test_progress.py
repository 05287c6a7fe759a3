"""guard.progress: bars on stderr, sparse plain ASCII when stderr is a file, nothing when disabled."""

from __future__ import annotations

import sys

import pytest

from guard import progress


def test_a_bar_into_a_file_redraws_rarely_in_ascii(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress.bar(range(5000), desc="work")
    assert bar.mininterval == progress.LOG_INTERVAL_S and bar.ascii
    assert sum(1 for _ in bar) == 5000
    err = capsys.readouterr().err
    assert err.count("\r") <= 4 and "█" not in err  # a start and an end, not one record per step
    # the last state stays and ends its line: what is said next starts a line of its own
    assert err.endswith("\n") and err.rstrip("\n").split("\r")[-1].startswith("work: 100%")


def test_a_disabled_bar_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress.bar(total=10, desc="quiet", enabled=False)
    bar.update(10)
    bar.close()
    assert capsys.readouterr().err == ""


def test_a_bar_on_a_terminal_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = progress.bar(total=3, desc="live")
    assert bar.mininterval == 0.1 and not bar.ascii and not bar.leave  # a terminal clears it
    bar.close()
