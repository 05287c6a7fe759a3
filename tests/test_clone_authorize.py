"""Clone refusals that need no audio: whose consent covers a voice, its enrollment record, where clips may go, the text.

The voice is a tiny untrained model saved with a ``voice.enrolled`` ledger event; every case
here is refused (or checked) before any speech is made.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from clone_support import install_tiny_voice

from cloner import authorize, output, pipeline, voice
from cloner.enroll import trim
from guard import consent, ledger
from guard.cli import cli
from guard.errors import CloneError, ConsentError, TTSError

SOON = date.today() + timedelta(days=30)
TEXT = "A sentence long enough to carry a watermark, if it were ever spoken."


def _grant(home, *, subject: str = "Reader One", purposes=("research",)):  # noqa: ANN001, ANN202
    return consent.grant(home, voice_id="amy", subject=subject, operator="Lab", purposes=purposes, expires=SOON,
                         license_text="CC BY 4.0")


def _install_voice(home, consent_id: str, *, log: bool = True) -> Path:  # noqa: ANN001
    return install_tiny_voice(home, consent_id, log=log)


def _refusals(home) -> list[dict]:  # noqa: ANN001
    with ledger.open_ledger(home) as led:
        return [e.body for e in led.events("clone.refused")]


def _refused(home, tmp_path: Path, purpose: str, match: str) -> str:  # noqa: ANN001
    before = len(_refusals(home))
    out = tmp_path / "out" / "clip.wav"
    out.parent.mkdir(exist_ok=True)
    with pytest.raises(ConsentError, match=match) as info:
        pipeline.clone(home, "amy", TEXT, purpose=purpose, out_path=out)
    assert not out.exists() and list(out.parent.iterdir()) == []
    refusals = _refusals(home)
    assert len(refusals) == before + 1 and refusals[-1]["purpose"] == purpose
    return str(info.value)


def _authorized(home, purpose: str) -> str:  # noqa: ANN001
    meta = voice.read_meta(voice.voice_folder(home, "amy"))
    return authorize.authorize(home, "amy", purpose, model_consent_id=meta["consent_id"],
                               weights_sha256=meta["weights_sha256"]).consent_id


def test_a_strangers_licence_cannot_clone_an_enrolled_voice(home, tmp_path: Path) -> None:  # noqa: ANN001
    own = _grant(home)
    _install_voice(home, own.consent_id)
    stranger = _grant(home, subject="Somebody Else", purposes=("research", "detector-training"))
    assert _authorized(home, "research") == own.consent_id
    message = _refused(home, tmp_path, "detector-training", "clone refused: purpose 'detector-training' is outside")
    assert stranger.consent_id in message and "not the enrolled speaker's own" in message


def test_revoking_the_enrollment_consent_refuses_every_clone(home, tmp_path: Path) -> None:  # noqa: ANN001
    own = _grant(home)
    _install_voice(home, own.consent_id)
    renewal = _grant(home, purposes=("research", "detector-training"))
    assert _authorized(home, "detector-training") == renewal.consent_id  # a renewal by the same speaker counts
    _grant(home, subject="Somebody Else")
    consent.revoke(home, own.consent_id, reason="withdrawn")
    for purpose in ("research", "detector-training"):
        _refused(home, tmp_path, purpose, f"consent {own.consent_id}, under which voice 'amy' was enrolled, was revoked")


def test_a_voice_without_its_enrollment_record_is_refused(home, tmp_path: Path) -> None:  # noqa: ANN001
    own = _grant(home)
    _install_voice(home, own.consent_id, log=False)
    _refused(home, tmp_path, "research", "voice 'amy' has no enrollment record in the ledger")


def test_a_voice_folder_that_names_another_consent_is_refused(home, tmp_path: Path) -> None:  # noqa: ANN001
    own = _grant(home)
    folder = _install_voice(home, own.consent_id)
    stranger = _grant(home, subject="Somebody Else", purposes=("research", "detector-training"))
    meta = json.loads((folder / voice.META_FILE).read_text())
    meta["consent_id"] = stranger.consent_id  # point the voice at a wider consent by hand
    (folder / voice.META_FILE).write_text(json.dumps(meta))
    _refused(home, tmp_path, "detector-training", "does not match its enrollment record")


@pytest.mark.parametrize(("voice_id", "text"), [("nobody", TEXT), ("amy", TEXT), ("nobody", "   "), ("Amy", TEXT)])
def test_a_refusal_is_logged_whatever_else_is_wrong_with_the_call(home, tmp_path: Path, voice_id: str,
                                                                  text: str) -> None:  # noqa: ANN001
    own = _grant(home)
    _install_voice(home, own.consent_id)
    taken = tmp_path / "taken.wav"
    taken.write_bytes(b"someone else's file")
    with pytest.raises(ConsentError, match="clone refused"):
        pipeline.clone(home, voice_id, text, purpose="marketing", out_path=taken)
    assert taken.read_bytes() == b"someone else's file"
    logged = _refusals(home)[-1]
    assert logged["voice_id"] in (voice_id, repr(voice_id)) and logged["purpose"] == "marketing"


def test_a_voice_with_no_folder_is_refused_for_the_reason_the_ledger_gives(home, tmp_path: Path) -> None:  # noqa: ANN001
    own = _grant(home)
    folder = _install_voice(home, own.consent_id)
    (home.voices_dir / "ghost").mkdir()  # a folder no enrollment names is not offered as a voice
    assert authorize.unknown_voice(home, "nobody") == "unknown voice 'nobody' (enrolled: amy)"
    assert authorize.absent_voice(home, "nobody") == "unknown voice 'nobody' (enrolled: amy)"
    shutil.rmtree(folder)
    assert authorize.absent_voice(home, "amy").startswith(f"voice 'amy' is enrolled in the ledger but its model is "
                                                          f"missing from {folder}; restore the folder from a backup")
    ledger.log_deletion(home, voice_id="amy", consent_id=own.consent_id, reason="r", removed=[])
    assert "was deleted at" in authorize.absent_voice(home, "amy")
    assert authorize.enrolled_voices(home) == [] and authorize.unknown_voice(home, "x").endswith("(enrolled: none)")


def test_cli_uncovered_purpose_lists_what_the_consent_covers(runner, home, tmp_path: Path) -> None:  # noqa: ANN001
    _install_voice(home, _grant(home, purposes=("research", "detector-training")).consent_id)
    res = runner.invoke(cli, ["--home", str(home.root), "clone", "amy", TEXT, "-o", str(tmp_path / "c.wav"),
                              "--purpose", "game"])
    assert res.exit_code == 1 and res.output.count("\n") == 1
    assert res.output.startswith("Error: clone refused: purpose 'game' is outside the consent of voice 'amy' "
                                 "(its enrolled speaker 'Reader One' agreed to research, detector-training)")
    assert [r["purpose"] for r in _refusals(home)] == ["game"]


@pytest.mark.parametrize("purpose", ["marketing", "Research", "audio book"])
def test_cli_unknown_purpose_is_refused_logged_and_lists_what_the_consent_covers(runner, home, tmp_path: Path,  # noqa: ANN001
                                                                               purpose: str) -> None:
    # DESIGN.md: a clone for a purpose outside its consent is refused and the refusal logged, typos too
    _install_voice(home, _grant(home, purposes=("research", "detector-training")).consent_id)
    res = runner.invoke(cli, ["--home", str(home.root), "clone", "amy", TEXT, "-o", str(tmp_path / "c.wav"),
                              "--purpose", purpose])
    assert res.exit_code == 1 and res.output.count("\n") == 1
    assert res.output.startswith(f"Error: clone refused: unknown purpose {purpose!r}; the consent of voice 'amy' "
                                 "covers research, detector-training")
    assert [r["purpose"] for r in _refusals(home)] == [purpose] and not (tmp_path / "c.wav").exists()


def test_voices_list_shows_the_enrollment_consent_status(runner, home) -> None:  # noqa: ANN001
    own = _grant(home)
    _install_voice(home, own.consent_id)
    listed = runner.invoke(cli, ["--home", str(home.root), "voices", "list", "--json"])
    assert json.loads(listed.stdout)["consent_status"] == "valid"
    consent.revoke(home, own.consent_id, reason="withdrawn")
    listed = runner.invoke(cli, ["--home", str(home.root), "voices", "list", "--json"])
    shown = json.loads(listed.stdout)
    assert listed.exit_code == 0 and shown["consent_status"] == "revoked" and shown["state"] == "consent-revoked"
    human = runner.invoke(cli, ["--home", str(home.root), "voices", "list"])
    assert human.stdout == ""  # people's text goes to stderr
    assert f"consent {own.consent_id} (revoked)" in human.stderr
    assert f"CONSENT-REVOKED: consent {own.consent_id}, under which voice 'amy' was enrolled, was revoked" in human.stderr


# -- where a clip may be written ------------------------------------------------------------------------

def test_check_output_accepts_a_new_file(home, tmp_path: Path) -> None:  # noqa: ANN001
    assert output.check_output(tmp_path / "new.wav", home=home) == tmp_path / "new.wav"


@pytest.mark.parametrize(("make", "overwrite", "match"), [
    (lambda t, h: (t / "old.wav").write_bytes(b"x") and t / "old.wav", False, r"old.wav already exists; .*--force"),
    (lambda t, h: (t / "old.wav.c2pa").write_bytes(b"x") and t / "old.wav", False, r"old.wav.c2pa already exists"),
    (lambda t, h: h.root / "clip.wav", False, "is inside the data home"),
    (lambda t, h: h.root / "clip.wav", True, "is inside the data home"),
    (lambda t, h: h.root / "consents" / "consent-x.wav", True, "is inside the data home"),
    (lambda t, h: (t / "link").symlink_to(h.root) or t / "link" / "clip.wav", True, "is inside the data home"),
    (lambda t, h: (t / "afile.wav").write_bytes(b"x") and t / "afile.wav" / "x.wav", False,
     "afile.wav is a file, not a folder"),
    (lambda t, h: t / "missing" / "x.wav", False, "output folder .*missing does not exist"),
    (lambda t, h: (t / "d.wav").mkdir() or t / "d.wav", True, "is a folder"),
    (lambda t, h: t / "x.xyz", False, "cannot write '.xyz'"),
    (lambda t, h: t / "noext", False, r"/noext has no file extension, which picks the format; use one of \.wav, "
                                      r"\.flac, .* \(e\.g\. .*/noext\.wav\)$"),
    (lambda t, h: t / "clip.", False, r"/clip\. has no file extension, .*\(e\.g\. .*/clip\.wav\)$"),
])
def test_check_output_refuses(home, tmp_path: Path, make, overwrite: bool, match: str) -> None:  # noqa: ANN001
    (home.root / "consents").mkdir(exist_ok=True)
    with pytest.raises(CloneError, match=match):
        output.check_output(make(tmp_path, home), home=home, overwrite=overwrite)


def test_force_replaces_a_file_outside_the_home(home, tmp_path: Path) -> None:  # noqa: ANN001
    old = tmp_path / "old.wav"
    old.write_bytes(b"old")
    assert output.check_output(old, home=home, overwrite=True) == old
    staged = tmp_path / "staged.wav"
    staged.write_bytes(b"new")
    with pytest.raises(CloneError, match="appeared while the clip was made"):
        output.place(staged, old, overwrite=False)
    assert old.read_bytes() == b"old"
    output.place(staged, old, overwrite=True)
    assert old.read_bytes() == b"new" and not staged.exists()
    staged.write_bytes(b"fresh")
    output.place(staged, tmp_path / "fresh.wav", overwrite=False)
    assert (tmp_path / "fresh.wav").read_bytes() == b"fresh" and not staged.exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_an_unwritable_folder_names_the_output(home) -> None:  # noqa: ANN001
    with pytest.raises(CloneError, match=r"^/proc/x.wav: cannot write in /proc") as info:
        output.staging_folder(Path("/proc/x.wav"), ".voiceguard-test")
    assert ".voiceguard-test" not in str(info.value)


def test_an_allowed_clone_checks_the_output_before_making_speech(home, tmp_path: Path) -> None:  # noqa: ANN001
    own = _grant(home)
    _install_voice(home, own.consent_id)
    (home.root / "consents").mkdir(exist_ok=True)
    with pytest.raises(CloneError, match="is inside the data home"):
        pipeline.clone(home, "amy", TEXT, purpose="research", out_path=home.root / "consents" / "x.wav", overwrite=True)
    existing = tmp_path / "taken.wav"
    existing.write_bytes(b"earlier clip")
    with pytest.raises(CloneError, match="already exists"):
        pipeline.clone(home, "amy", TEXT, purpose="research", out_path=existing)  # allowed, so no refusal to log
    assert existing.read_bytes() == b"earlier clip" and _refusals(home) == []


# -- the text ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "match"), [
    ("?!... ,,, ;;", "nothing to speak"), ("   ", "text is empty"), ("x" * 2001, "over the maximum"), (None, "empty"),
    ("Hello world.\x00 The rest.", "control character"), ("<speak>Hello <break time='3s'/></speak>", "markup"),
])
def test_text_without_words_is_refused(text: object, match: str) -> None:
    with pytest.raises(TTSError, match=match):
        pipeline.check_text(text)
    assert pipeline.check_text("你好，世界。") == "你好，世界。"


def test_trim_of_a_tiny_clip_warns_nothing() -> None:
    tiny = np.full(100, 0.1, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trim(tiny, sample_rate=16000).shape == (100,)
