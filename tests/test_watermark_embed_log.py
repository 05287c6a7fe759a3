"""`voiceguard watermark embed` logs every mark it makes (``audio.marked``), and logs nothing when it writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import marked_noise, voiced_glide

from guard.audio import save
from guard.cli import cli
from guard.digest import sha256_file
from guard.home import Home
from guard.ledger import Ledger

SR = 16000


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    """10 s of a voiced-speech-like glide: stands in for a real person's recording."""
    return save(tmp_path / "talk.wav", np.tile(voiced_glide(5.0, seed=3), 2), sample_rate=SR)


def marks(home: Home) -> list:
    with Ledger(home) as led:
        return led.verified_events("audio.marked")


def event_count(home: Home) -> int:
    with Ledger(home) as led:
        return len(led.verified_events())


def embed(runner, home: Home, src: Path, out: Path, *extra: str):  # noqa: ANN001, ANN201
    return runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(src), "-o", str(out), *extra])


def test_embed_logs_exactly_one_event_naming_payload_files_and_strength(runner, home: Home, talk: Path,
                                                                         tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "marked.flac"
    source_sha = sha256_file(talk)
    before = event_count(home)
    r = embed(runner, home, talk, out, "--payload", "0a0b0c0d", "--strength", "0.8", "--json")
    assert r.exit_code == 0, r.output
    (event,) = marks(home)
    assert event_count(home) == before + 1
    body = event.body
    assert body["payload"] == "0a0b0c0d" and body["strength"] == 0.8
    assert body["audio_sha256"] == sha256_file(out) and body["audio_path"] == str(out.resolve())
    assert body["source_sha256"] == source_sha and body["record_id"].startswith("mark-")
    assert body["created_at"][:10] == event.time.date().isoformat()
    info = json.loads(r.stdout)
    # the keys embed gave before are all there; the record and its ledger event are added
    assert {"file", "source", "payload", "snr_db", "sample_rate", "notes"} <= set(info)
    assert info["record_id"] == body["record_id"] and info["ledger_seq"] == event.seq
    assert info["sha256"] == body["audio_sha256"]


def test_embed_says_where_the_mark_was_logged(runner, home: Home, talk: Path, tmp_path: Path) -> None:  # noqa: ANN001
    r = embed(runner, home, talk, tmp_path / "m.wav")
    assert r.exit_code == 0, r.output
    (event,) = marks(home)
    assert f"logged as {event.body['record_id']} (ledger event {event.seq})" in r.stderr and r.stdout == ""


def test_embedding_in_place_logs_the_source_before_it_was_marked(runner, home: Home, talk: Path) -> None:  # noqa: ANN001
    source_sha = sha256_file(talk)
    r = embed(runner, home, talk, talk, "--force")
    assert r.exit_code == 0, r.output
    (event,) = marks(home)
    assert event.body["source_sha256"] == source_sha and event.body["audio_sha256"] == sha256_file(talk) != source_sha


def _hum(folder: Path) -> Path:
    return save(folder / "hum.wav", (0.3 * np.sin(2 * np.pi * 50 * np.arange(5 * SR) / SR)).astype(np.float32),
                sample_rate=SR)


def _clip_with_payload(home: Home, tmp_path: Path, payload: int) -> str:
    """Issue a generated clip's record with ``payload``; its record id."""
    from guard import consent, provenance

    grant = consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                          expires=date.today() + timedelta(days=9), license_text="CC BY 4.0")
    clip = marked_noise(tmp_path / "clip.wav", home.watermark_key(), payload)
    return provenance.issue(home, payload=payload, voice_id="amy", consent_id=grant.consent_id, text="Hi.",
                            audio_path=clip, generator="test", generator_version="1").record_id


@pytest.mark.parametrize("case", ["unmarkable audio", "payload of a clip", "payload of an earlier mark"])
def test_a_failed_embed_logs_nothing_and_writes_nothing(runner, home: Home, talk: Path, tmp_path: Path,
                                                        case: str) -> None:  # noqa: ANN001
    folder = tmp_path / "out"
    folder.mkdir()
    source, extra, words = talk, ["--payload", "5eed5eed"], []
    if case == "unmarkable audio":
        source, extra, words = _hum(folder), [], ["read back", "nothing was written"]
    elif case == "payload of a clip":
        rid = _clip_with_payload(home, tmp_path, 0x5EED5EED)
        words = [f"payload 5eed5eed belongs to generated clip record {rid} (voice amy)"]
    else:
        assert embed(runner, home, talk, tmp_path / "first.wav", "--payload", "5eed5eed").exit_code == 0
        (first,) = marks(home)
        words = [f"payload 5eed5eed was already used by an earlier mark: marked audio record "
                 f"{first.body['record_id']} (ledger event {first.seq}: {tmp_path.resolve() / 'first.wav'}",
                 "choose another --payload"]
    present = sorted(p.name for p in folder.iterdir())
    count = event_count(home)
    r = embed(runner, home, source, folder / "o.wav", *extra)
    assert r.exit_code == 1, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in r.output and all(w in errors[0] for w in words), r.stderr
    assert event_count(home) == count and sorted(p.name for p in folder.iterdir()) == present
    # the same command with audio that carries the mark, and a free payload, is logged once
    logged = len(marks(home))
    assert embed(runner, home, talk, folder / "o.wav").exit_code == 0
    assert event_count(home) == count + 1 and len(marks(home)) == logged + 1
    assert marks(home)[-1].body["audio_path"] == str((folder / "o.wav").resolve())


def test_two_embeds_get_different_payloads(runner, home: Home, talk: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import secrets

    # the draw repeats itself once: the second embed must see the first mark's payload as taken
    draws = iter([0x11112222, 0x11112222, 0x33334444])
    monkeypatch.setattr(secrets, "randbits", lambda k: next(draws))
    for name in ("a.wav", "b.wav"):
        assert embed(runner, home, talk, tmp_path / name).exit_code == 0
    assert [e.body["payload"] for e in marks(home)] == ["11112222", "33334444"]


def test_a_payload_taken_while_marking_is_refused_under_the_lock(runner, home: Home, talk: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from guard.provenance import marks as mark_logging

    # another writer logs the payload after this embed's last check outside the lock, before it takes the lock
    real = mark_logging.check_unused
    calls = []

    def racing(home_: Home, payload: int) -> None:
        calls.append(payload)
        real(home_, payload)
        if len(calls) == 1:  # passed; the next check is the one made under the ledger's write lock
            with Ledger(home_) as led:
                led.append("audio.marked", {"record_id": "mark-other", "payload": f"{payload:08x}",
                                            "audio_sha256": "00" * 32, "audio_path": "/elsewhere.wav",
                                            "source_sha256": "11" * 32, "strength": 1.0,
                                            "created_at": "2026-01-01T00:00:00+00:00"})

    monkeypatch.setattr(mark_logging, "check_unused", racing)
    out = tmp_path / "o.wav"
    r = embed(runner, home, talk, out, "--payload", "77778888")
    assert r.exit_code == 1 and "payload 77778888 is already used by marked audio record mark-other" in r.stderr
    assert "nothing was written" in r.stderr and not out.exists() and len(calls) == 2
    assert [e.body["record_id"] for e in marks(home)] == ["mark-other"]  # the other writer's, not this one's
    assert not list(tmp_path.glob(".voiceguard-*"))


def test_a_rename_that_fails_after_the_mark_was_logged_says_so(runner, home: Home, talk: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import guard.watermark.cli as wm_cli

    def refuse(staged: Path, target: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(wm_cli, "replace_keeping_mode", refuse)
    out = tmp_path / "o.wav"
    out.write_bytes(b"old")
    r = embed(runner, home, talk, out, "--force")
    (event,) = marks(home)  # logged first: a logged mark whose file never arrived misattributes nothing
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert r.exit_code == 1 and len(errors) == 1
    assert f"the mark was logged as ledger event {event.seq} ({event.body['record_id']}), but no file carries it" \
        in errors[0]
    assert out.read_bytes() == b"old" and not list(tmp_path.glob(".voiceguard-*"))


_KILLED_EMBED = textwrap.dedent("""
    import os, signal, sys
    import guard.watermark.cli as wm_cli

    def killed(staged, target):  # the process dies after the mark was logged, before OUT is renamed into place
        os.kill(os.getpid(), signal.SIGKILL)

    wm_cli.replace_keeping_mode = killed
    from guard.cli import cli
    cli(sys.argv[1:])
""")


@pytest.mark.parametrize("existing", [False, True])
def test_a_kill_between_logging_and_renaming_leaves_no_unlogged_mark_at_out(home: Home, talk: Path, tmp_path: Path,
                                                                           existing: bool) -> None:
    from guard.ledger.audit import audit_home

    out = tmp_path / "o.wav"
    if existing:
        out.write_bytes(b"old")
    proc = subprocess.run([sys.executable, "-c", _KILLED_EMBED, "--home", str(home.root), "watermark", "embed",
                           str(talk), "-o", str(out), "--force"], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONPATH": "."})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # OUT is what it was: whatever carries the mark is in the ledger, at a hidden name beside OUT
    assert out.read_bytes() == b"old" if existing else not out.exists()
    (event,) = marks(home)
    (staged,) = tmp_path.glob(".voiceguard-*-o.wav")
    assert event.body["audio_path"] == str(out.resolve()) and sha256_file(staged) == event.body["audio_sha256"]
    report = audit_home(home)
    assert report.ok and report.checked["marks"] == 1, report.failures
    assert report.checked["files_missing"] == (0 if existing else 1)
    (note,) = report.notes
    assert note.kind == "mark-changed" and f"left the marked file at {staged}; move it to {out.resolve()}" in note.detail


def test_an_embed_the_ledger_cannot_log_writes_nothing(runner, home: Home, talk: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import guard.ledger.store as store

    monkeypatch.setattr(store, "writable", lambda path: False)  # a home on read-only storage (root ignores modes)
    out = tmp_path / "o.wav"
    r = embed(runner, home, talk, out)
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert r.exit_code == 1 and len(errors) == 1, r.output
    assert f"{out}: the mark could not be logged, so nothing was written" in errors[0] and "read-only" in errors[0]
    assert not out.exists() and not list(tmp_path.glob(".voiceguard-*"))
    monkeypatch.undo()
    assert marks(home) == []


def test_embed_refuses_the_home_an_existing_file_and_audio_already_marked_here(runner, home: Home, talk: Path,  # noqa: ANN001
                                                                               tmp_path: Path) -> None:
    statement = home.root / "consents" / "consent-0123456789abcdef.wav"
    statement.parent.mkdir(exist_ok=True)
    statement.write_bytes(b"the speaker's consent statement")
    r = embed(runner, home, talk, statement, "--force")  # --force never reaches into the home
    assert r.exit_code == 1 and "inside the data home" in r.stderr
    assert statement.read_bytes() == b"the speaker's consent statement" and marks(home) == []
    first = tmp_path / "first.wav"
    assert embed(runner, home, talk, first).exit_code == 0
    (event,) = marks(home)
    again = embed(runner, home, first, tmp_path / "second.wav")  # a second mark would hide the first and its record
    assert again.exit_code == 1 and "already carries this home's watermark" in again.stderr
    assert f"payload {event.body['payload']}" in again.stderr and event.body["record_id"] in again.stderr
    assert not (tmp_path / "second.wav").exists() and len(marks(home)) == 1
    key_out = home.keys_dir / "watermark-0009.key"
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "export-key", "-o", str(key_out)])
    assert r.exit_code == 1 and "inside the data home" in r.stderr and not key_out.exists()
