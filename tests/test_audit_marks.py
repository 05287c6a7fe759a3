"""The audit accounts for every mark the home makes (``audio.marked``): counted, one payload each, files compared."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from conftest import marked_noise

from guard import consent, provenance
from guard.audio import save
from guard.digest import sha256_file
from guard.home import Home
from guard.ledger import Ledger
from guard.ledger.audit import CHECKED_KEYS, audit_bundle, audit_home, export_bundle

SR = 16000


def _mark(payload: str = "0000abcd", *, path: Path | None = None, sha: str = "00" * 32,
          record_id: str = "mark-x") -> dict:
    """An ``audio.marked`` body as `watermark embed` logs it."""
    return {"record_id": record_id, "payload": payload, "audio_sha256": sha,
            "audio_path": None if path is None else str(path.resolve()), "source_sha256": "11" * 32,
            "strength": 1.0, "created_at": datetime.now(timezone.utc).isoformat()}


def _clip(consent_id: str, payload: str) -> dict:
    return {"record_id": "rec-x", "payload": payload, "voice_id": "amy", "consent_id": consent_id,
            "text_sha256": "00" * 32, "audio_sha256": "00" * 32, "generator": "g", "generator_version": "1",
            "created_at": datetime.now(timezone.utc).isoformat(), "manifest": "embedded", "audio_path": None,
            "purpose": "research"}


@pytest.fixture
def granted(home: Home) -> str:
    return consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                         expires=date.today() + timedelta(days=30), license_text="CC BY 4.0").consent_id


def _append(home: Home, events: list[tuple[str, dict]]) -> None:
    with Ledger(home) as led:  # forged: no precondition checks the payloads
        for kind, body in events:
            led.append(kind, body)


def test_marks_are_counted_and_their_files_checked(home: Home, tmp_path: Path) -> None:
    kept = marked_noise(tmp_path / "kept.wav", home.watermark_key(), 0x1111)
    _append(home, [("audio.marked", _mark("00001111", path=kept, sha=sha256_file(kept), record_id="mark-a")),
                   ("audio.marked", _mark("00002222", record_id="mark-b"))])
    report = audit_home(home)
    assert report.ok and report.notes == [], report.failures
    assert report.checked["marks"] == 2 and report.checked["files"] == 1 and report.checked["clips"] == 0
    assert "2 marks" in report.counts()


def test_checked_keeps_its_keys_and_adds_marks_at_the_end(home: Home, tmp_path: Path) -> None:
    assert CHECKED_KEYS[:13] == ("public_key", "tree_heads", "events", "checkpoint", "pinned checkpoint", "consents",
                                 "revocations", "enrollments", "clips", "files", "files_missing", "refusals",
                                 "deletions")
    assert CHECKED_KEYS[13:] == ("marks", "key_rotations", "challenges")
    _append(home, [("audio.marked", _mark())])
    export_bundle(home, tmp_path / "bundle")
    for report in (audit_home(home), audit_bundle(tmp_path / "bundle")):
        checked = report.to_dict()["checked"]
        assert list(checked) == list(CHECKED_KEYS) and checked["marks"] == 1


DUPLICATES = [
    ("a mark reuses a clip's payload", lambda cid: [("clip.generated", _clip(cid, "0000abcd")),
                                                    ("audio.marked", _mark("0000abcd"))], "clip.generated"),
    ("a clip reuses a mark's payload", lambda cid: [("audio.marked", _mark("0000abcd")),
                                                    ("clip.generated", _clip(cid, "0000abcd"))], "audio.marked"),
    ("two marks share a payload", lambda cid: [("audio.marked", _mark("0000abcd")),
                                               ("audio.marked", _mark("0000ABCD", record_id="mark-y"))],
     "audio.marked"),
]


@pytest.mark.parametrize(("name", "events", "first"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_a_payload_logged_twice_is_a_duplicate_payload(home: Home, granted: str, name: str, events,
                                                       first: str) -> None:  # noqa: ANN001
    _append(home, events(granted))
    report = audit_home(home)
    (failure,) = [f for f in report.failures if f.kind == "duplicate-payload"]
    assert "payload 0000abcd already used by event 1 (" + first in failure.detail, failure
    assert {"tree-head-mismatch", "bad-signature"}.isdisjoint(report.kinds())  # a signed log that means the wrong thing


def test_an_issued_clip_and_a_mark_with_other_payloads_pass(home: Home, granted: str, tmp_path: Path) -> None:
    clip = marked_noise(tmp_path / "clip.wav", home.watermark_key(), 0x4444)
    provenance.issue(home, payload=0x4444, voice_id="amy", consent_id=granted, text="Hi.", audio_path=clip,
                     generator="test", generator_version="1", purpose="research")
    _append(home, [("audio.marked", _mark("00005555"))])
    report = audit_home(home)
    assert report.ok and report.checked["clips"] == 1 and report.checked["marks"] == 1, report.failures


def test_a_changed_marked_file_is_noted_and_a_deleted_one_counted_neither_fails(home: Home, tmp_path: Path) -> None:
    changed = marked_noise(tmp_path / "changed.wav", home.watermark_key(), 0x1, seed=1)
    gone = marked_noise(tmp_path / "gone.wav", home.watermark_key(), 0x2, seed=2)
    _append(home, [("audio.marked", _mark("00000001", path=changed, sha=sha256_file(changed), record_id="mark-c")),
                   ("audio.marked", _mark("00000002", path=gone, sha=sha256_file(gone), record_id="mark-g"))])
    save(changed, np.zeros(SR, dtype=np.float32), sample_rate=SR)
    gone.unlink()
    report = audit_home(home)
    assert report.ok and report.failures == []
    note, gone_note = report.notes
    assert note.kind == "mark-changed" and note.id == "event 0 (audio.marked mark-c)"
    assert gone_note.kind == "mark-missing" and gone_note.id == "event 1 (audio.marked mark-g)"
    assert f"{changed.resolve()} no longer matches" in note.detail and "edited or replaced after it was marked" in note.detail
    assert report.checked["files_missing"] == 1 and report.checked["files"] == 1
