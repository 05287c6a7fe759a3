"""What killed `watermark embed` runs leave beside OUT, and how the next embed into that folder treats it."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import marked_noise, voiced_glide

from guard.audio import save
from guard.cli import cli
from guard.home import Home
from guard.ledger import Ledger
from guard.watermark.staging import StagedFile, sweep

SR = 16000

_KILLED_BEFORE_LOG = textwrap.dedent("""
    import os, signal, sys
    import guard.provenance as provenance

    def killed(*args, **kwargs):  # the process dies after OUT was staged and checked, before the mark is logged
        os.kill(os.getpid(), signal.SIGKILL)

    provenance.record_mark = killed
    from guard.cli import cli
    cli(sys.argv[1:])
""")


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    return save(tmp_path / "talk.wav", np.tile(voiced_glide(5.0, seed=3), 2), sample_rate=SR)


def _marks(home: Home) -> list:
    with Ledger(home) as led:
        return led.verified_events("audio.marked")


def _embed(runner, home: Home, src: Path, out: Path):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(src), "-o", str(out)])


def test_a_kill_before_the_log_leaves_a_marked_file_the_next_embed_removes(runner, home: Home, talk: Path,  # noqa: ANN001
                                                                           tmp_path: Path) -> None:
    out = tmp_path / "o.wav"
    proc = subprocess.run([sys.executable, "-c", _KILLED_BEFORE_LOG, "--home", str(home.root), "watermark", "embed",
                           str(talk), "-o", str(out)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONPATH": "."})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (left,) = tmp_path.glob(".voiceguard-*-o.wav")  # marked, and no record names it
    assert not out.exists() and _marks(home) == []
    r = _embed(runner, home, talk, tmp_path / "again.wav")
    assert r.exit_code == 0, r.output
    assert f"Note: {left}, left by an interrupted `watermark embed`, carried this home's mark" in r.stderr
    assert "which no record names (an embed stopped before logging it); removed" in r.stderr
    assert not left.exists() and not list(tmp_path.glob(".voiceguard-*")) and len(_marks(home)) == 1


def test_a_logged_copy_another_homes_file_and_a_locked_one_are_left(home: Home, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    logged = marked_noise(tmp_path / ".voiceguard-0000000a-logged.wav", home.watermark_key(), 0xA, seconds=6.0)
    with Ledger(home) as led:
        led.append("audio.marked", {"record_id": "mark-a", "payload": "0000000a", "audio_sha256": "00" * 32,
                                    "audio_path": str(tmp_path / "logged.wav"), "source_sha256": "11" * 32,
                                    "strength": 1.0, "created_at": "2026-01-01T00:00:00+00:00"})
    foreign = marked_noise(tmp_path / ".voiceguard-0000000b-foreign.wav", bytes(32), 0xB, seconds=6.0)
    busy = marked_noise(tmp_path / ".voiceguard-0000000c-busy.wav", home.watermark_key(), 0xC, seconds=6.0)
    junk = tmp_path / ".voiceguard-0000000d-junk.wav"
    junk.write_bytes(b"not audio")
    odd = marked_noise(tmp_path / ".voiceguard-notours-x.wav", home.watermark_key(), 0xE, seconds=6.0)
    held = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # an embed still at work
        found = {left.path.name: left for left in sweep(tmp_path, home)}
    finally:
        os.close(held)
    assert set(found) == {logged.name, foreign.name, junk.name}  # not the locked one, not another name pattern
    assert not any(left.removed for left in found.values())
    assert "its payload 0000000a is logged (marked audio record mark-a" in found[logged.name].reason
    assert found[foreign.name].reason == "carries no mark of this home's keys; left in place"
    assert found[junk.name].reason.startswith("unreadable (")
    assert all(p.exists() for p in (logged, foreign, busy, junk, odd))
    (alone,) = [left for left in sweep(tmp_path, home) if left.removed]
    assert alone.path == busy and not busy.exists()  # unlocked now, marked here, payload never logged
    assert sweep(other, home) == [] and sweep(tmp_path / "gone", home) == []


def test_a_staged_file_is_locked_while_open_and_removed_unless_renamed(tmp_path: Path) -> None:
    with StagedFile(tmp_path / "o.wav") as staged:
        assert staged.path.parent == tmp_path and staged.path.name.endswith("-o.wav") and staged.path.is_file()
        probe = os.open(staged.path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    assert not staged.path.exists()
    with StagedFile(tmp_path / "kept.wav") as staged:
        staged.path.write_bytes(b"done")
        os.replace(staged.path, tmp_path / "kept.wav")
    assert (tmp_path / "kept.wav").read_bytes() == b"done" and list(tmp_path.glob(".voiceguard-*")) == []
