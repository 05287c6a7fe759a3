"""guard.progress: bars on stderr, sparse plain ASCII when stderr is a file, nothing when disabled."""

from __future__ import annotations

import sys

import pytest

from guard import progress


def test_a_bar_into_a_file_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert sum(1 for _ in progress.bar(range(5000), desc="work")) == 5000  # stderr is no terminal here
    assert capsys.readouterr().err == ""


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
