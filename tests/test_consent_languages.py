"""A voice is enrolled and cloned only in a language its speaker consented to, and the audit checks it.

Consents here are licences (no statement to record); the voices are tiny untrained models, so
every case is decided before any speech is made. A consent's tag covers the language it equals or
prefixes at a ``-`` (consent ``en`` covers ``en-us`` and ``en-gb``; ``en-us`` only ``en-us``).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from clone_support import install_tiny_voice
from conftest import voiced_glide

from cloner import authorize, enroll, pipeline, voice
from cloner.convert import ConversionNet, ConvertConfig, F0Map, Normaliser
from guard import consent, ledger
from guard.audio import save
from guard.cli import cli
from guard.consent.record import language_covered
from guard.errors import CloneError, ConsentError, ParameterError
from guard.home import Home
from guard.ledger.audit import audit_home

SOON = date.today() + timedelta(days=30)
TEXT = "A sentence long enough to carry a watermark, if it were ever spoken."
SENTENCES = ("The orange boat drifted slowly toward the quiet harbor at dawn.",
             "Judge the value of each choice before you make a final decision.")


def _grant(home: Home, languages: tuple[str, ...] = ("en",)) -> consent.Consent:
    return consent.grant(home, voice_id="amy", subject="Reader One", operator="Lab", purposes=("research",),
                         expires=SOON, languages=languages, license_text="CC BY 4.0")


def _refusals(home: Home) -> list[dict]:
    with ledger.open_ledger(home) as led:
        return [e.body for e in led.events("clone.refused")]


def _enrollments(home: Home) -> list[dict]:
    with ledger.open_ledger(home) as led:
        return [e.body for e in led.events("voice.enrolled")]


def _set_language(home: Home, language: str) -> None:
    """Edit the voice's voice.json to speak ``language`` (its weights, and so their hash, stay as they are)."""
    path = voice.voice_folder(home, "amy") / voice.META_FILE
    meta = json.loads(path.read_text())
    meta["tts"]["language"] = language
    path.write_text(json.dumps(meta))


def _install_logging_language(home: Home, consent_id: str, language: str) -> None:
    """The tiny voice (en-us), its voice.enrolled event naming ``language`` as enroll logs it."""
    folder = install_tiny_voice(home, consent_id, recordings=("a",), log=False)
    ledger.log_enrollment(home, voice_id="amy", consent_id=consent_id, files={"a.wav": "ab" * 32},
                          model_sha256=voice.read_meta(folder)["weights_sha256"], model_version=str(voice.FORMAT_VERSION),
                          model_path=folder / voice.WEIGHTS_FILE, language=language)


def _authorize(home: Home) -> str:
    meta = voice.read_meta(voice.voice_folder(home, "amy"))
    return authorize.authorize(home, "amy", "research", model_consent_id=meta["consent_id"],
                               weights_sha256=meta["weights_sha256"], language=meta["tts"]["language"]).consent_id


def _clone_refused(home: Home, tmp_path: Path, match: str) -> str:
    out = tmp_path / "out" / "clip.wav"
    out.parent.mkdir(exist_ok=True)
    before = len(_refusals(home))
    with pytest.raises(ConsentError, match=match) as info:
        pipeline.clone(home, "amy", TEXT, purpose="research", out_path=out)
    assert list(out.parent.iterdir()) == []
    refusals = _refusals(home)
    assert len(refusals) == before + 1 and refusals[-1]["reason"] in str(info.value)
    return str(info.value)


# -- the rule ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "languages", "covered"), [
    ("en-us", ["en"], True), ("EN-GB", ["en"], True), ("en_GB", ["en"], True), ("en", ["en"], True),
    ("en-us", ["EN-US"], True), ("fr-fr", ["de", "fr"], True), ("en-gb-x-rp", ["en-gb"], True),
    ("en", ["en-gb"], False), ("en-gb", ["en-us"], False), ("eng", ["en"], False), ("en-usa", ["en-us"], False),
    ("de", ["en"], False), ("en-us", ["de", "fr"], False), ("eo", ["en"], False), ("cmn", ["zh"], False),
])
def test_a_consent_tag_covers_itself_and_the_tags_it_prefixes(language: str, languages: list[str],
                                                                 covered: bool) -> None:
    assert language_covered(language, languages) is covered


# -- enroll ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("languages", "voice_spec", "tag"), [
    (("en",), "en-us", "en-us"), (("en",), "en-gb+f3", "en-gb"), (("en",), "gmw/en-US", "en-us"),
    (("en",), "EN-GB", "en-gb"), (("de", "fr"), "fr-fr", "fr-fr"),
])
def test_enroll_accepts_a_language_the_consent_names(home: Home, languages, voice_spec: str, tag: str) -> None:  # noqa: ANN001
    assert enroll.check_language(_grant(home, languages), voice_spec) == tag


@pytest.mark.parametrize(("languages", "voice_spec", "message"), [
    (("en",), "de", r"^language de is outside consent consent-\w+, whose speaker consented to be cloned in en only; "
                    r"enroll with a voice of that language \(--language en\), or have the speaker grant a consent "
                    r"that names de \(`voiceguard consent grant \.\.\. --language de`\)$"),
    (("de", "fr"), "en-us+f3", r"^language en-us is outside consent .* in de, fr only; .*--language de\).*names "
                               r"en-us "),
])
def test_enroll_refuses_a_language_the_consent_does_not_name(home: Home, tmp_path: Path, languages,  # noqa: ANN001
                                                              voice_spec: str, message: str) -> None:
    record = _grant(home, languages)
    with pytest.raises(ConsentError, match=message):
        enroll.enroll(home, "amy", recordings_dir=tmp_path / "nowhere", consent_id=record.consent_id,
                      language=voice_spec, progress=False)
    assert _enrollments(home) == [] and not (home.voices_dir / "amy").exists()


def test_enroll_cli_refuses_a_language_outside_the_consent_in_one_line(home: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    record = _grant(home)
    res = runner.invoke(cli, ["--home", str(home.root), "enroll", "amy", "--recordings", str(tmp_path),
                              "--consent", record.consent_id, "--language", "de", "--fast"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines() == [f"Error: language de is outside consent {record.consent_id}, whose "
                                               f"speaker consented to be cloned in en only; enroll with a voice of "
                                               f"that language (--language en), or have the speaker grant a consent "
                                               f"that names de (`voiceguard consent grant ... --language de`)"]


def _recordings(folder: Path, texts: list[str]) -> Path:
    """``len(texts)`` 8 s voiced glides broken by short pauses (6.3 s of speech each; seeded), with ``texts`` as
    their transcripts."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    t = np.arange(8 * 16000) / 16000
    syllables = ((t % 0.65) < 0.5).astype(np.float32)
    for i, text in enumerate(texts, start=1):
        y = voiced_glide(8.0, seed=i) * syllables + 0.0005 * rng.standard_normal(t.size)
        save(folder / f"{i:02d}.wav", y.astype(np.float32), sample_rate=16000)
        (folder / f"{i:02d}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def _tiny_model(recordings, *, voice_id: str, consent_id: str, language: str, **_) -> voice.VoiceModel:  # noqa: ANN001
    """What train_voice would hand back, untrained: enroll's consent, language and logging are what is tested."""
    import torch

    from guard.digest import sha256_file

    torch.manual_seed(0)
    return voice.VoiceModel(
        voice_id=voice_id, consent_id=consent_id, sample_rate=16000, tts=voice.TTSSettings(language, 160, 40, 50),
        config=ConvertConfig(hidden=8, kernel=3, steps=1), in_norm=Normaliser(np.zeros(4), np.ones(4)),
        out_norm=Normaliser(np.zeros(3), np.ones(3)), f0_map=F0Map(4.8, 0.2, 5.2, 0.25), target_gv=np.full(3, 0.1),
        pause_s=0.4, net=ConversionNet(4, 3, hidden=8, kernel=3).eval(), postfilter=None,
        created_at="2026-01-01T00:00:00+00:00",
        training={"speech_s": 65.0, "train_s": 0.0, "files": {r.audio_path.name: sha256_file(r.audio_path)
                                                              for r in recordings}})


@pytest.mark.parametrize(("languages", "voice_spec", "texts", "tag"), [
    (("en",), "en-gb+f3", SENTENCES, "en-gb"),
    (("ru",), "ru", ("Старая лодка медленно плыла к тихой гавани.", "Оцените каждый выбор перед решением."), "ru"),
])
def test_the_enrollment_event_logs_the_voices_language(home: Home, tmp_path: Path, monkeypatch, languages,  # noqa: ANN001
                                                       voice_spec: str, texts: tuple[str, str], tag: str) -> None:
    monkeypatch.setattr(enroll, "train_voice", _tiny_model)
    folder = _recordings(tmp_path / "takes", [texts[i % 2] for i in range(13)])
    record = _grant(home, languages)
    enroll.enroll(home, "amy", recordings_dir=folder, consent_id=record.consent_id, language=voice_spec,
                  progress=False, warn=lambda m: None)
    assert [e["language"] for e in _enrollments(home)] == [tag]
    assert _authorize(home) == record.consent_id
    assert "consent-scope" not in audit_home(home).kinds()


def test_enroll_names_a_transcript_in_a_script_the_language_is_not_read_in(home: Home, tmp_path: Path,
                                                                          monkeypatch) -> None:  # noqa: ANN001
    def never(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise AssertionError("training started")

    monkeypatch.setattr(enroll, "train_voice", never)
    texts = [SENTENCES[i % 2] for i in range(13)]
    texts[2], texts[6] = "Привет, как дела сегодня вечером?", "東京は日本の首都です。"
    folder = _recordings(tmp_path / "takes", texts)
    with pytest.raises(CloneError, match=r"takes: transcript 03\.txt \(and 1 more: 07\.txt\): text has Cyrillic "
                                         r"letters \('П', 'р', 'и', 'в', 'е', \.\.\.\) that a voice speaking en-us "
                                         r"cannot say: en-us is read in Latin script"):
        enroll.enroll(home, "amy", recordings_dir=folder, consent_id=_grant(home).consent_id, progress=False)
    assert _enrollments(home) == []


# -- the ledger event ------------------------------------------------------------------------------------

def test_log_enrollment_keeps_the_language_lowercased_and_only_when_given(home: Home) -> None:
    args = {"voice_id": "amy", "consent_id": "c1", "files": {"a.wav": "ab" * 32}, "model_sha256": "cd" * 32,
            "model_version": "1"}
    assert ledger.log_enrollment(home, **args, language=" EN-US ").body["language"] == "en-us"
    assert "language" not in ledger.log_enrollment(home, **{**args, "voice_id": "bea"}).body


@pytest.mark.parametrize("language", ["", "  ", "en us", 3, ["en"]])
def test_log_enrollment_refuses_a_language_that_is_not_a_tag(home: Home, language: object) -> None:
    with pytest.raises(ParameterError, match="language must be a language tag such as 'en-us'"):
        ledger.log_enrollment(home, voice_id="amy", consent_id="c1", files={"a.wav": "ab" * 32},
                              model_sha256="cd" * 32, model_version="1", language=language)
    assert _enrollments(home) == []


# -- clone and voices list --------------------------------------------------------------------------------

def test_clone_refuses_a_voice_edited_into_a_language_outside_its_consent(home: Home, tmp_path: Path,
                                                                         runner) -> None:  # noqa: ANN001
    record = _grant(home)
    install_tiny_voice(home, record.consent_id)  # an enrollment logged before events named the language
    assert _authorize(home) == record.consent_id
    _set_language(home, "de")
    message = _clone_refused(home, tmp_path, r"^clone refused: voice 'amy' speaks de, a language consent "
                                             r"consent-\w+ does not cover \(its speaker consented to be cloned in "
                                             r"en\); a voice is cloned only in a language its speaker consented to")
    assert record.consent_id in message
    res = runner.invoke(cli, ["--home", str(home.root), "voices", "list", "--json"])
    listed = json.loads(res.stdout)
    assert listed["state"] == "consent-refused" and listed["consent_status"] == "valid"
    assert listed["problems"][0] == message.removeprefix("clone refused: ")
    assert "CONSENT-REFUSED: voice 'amy' speaks de" in runner.invoke(cli, ["--home", str(home.root), "voices",
                                                                           "list"]).stderr


def test_clone_refuses_a_voice_folder_speaking_another_language_than_its_enrollment(home: Home,
                                                                                   tmp_path: Path) -> None:
    record = _grant(home)
    _install_logging_language(home, record.consent_id, "en-us")
    assert _authorize(home) == record.consent_id
    _set_language(home, "en-gb")  # the consent covers it, but the enrollment logged en-us
    _clone_refused(home, tmp_path, r"^clone refused: the voice folder of 'amy' speaks en-gb, but its enrollment "
                                   r"record \(event \d+\) logged en-us; run `voiceguard audit`")


def test_a_voice_within_its_consents_languages_is_listed_ok(home: Home, runner) -> None:  # noqa: ANN001
    record = _grant(home, ("de", "en"))
    _install_logging_language(home, record.consent_id, "en-us")
    listed = json.loads(runner.invoke(cli, ["--home", str(home.root), "voices", "list", "--json"]).stdout)
    assert listed["state"] == "ok" and listed["problems"] == []


# -- the audit ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "failed"), [("de", True), ("en-gb", False), ("EN-US", False), (None, False)])
def test_the_audit_fails_an_enrollment_in_a_language_outside_its_consent(home: Home, language: str | None,
                                                                         failed: bool) -> None:
    record = _grant(home)
    ledger.log_enrollment(home, voice_id="amy", consent_id=record.consent_id, files={"a.wav": "ab" * 32},
                          model_sha256="cd" * 32, model_version="1", language=language)
    scope = [f for f in audit_home(home).failures if f.kind == "consent-scope"]
    if not failed:
        assert scope == []
        return
    assert len(scope) == 1 and "voice.enrolled amy" in scope[0].id
    assert scope[0].detail == (f"language 'de' is outside consent {record.consent_id}, whose speaker consented to "
                               f"en")
