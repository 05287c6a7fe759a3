"""End to end: a persona consents, is enrolled, and cloned; clips verify; refusals leave nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from clone_support import SR, grant_statement, record_script

from cloner import pipeline, script
from cloner.convert import ConvertConfig
from cloner.enroll import enroll
from cloner.voice import list_voices, load_voice
from guard.errors import CloneError, ConsentError

# About 8 s of speech: a clip this long carries its payload reliably even from the tiny test model.
TEXT = ("Good morning. This voice was cloned with consent, and every clip carries a mark. "
        "Anyone can check where it came from and who agreed to it.")


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A home with persona nova enrolled from ~70 s of speech at a fast training setting."""
    import torch

    from guard.home import init_home

    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp("enrolled")
    home, _ = init_home(work / "home")
    folder = record_script(work / "rec", "nova", script.SENTENCES[:24])
    record = grant_statement(home, "nova", "nova", work)
    result = enroll(home, "nova", recordings_dir=folder, consent_id=record.consent_id,
                    config=ConvertConfig(steps=30, postfilter_steps=10), seed=0, progress=False, warn=lambda m: None)
    return home, record, result, folder


def test_enrollment_is_saved_and_listed(enrolled) -> None:  # noqa: ANN001
    home, record, result, _ = enrolled
    assert result.folder == home.voices_dir / "nova" and (result.folder / "voice.json").is_file()
    assert result.speech_s >= 60 and result.n_recordings == 24
    assert len(result.warnings) == 1 and "3 minutes" in result.warnings[0]
    assert [v["voice_id"] for v in list_voices(home)] == ["nova"]
    assert sorted(p.name for p in home.voices_dir.iterdir()) == ["nova"]  # no temporary folder left
    from guard.ledger import open_ledger

    with open_ledger(home) as ledger:
        events = [e for e in ledger.events("voice.enrolled")]
    assert len(events) == 1 and events[0].body["voice_id"] == "nova"
    assert events[0].body["model_sha256"] == result.model_sha256 and len(events[0].body["files"]) == 24
    model = load_voice(home, "nova")
    assert model.consent_id == record.consent_id and model.sample_rate == SR
    assert 80 <= model.tts.rate_wpm <= 450 and 0.25 <= model.pause_s <= 0.8


def test_enrolling_twice_is_refused(enrolled) -> None:  # noqa: ANN001
    home, record, _, folder = enrolled
    with pytest.raises(CloneError, match="already enrolled"):
        enroll(home, "nova", recordings_dir=folder, consent_id=record.consent_id, progress=False)


def test_clone_is_marked_and_recorded(enrolled, tmp_path: Path) -> None:  # noqa: ANN001
    from guard import watermark
    from guard.audio import load

    home, record, _, _ = enrolled
    out = tmp_path / "clip.wav"
    result = pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=out)
    assert out.is_file() and result.file == str(out)
    assert result.voice_id == "nova" and result.consent_id == record.consent_id and result.record_id
    y = load(out, sample_rate=SR)
    check = watermark.verify(y, sample_rate=SR, keys=home.watermark_keys())
    assert check.detected and check.payload == int(result.payload, 16)
    assert len(result.payload) == 8 and result.manifest
    assert [p.name for p in tmp_path.iterdir()] == ["clip.wav"]  # no temporary file left


def test_two_clones_get_different_payloads(enrolled, tmp_path: Path) -> None:  # noqa: ANN001
    home = enrolled[0]
    a = pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=tmp_path / "a.flac")
    b = pipeline.clone(home, "nova", TEXT, purpose="research", out_path=tmp_path / "b.wav")
    assert a.payload != b.payload and a.record_id != b.record_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.flac", "b.wav"]


def test_too_short_text_is_refused_without_a_file(enrolled, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(CloneError, match="too short to carry a readable watermark"):
        pipeline.clone(enrolled[0], "nova", "Hi.", purpose="audiobook", out_path=tmp_path / "short.wav")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("seconds", "says"), [(1.0, r"too short to carry a readable watermark \(1\.0 s of audio"),
                                              (8.0, r"8\.0 s of audio carried too little of the watermark.*enroll "
                                                    r"the voice again")])
def test_an_unreadable_mark_is_blamed_on_the_text_only_when_the_clip_is_short(seconds: float, says: str) -> None:
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(int(seconds * 16000)) / 16000)).astype(np.float32)  # unmarkable
    with pytest.raises(CloneError, match=says):
        pipeline.mark(tone, sample_rate=16000, payload=0x1234ABCD, key=bytes(range(32)))


def test_sentences_are_joined_with_a_pause(enrolled) -> None:  # noqa: ANN001
    from cloner.recordings import frame_levels_db

    model = load_voice(enrolled[0], "nova")
    one = pipeline.speak(model, "Good morning to you.")
    two = pipeline.speak(model, "Good morning to you. Good morning to you.")
    assert two.shape[0] > 2 * one.shape[0]
    levels = frame_levels_db(two, sample_rate=SR)
    quiet = levels < levels.max() - 50
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, quiet.astype(int), 0])))[::2]
    assert runs.max() * 0.02 >= 0.9 * model.pause_s
    assert np.max(np.abs(two)) <= pipeline.PEAK_LIMIT + 1e-6


@pytest.mark.parametrize(
    ("voice_id", "purpose", "match"),
    [("nova", "game", "clone refused"), ("nobody", "audiobook", "clone refused: unknown voice 'nobody'")],
)
def test_refused_clone_writes_nothing(enrolled, tmp_path: Path, voice_id: str, purpose: str, match: str) -> None:  # noqa: ANN001
    home = enrolled[0]
    out = tmp_path / "refused.wav"
    from guard.ledger import open_ledger

    with open_ledger(home) as ledger:
        before = len(list(ledger.events("clone.refused")))
    with pytest.raises(ConsentError, match=match):
        pipeline.clone(home, voice_id, TEXT, purpose=purpose, out_path=out)
    assert list(tmp_path.iterdir()) == []
    with open_ledger(home) as ledger:
        refused = list(ledger.events("clone.refused"))
    assert len(refused) == before + 1
    assert refused[-1].body["voice_id"] == voice_id and refused[-1].body["purpose"] == purpose


@pytest.mark.parametrize(("name", "match"), [("clip.xyz", "cannot write '.xyz'"), ("missing/clip.wav", "does not exist")])
def test_bad_output_path_writes_nothing(enrolled, tmp_path: Path, name: str, match: str) -> None:  # noqa: ANN001
    with pytest.raises(CloneError, match=match):
        pipeline.clone(enrolled[0], "nova", TEXT, purpose="audiobook", out_path=tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_split_sentences() -> None:
    assert pipeline.split_sentences("One. Two!  Three? four; five") == ["One.", "Two!", "Three?", "four;", "five"]
    assert pipeline.split_sentences(" ... ") == []


def test_cli_clone_json_contract(enrolled, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.cli import cli

    home = enrolled[0]
    out = tmp_path / "cli.wav"
    result = runner.invoke(cli, ["clone", "nova", TEXT, "-o", str(out),
                                 "--purpose", "research", "--json", "--home", str(home.root)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["file", "record_id", "payload", "voice_id", "consent_id", "manifest"]
    assert data["file"] == str(out) and out.is_file()
    int(data["payload"], 16)
    listed = runner.invoke(cli, ["voices", "list", "--json", "--home", str(home.root)])
    assert listed.exit_code == 0 and json.loads(listed.stdout.splitlines()[0])["voice_id"] == "nova"


def test_cli_refusal_is_one_line(enrolled, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.cli import cli

    out = tmp_path / "no.wav"
    result = runner.invoke(cli, ["clone", "nova", "Hello.", "-o", str(out), "--purpose", "game",
                                 "--home", str(enrolled[0].root)])
    assert result.exit_code == 1 and result.output.startswith("Error: clone refused")
    assert not out.exists()


def test_existing_output_is_kept_unless_forced(enrolled, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.cli import cli
    from guard.ledger.audit import audit_home

    home = enrolled[0]
    out = tmp_path / "taken.wav"
    out.write_bytes(b"an earlier clip")
    out.chmod(0o600)
    with pytest.raises(CloneError, match=r"taken.wav already exists; choose another name, or pass --force"):
        pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=out)
    assert out.read_bytes() == b"an earlier clip" and sorted(p.name for p in tmp_path.iterdir()) == ["taken.wav"]
    args = ["clone", "nova", TEXT, "-o", str(out), "--purpose", "audiobook", "--json", "--home", str(home.root)]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1 and refused.stdout == "" and "already exists" in refused.stderr
    forced = runner.invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["file"] == str(out) and out.read_bytes() != b"an earlier clip"
    assert out.stat().st_mode & 0o777 == 0o600  # the replaced file's permissions are kept
    assert "file-hash-mismatch" not in audit_home(home).kinds()


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_output_inside_the_home_is_refused(enrolled, runner, force: list[str]) -> None:  # noqa: ANN001
    from guard.cli import cli

    home, record, _, _ = enrolled
    evidence = Path(record.evidence["file"])
    before = evidence.read_bytes()
    result = runner.invoke(cli, ["clone", "nova", TEXT, "-o", str(evidence), "--purpose", "audiobook",
                                 "--home", str(home.root), *force])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "inside the data home" in result.output
    assert evidence.read_bytes() == before


def test_punctuation_only_text_is_one_clear_line(enrolled, runner, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.cli import cli

    result = runner.invoke(cli, ["clone", "nova", "?!... ,,, ;;", "-o", str(tmp_path / "p.wav"), "--purpose",
                                 "audiobook", "--home", str(enrolled[0].root)])
    assert result.exit_code == 1 and result.output == (
        "Error: text has nothing to speak (no letters or digits), given '?!... ,,, ;;'; give words\n")
    assert list(tmp_path.iterdir()) == []


def _copy_of(enrolled, tmp_path: Path):  # noqa: ANN001, ANN202
    """The enrolled home copied, so a test may revoke or race without touching the module's home."""
    import shutil

    from guard.home import open_home

    shutil.copytree(enrolled[0].root, tmp_path / "home")
    return open_home(tmp_path / "home")


def _events(home, kind: str) -> list:  # noqa: ANN001
    from guard.ledger import open_ledger

    with open_ledger(home) as ledger:
        return list(ledger.events(kind))


def test_a_revocation_while_the_clip_is_made_refuses_it(enrolled, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from guard import consent
    from guard.provenance import clips as clip_issuing

    home = _copy_of(enrolled, tmp_path)
    clips = len(_events(home, "clip.generated"))
    signing = clip_issuing.sign_clip

    def sign_then_revoke(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        done = signing(*args, **kwargs)
        consent.revoke(home, enrolled[1].consent_id, reason="withdrawn while the clip was made")
        return done

    monkeypatch.setattr(clip_issuing, "sign_clip", sign_then_revoke)
    out = tmp_path / "out" / "late.wav"
    out.parent.mkdir()
    with pytest.raises(ConsentError, match="clone refused: .*is revoked"):
        pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=out)
    assert list(out.parent.iterdir()) == [] and len(_events(home, "clip.generated")) == clips
    assert _events(home, "clone.refused")[-1].body["purpose"] == "audiobook"
    from guard.ledger.audit import audit_home

    assert audit_home(home).ok


def test_a_name_taken_while_the_clip_is_made_logs_no_clip(enrolled, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from guard.provenance import clips as clip_issuing

    home = _copy_of(enrolled, tmp_path)
    clips = len(_events(home, "clip.generated"))
    out = tmp_path / "out" / "same.wav"
    out.parent.mkdir()
    signing = clip_issuing.sign_clip

    def sign_while_another_writes(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        done = signing(*args, **kwargs)
        out.write_bytes(b"the other clone's clip")
        return done

    monkeypatch.setattr(clip_issuing, "sign_clip", sign_while_another_writes)
    with pytest.raises(CloneError, match="appeared while the clip was made"):
        pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=out)
    assert out.read_bytes() == b"the other clone's clip" and len(_events(home, "clip.generated")) == clips
    assert [p.name for p in out.parent.iterdir()] == ["same.wav"]  # no staging folder left


def test_an_encoding_that_loses_the_payload_is_tried_again_then_refused(enrolled, tmp_path: Path,
                                                                        monkeypatch) -> None:  # noqa: ANN001
    from guard.errors import WatermarkError
    from guard.provenance import clips as clip_issuing

    home = _copy_of(enrolled, tmp_path)
    clips = len(_events(home, "clip.generated"))
    real_check = clip_issuing._check_marked
    calls: list[int] = []

    def lossy_once(home_, path, payload):  # noqa: ANN001, ANN202
        calls.append(payload)
        if len(calls) == 1:
            raise WatermarkError(f"{path}: its watermark does not read back with payload {payload:08x}")
        return real_check(home_, path, payload)

    monkeypatch.setattr(clip_issuing, "_check_marked", lossy_once)
    made = pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=tmp_path / "second.wav")
    assert len(calls) == 2 and made.payload == f"{calls[1]:08x}" and len(_events(home, "clip.generated")) == clips + 1

    def always_lossy(home_, path, payload):  # noqa: ANN001, ANN202
        raise WatermarkError(f"{path}: its watermark does not read back with payload {payload:08x}")

    monkeypatch.setattr(clip_issuing, "_check_marked", always_lossy)
    with pytest.raises(CloneError, match=r"never\.mp3: the \.mp3 encoding does not keep a readable watermark"):
        pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=tmp_path / "never.mp3")
    assert not (tmp_path / "never.mp3").exists() and len(_events(home, "clip.generated")) == clips + 1


def test_a_sidecar_name_taken_while_the_clip_is_made_is_not_replaced(enrolled, tmp_path: Path,
                                                                     monkeypatch) -> None:  # noqa: ANN001
    from guard.provenance import clips as clip_issuing

    home = _copy_of(enrolled, tmp_path)
    clips = len(_events(home, "clip.generated"))
    out = tmp_path / "out" / "clip.ogg"  # Ogg carries its manifest in a sidecar, clip.ogg.c2pa
    out.parent.mkdir()
    signing = clip_issuing.sign_clip

    def sign_while_another_writes(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        done = signing(*args, **kwargs)
        (out.parent / "clip.ogg.c2pa").write_bytes(b"someone else's manifest")
        return done

    monkeypatch.setattr(clip_issuing, "sign_clip", sign_while_another_writes)
    with pytest.raises(CloneError, match=r"clip.ogg.c2pa appeared while the clip was made"):
        pipeline.clone(home, "nova", TEXT, purpose="audiobook", out_path=out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["clip.ogg.c2pa"]
    assert (out.parent / "clip.ogg.c2pa").read_bytes() == b"someone else's manifest"
    assert len(_events(home, "clip.generated")) == clips
