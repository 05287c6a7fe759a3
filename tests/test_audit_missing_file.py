"""The audit names each clip and marked file the log recorded that is gone (``clip-missing``, ``mark-missing``).

They live outside the home, in their owners' hands: one gone is counted (``files_missing``) and
noted with its recorded path and its event, and fails nothing.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from guard import consent
from guard.cli import cli
from guard.digest import sha256_file
from guard.home import Home
from guard.ledger import Ledger
from guard.ledger.audit import audit_bundle, audit_home, export_bundle


def _audio(path: Path, *, seed: int) -> Path:
    """A small file of seeded bytes standing in for a clip (the audit only hashes it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).bytes(256))
    return path


def _clip(consent_id: str, path: Path | None, *, record_id: str, payload: str) -> dict:
    """A ``clip.generated`` body as :func:`guard.provenance.issue` logs it."""
    return {"record_id": record_id, "payload": payload, "voice_id": "amy", "consent_id": consent_id,
            "text_sha256": "00" * 32, "audio_sha256": "00" * 32 if path is None else sha256_file(path),
            "generator": "g", "generator_version": "1", "created_at": datetime.now(timezone.utc).isoformat(),
            "manifest": "embedded", "audio_path": None if path is None else str(path.resolve()),
            "purpose": "research"}


def _mark(path: Path, *, record_id: str, payload: str) -> dict:
    """An ``audio.marked`` body as `voiceguard watermark embed` logs it."""
    return {"record_id": record_id, "payload": payload, "audio_sha256": sha256_file(path),
            "audio_path": str(path.resolve()), "source_sha256": "11" * 32, "strength": 1.0,
            "created_at": datetime.now(timezone.utc).isoformat()}


@pytest.fixture
def granted(home: Home) -> str:
    """A consent for voice amy (event 0)."""
    return consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                         expires=date.today() + timedelta(days=30), license_text="CC BY 4.0").consent_id


@pytest.fixture
def logged(home: Home, granted: str, tmp_path: Path) -> dict[str, Path]:
    """Event 1: clip rec-a, event 2: clip rec-b, event 3: mark mark-c; their files, all present."""
    files = {name: _audio(tmp_path / "out" / f"{name}.wav", seed=i) for i, name in enumerate(("a", "b", "c"))}
    with Ledger(home) as led:
        led.append("clip.generated", _clip(granted, files["a"], record_id="rec-a", payload="0000000a"))
        led.append("clip.generated", _clip(granted, files["b"], record_id="rec-b", payload="0000000b"))
        led.append("audio.marked", _mark(files["c"], record_id="mark-c", payload="0000000c"))
    return files


def test_all_files_present_gives_no_note(home: Home, logged: dict[str, Path]) -> None:
    report = audit_home(home)
    assert report.ok and report.notes == [] and report.checked["files_missing"] == 0
    assert report.checked["files"] == 3


def test_a_deleted_clip_is_counted_and_named_with_its_event(home: Home, logged: dict[str, Path]) -> None:
    logged["b"].unlink()
    report = audit_home(home)
    assert report.ok and report.failures == []  # the log and its consents are intact
    assert report.checked["files_missing"] == 1 and report.checked["files"] == 2
    (note,) = report.notes
    assert note.kind == "clip-missing" and note.id == "event 2 (clip.generated rec-b)"
    assert note.detail.startswith(f"{logged['b'].resolve()} is missing: the clip was moved or deleted after it was "
                                  f"generated")


def test_a_deleted_marked_file_is_counted_and_named_with_its_event(home: Home, logged: dict[str, Path]) -> None:
    logged["c"].unlink()
    report = audit_home(home)
    assert report.ok and report.checked["files_missing"] == 1
    (note,) = report.notes
    assert note.kind == "mark-missing" and note.id == "event 3 (audio.marked mark-c)"
    assert note.detail.startswith(f"{logged['c'].resolve()} is missing: the marked file was moved or deleted")


def test_each_missing_file_gets_its_own_note_beside_a_changed_one(home: Home, logged: dict[str, Path]) -> None:
    logged["a"].write_bytes(b"edited")
    logged["b"].unlink()
    logged["c"].unlink()
    report = audit_home(home)
    assert report.ok and report.checked["files_missing"] == 2 and report.checked["files"] == 1
    assert [(n.kind, n.id) for n in report.notes] == [("clip-changed", "event 1 (clip.generated rec-a)"),
                                                      ("clip-missing", "event 2 (clip.generated rec-b)"),
                                                      ("mark-missing", "event 3 (audio.marked mark-c)")]


def test_a_missing_clip_an_interrupted_clone_left_staged_names_where_it_waits(home: Home,
                                                                             logged: dict[str, Path]) -> None:
    clip = logged["b"]
    staged = clip.parent / ".voiceguard-0123abcd" / clip.name
    staged.parent.mkdir()
    clip.rename(staged)
    (note,) = audit_home(home).notes
    assert note.kind == "clip-missing" and note.id == "event 2 (clip.generated rec-b)"
    assert f"{clip.resolve()} is missing: an interrupted clone left the recorded clip at {staged}" in note.detail
    assert f"the next `voiceguard clone` into {clip.resolve().parent} moves it" in note.detail


def test_a_staged_copy_of_another_clip_is_not_named(home: Home, logged: dict[str, Path]) -> None:
    clip = logged["b"]
    other = _audio(clip.parent / ".voiceguard-0123abcd" / clip.name, seed=99)  # same name, other content
    clip.unlink()
    (note,) = audit_home(home).notes
    assert note.kind == "clip-missing" and str(other) not in note.detail and "moved or deleted" in note.detail


def test_a_missing_marked_file_left_staged_by_an_embed_is_noted_once(home: Home, logged: dict[str, Path]) -> None:
    marked = logged["c"]
    staged = marked.parent / f".voiceguard-0123abcd-{marked.name}"
    marked.rename(staged)
    report = audit_home(home)
    assert report.checked["files_missing"] == 1
    (note,) = report.notes  # where the file waits, not a second note that it is missing
    assert note.kind == "mark-changed" and f"left the marked file at {staged}" in note.detail


def test_a_clip_with_no_recorded_path_is_neither_counted_nor_noted(home: Home, granted: str) -> None:
    with Ledger(home) as led:
        led.append("clip.generated", _clip(granted, None, record_id="rec-n", payload="0000000d"))
    report = audit_home(home)
    assert report.ok and report.notes == [] and report.checked["files_missing"] == 0


def test_a_bundle_audited_without_files_notes_nothing_missing(home: Home, logged: dict[str, Path],
                                                              tmp_path: Path) -> None:
    export_bundle(home, tmp_path / "bundle")
    logged["b"].unlink()
    report = audit_bundle(tmp_path / "bundle")  # elsewhere: the files are not the auditor's to check
    assert report.ok and report.notes == [] and report.checked["files_missing"] == 0


def test_cli_audit_names_the_missing_file_and_passes(runner, home: Home, logged: dict[str, Path]) -> None:  # noqa: ANN001
    logged["a"].unlink()
    res = runner.invoke(cli, ["--home", str(home.root), "audit"])
    assert res.exit_code == 0, res.output
    assert (f"  NOTE clip-missing: event 1 (clip.generated rec-a): {logged['a'].resolve()} is missing: "
            in res.stderr)
    res = runner.invoke(cli, ["--home", str(home.root), "audit", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["checked"]["files_missing"] == 1
    (note,) = out["notes"]
    assert note["kind"] == "clip-missing" and note["id"] == "event 1 (clip.generated rec-a)"
    assert note["detail"].startswith(f"{logged['a'].resolve()} is missing")
