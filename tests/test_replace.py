"""guard.replace: a finished file takes another's place atomically and keeps its permission bits."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.replace import replace_keeping_mode


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o660])
def test_the_replaced_files_mode_is_kept(tmp_path: Path, mode: int) -> None:
    target, staged = tmp_path / "clip.wav", tmp_path / ".staged.wav"
    target.write_bytes(b"old")
    target.chmod(mode)
    staged.write_bytes(b"new")
    staged.chmod(0o666 & ~mode)  # anything else
    replace_keeping_mode(staged, target)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == mode and not staged.exists()


def test_a_new_target_keeps_the_staged_files_mode(tmp_path: Path) -> None:
    target, staged = tmp_path / "clip.wav", tmp_path / ".staged.wav"
    staged.write_bytes(b"new")
    staged.chmod(0o640)
    replace_keeping_mode(staged, target)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o640
