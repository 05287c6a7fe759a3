"""A clone stopped between its ledger record and the rename into OUT: the clip is kept, found and finished.

The voice is a tiny untrained model and ``speak`` is replaced by a seeded voiced signal made
in code, so each clone takes a second; the stop is simulated by making the rename raise.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from clone_support import install_tiny_voice
from conftest import voiced_glide

from cloner import output, pipeline
from cloner.recover import recover
from guard import consent, ledger
from guard.cli import cli
from guard.digest import sha256_file
from guard.errors import CloneError
from guard.ledger.audit import audit_home

TEXT = "A sentence long enough to carry a watermark, if it were ever spoken."


@pytest.fixture
def amy(home, monkeypatch):  # noqa: ANN001, ANN201
    """``home`` with voice amy enrolled under a research licence; clones speak an 8 s seeded glide."""
    record = consent.grant(home, voice_id="amy", subject="Reader One", operator="Lab", purposes=["research"],
                           expires=date.today() + timedelta(days=30), license_text="CC BY 4.0")
    install_tiny_voice(home, record.consent_id, recordings=("a",))
    monkeypatch.setattr(pipeline, "speak", lambda model, text: voiced_glide(8.0, seed=len(text)))
    return home


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """An empty folder for the clips (the home lives beside it)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _stop_at_the_rename(monkeypatch, stop: BaseException, *, after: int = 0) -> list[Path]:  # noqa: ANN001
    """Make the ``after``-th rename of the clone raise ``stop`` (after the record is logged); the names it was given."""
    real = pipeline.place
    calls: list[Path] = []

    def place(staged: Path, out: Path, *, overwrite: bool) -> None:
        calls.append(staged)
        if len(calls) > after:
            raise stop
        real(staged, out, overwrite=overwrite)

    monkeypatch.setattr(pipeline, "place", place)
    return calls


def _clip_events(home) -> list:  # noqa: ANN001
    with ledger.open_ledger(home) as led:
        return [e.body for e in led.events("clip.generated")]


def _staging_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(output.STAGING_PREFIX))


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), SystemExit(1)], ids=["interrupt", "exit"])
def test_a_clone_stopped_after_its_record_keeps_the_clip_and_a_later_clone_places_it(
        amy, outdir: Path, monkeypatch, runner, stop: BaseException) -> None:  # noqa: ANN001
    out = outdir / "clip.wav"
    _stop_at_the_rename(monkeypatch, stop)
    with pytest.raises(type(stop)):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=out)
    (logged,) = _clip_events(amy)
    (staging,) = _staging_folders(out.parent)
    staged = staging / "clip.wav"
    assert staged.is_file() and sha256_file(staged) == logged["audio_sha256"]  # kept, not cleaned away
    assert out.stat().st_size == 0  # the name stays reserved for it
    (note,) = audit_home(amy).notes  # the audit says where the recorded clip waits, and what places it
    assert note.kind == "clip-changed" and f"left that at {staged}" in note.detail
    assert "the next `voiceguard clone`" in note.detail
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "speak", lambda model, text: voiced_glide(8.0, seed=len(text)))
    res = runner.invoke(cli, ["clone", "amy", TEXT + " Again.", "-o", str(out.parent / "next.wav"),
                              "--purpose", "research", "--json", "--home", str(amy.root)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["recovered"] == [{"file": str(out), "record_id": logged["record_id"], "staged": None,
                                  "reason": None}]
    assert sha256_file(out) == logged["audio_sha256"] and _staging_folders(out.parent) == []
    report = audit_home(amy)
    assert report.ok and report.checked["files_missing"] == 0 and report.checked["files"] >= 2


def test_a_failed_rename_after_the_record_names_where_the_clip_waits(amy, outdir: Path, monkeypatch,
                                                                    runner) -> None:  # noqa: ANN001
    out = outdir / "clip.wav"
    _stop_at_the_rename(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(CloneError, match=r"clip.wav: the clip is recorded in the ledger but could not be moved") as info:
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=out)
    (staging,) = _staging_folders(outdir)
    assert str(staging / "clip.wav") in str(info.value) and "voiceguard clone" in str(info.value)
    monkeypatch.undo()
    recovered = recover(outdir, home=amy)  # what the next `voiceguard clone` into outdir runs first
    assert [(r.file, r.staged) for r in recovered] == [(str(out), None)]
    assert sha256_file(out) == _clip_events(amy)[0]["audio_sha256"] and _staging_folders(outdir) == []


def test_a_sidecar_clip_stopped_between_its_two_renames_is_finished(amy, outdir: Path, monkeypatch) -> None:  # noqa: ANN001
    out = outdir / "clip.ogg"  # Ogg carries its manifest in a sidecar, placed first
    calls = _stop_at_the_rename(monkeypatch, KeyboardInterrupt(), after=1)
    with pytest.raises(KeyboardInterrupt):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=out)
    assert [p.name for p in calls] == ["clip.ogg.c2pa", "clip.ogg"]
    assert output.sidecar_path(out).stat().st_size > 0 and out.stat().st_size == 0
    (recovered,) = recover(outdir, home=amy)
    assert recovered.staged is None and sha256_file(out) == _clip_events(amy)[0]["audio_sha256"]
    assert sorted(p.name for p in outdir.iterdir()) == ["clip.ogg", "clip.ogg.c2pa"]
    # the record names the sidecar where it lives now, not in the staging folder
    assert _clip_events(amy)[0]["manifest"] == str(output.sidecar_path(out).resolve())


def test_a_recorded_clip_whose_name_holds_another_file_is_reported_not_placed(amy, outdir: Path,
                                                                               monkeypatch, runner) -> None:  # noqa: ANN001
    out = outdir / "clip.wav"
    out.write_bytes(b"an earlier clip")
    _stop_at_the_rename(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=out, overwrite=True)
    monkeypatch.undo()
    (staging,) = _staging_folders(outdir)
    res = runner.invoke(cli, ["clone", "amy", "Hello", "-o", str(outdir / "x.wav"), "--purpose", "game",
                              "--json", "--home", str(amy.root)])  # refused, but the leftover is still reported
    assert res.exit_code == 1 and res.stdout == ""
    assert f"Warning: the clip of record {_clip_events(amy)[0]['record_id']} for {out} is still at " in res.stderr
    assert "clip.wav holds another file" in res.stderr
    assert out.read_bytes() == b"an earlier clip" and (staging / "clip.wav").is_file()


def test_a_clone_stopped_before_its_record_leaves_nothing(amy, outdir: Path, monkeypatch) -> None:  # noqa: ANN001
    from guard.provenance import clips

    def stop(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(clips, "sign_clip", stop)
    with pytest.raises(KeyboardInterrupt):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=outdir / "clip.wav")
    assert list(outdir.iterdir()) == [] and _clip_events(amy) == []



def test_ctrl_c_after_the_name_is_reserved_but_before_the_commit_gives_the_name_back(amy, outdir: Path,  # noqa: ANN001
                                                                                     monkeypatch) -> None:  # noqa: ANN001
    from guard.ledger import store

    append = store.Ledger.append

    def stopped_in_the_lock(self, kind, body, *, precondition=None, on_abort=None):  # noqa: ANN001, ANN202
        def then_stop() -> None:
            if precondition is not None:
                precondition()  # the clone's last checks pass and OUT is reserved...
            raise KeyboardInterrupt  # ...and Ctrl-C comes before the event is committed
        return append(self, kind, body, precondition=then_stop, on_abort=on_abort)

    monkeypatch.setattr(store.Ledger, "append", stopped_in_the_lock)
    with pytest.raises(KeyboardInterrupt):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=outdir / "clip.wav")
    assert list(outdir.iterdir()) == [] and _clip_events(amy) == []  # no empty file left holding the name


def test_empty_leftovers_are_removed_and_a_clip_no_record_here_names_is_kept_and_reported(amy, outdir: Path,  # noqa: ANN001
                                                                                           runner) -> None:  # noqa: ANN001
    empty = outdir / ".voiceguard-0123456789ab"
    unrecorded = outdir / ".voiceguard-ba9876543210"
    empty.mkdir()
    unrecorded.mkdir()
    clip = unrecorded / "clip.wav"  # another home's recorded clip, or one whose clone died before its record
    clip.write_bytes(b"a marked clip no record of this home names")
    other = outdir / ".voiceguard-notours"
    other.mkdir()
    (found,) = recover(outdir, home=amy)
    assert found.record_id is None and found.staged == str(clip) and "left in place" in found.reason
    assert sorted(p.name for p in outdir.iterdir()) == [".voiceguard-ba9876543210", ".voiceguard-notours"]
    assert clip.read_bytes() == b"a marked clip no record of this home names"
    res = runner.invoke(cli, ["clone", "amy", TEXT, "-o", str(outdir / "next.wav"), "--purpose", "research",
                              "--home", str(amy.root)])
    assert res.exit_code == 0, res.output
    assert f"Note: {clip} holds a clip an interrupted clone left" in res.stderr and clip.is_file()


def test_a_clip_of_this_homes_key_that_no_record_names_is_removed(amy, outdir: Path) -> None:  # noqa: ANN001
    from conftest import marked_noise

    orphan = outdir / ".voiceguard-ab0123456789"
    orphan.mkdir()  # a clone of this home killed after marking and signing, before its record was written
    marked_noise(orphan / "clip.wav", amy.watermark_key(), 0x1234ABCD)
    foreign = outdir / ".voiceguard-cd0123456789"
    foreign.mkdir()  # a clip marked with another key: maybe another home's recorded clip
    marked_noise(foreign / "clip.wav", bytes(range(32)), 0x1234ABCD)
    (found,) = recover(outdir, home=amy)
    assert found.staged == str(foreign / "clip.wav") and not orphan.exists() and foreign.is_dir()


def test_a_clone_with_another_home_never_removes_this_homes_stranded_clip(amy, outdir: Path, monkeypatch,  # noqa: ANN001
                                                                          runner, tmp_path: Path) -> None:
    from guard.home import init_home

    out = outdir / "clip.wav"
    _stop_at_the_rename(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pipeline.clone(amy, "amy", TEXT, purpose="research", out_path=out)
    monkeypatch.undo()
    (staging,) = _staging_folders(outdir)
    stranger, _ = init_home(tmp_path / "stranger")  # e.g. the default home, or a mistyped --home
    res = runner.invoke(cli, ["clone", "amy", TEXT, "-o", str(outdir / "c.wav"), "--purpose", "research",
                              "--home", str(stranger.root)])
    assert res.exit_code == 1 and "clone refused" in res.stderr
    assert sha256_file(staging / "clip.wav") == _clip_events(amy)[0]["audio_sha256"]  # still there
    (placed,) = recover(outdir, home=amy)  # and its own home places it
    assert placed.staged is None and sha256_file(out) == _clip_events(amy)[0]["audio_sha256"]


def test_the_staging_folder_of_a_clone_at_work_is_left_alone(amy, outdir: Path) -> None:  # noqa: ANN001
    staging = output.staging_folder(outdir / "clip.wav")
    try:
        (staging.path / "clip.wav").write_bytes(b"being made")
        assert recover(outdir, home=amy) == []
        assert (staging.path / "clip.wav").is_file()
    finally:
        staging.discard()
    assert list(outdir.iterdir()) == []


def test_a_clone_whose_staging_folder_is_removed_before_it_is_locked_makes_another(amy, outdir: Path,
                                                                                   monkeypatch) -> None:  # noqa: ANN001
    real_open = os.open
    removed: list[str] = []

    def open_after_a_recovery(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if str(path).endswith(output.LOCK_NAME) and not removed:
            removed.append(str(path))
            recover(outdir, home=amy)  # another process's recovery finds the new, empty folder first
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_after_a_recovery)
    staging = output.staging_folder(outdir / "clip.wav")
    monkeypatch.undo()
    assert staging.path.is_dir() and str(staging.path) not in removed[0]
    staging.discard()


KILLED_CLONE = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import voiced_glide
from cloner import pipeline
from guard.home import open_home

def killed(staged, out, *, overwrite):
    os.kill(os.getpid(), signal.SIGKILL)

pipeline.speak = lambda model, text: voiced_glide(8.0, seed=len(text))
pipeline.place = killed
pipeline.clone(open_home(Path({home!r})), "amy", {text!r}, purpose="research", out_path=Path({out!r}))
"""


def test_a_clone_killed_after_its_record_is_finished_by_the_next_clone(amy, outdir: Path, runner) -> None:  # noqa: ANN001
    import signal
    import subprocess
    import sys

    out = outdir / "clip.wav"
    script = KILLED_CLONE.format(tests=str(Path(__file__).parent), home=str(amy.root), text=TEXT, out=str(out))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    (logged,) = _clip_events(amy)
    assert len(_staging_folders(outdir)) == 1 and [n.kind for n in audit_home(amy).notes] == ["clip-changed"]
    res = runner.invoke(cli, ["clone", "amy", TEXT + " Again.", "-o", str(outdir / "next.wav"), "--purpose",
                              "research", "--home", str(amy.root)])
    assert res.exit_code == 0, res.output
    assert f"Recovered {out} (record {logged['record_id']})" in res.stderr
    assert sha256_file(out) == logged["audio_sha256"] and _staging_folders(outdir) == []
    assert audit_home(amy).ok
