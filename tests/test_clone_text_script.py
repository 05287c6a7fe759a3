"""Text a voice cannot say is refused: letters of a script its language is not read in.

espeak-ng says the letter names of such text ("Chinese letter", "pe er i ve") or switches to
another language's rules; tts, clone and enroll's transcripts refuse it instead, naming the first
few letters, their script and the voice's language. Digits and punctuation are fine everywhere.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from clone_support import install_tiny_voice

from cloner import pipeline, tts
from guard import consent, ledger
from guard.cli import cli
from guard.errors import TTSError
from guard.home import Home

SR = 16000
JAPANESE = "東京は日本の首都です。今日はとても良い天気ですね。"
RUSSIAN = "Привет, как дела? Это длинное предложение на русском языке."


@pytest.mark.parametrize(("ch", "script"), [
    ("a", "Latin"), ("é", "Latin"), ("Ａ", "Latin"), ("П", "Cyrillic"), ("λ", "Greek"), ("東", "Han"), ("々", "Han"),
    ("は", "Hiragana"), ("カ", "Katakana"), ("ｦ", "Katakana"), ("ー", "Katakana"), ("한", "Hangul"),
    ("ا", "Arabic"), ("ש", "Hebrew"), ("क", "Devanagari"), ("ก", "Thai"), ("𐑣", "Shavian"), ("ກ", "Lao"),
    ("7", None), ("٣", None), (",", None), ("。", None), (" ", None), ("\u0301", None), ("µ", None), ("ʼ", None),
    ("ª", None),
])
def test_script_of_a_character(ch: str, script: str | None) -> None:
    assert tts.script_of(ch) == script


@pytest.mark.parametrize(("voice", "text"), [
    ("en-us", "Hello, 2 worlds! It costs 3.50 (or 4%) - “quoted” and naïve café."),
    ("en-us", "A 5 µm film; the Hawaiʻi coast, ＦＵＬＬ width."),
    ("en-gb+f3", "Good morning."), ("gmw/en-US", "Good morning."), ("fr-fr", "Ça coûte cher, déjà vu."),
    ("ru", "Привет, 12 друзей!"), ("uk", "Добрий день."), ("el", "Καλημέρα σας."), ("ja", "こんにちは、カタカナ。"),
    ("ko", "안녕하세요."), ("cmn", "你好，世界。"), ("zh", "我用 Python 写程序。"), ("cmn-latn-pinyin", "ni hao 你好"), ("en-shaw", "𐑣𐑧𐑤𐑴 hello"),
    ("sr", "Здраво, zdravo."), ("hi", "नमस्ते।"), ("ar", "مرحبا"),
])
def test_text_in_the_voices_scripts_is_spoken(voice: str, text: str) -> None:
    assert tts.check_script(text, voice=voice) == text
    assert pipeline.check_text(text, voice=voice) == text


@pytest.mark.parametrize(("voice", "text", "found", "shown", "language", "reads"), [
    ("en-us", RUSSIAN, "Cyrillic", "'П', 'р', 'и', 'в', 'е', ...", "en-us", "Latin"),
    ("en-us", JAPANESE, "Han and Hiragana", "'東', '京', 'は', '日', '本', ...", "en-us", "Latin"),
    ("en-gb+f3", "Το άλφα", "Greek", "'Τ', 'ο', 'ά', 'λ', 'φ', ...", "en-gb", "Latin"),
    ("en-us", "Seoul is 서울", "Hangul", "'서', '울'", "en-us", "Latin"),
    ("ja", "東京はどこ", "Han", "'東', '京'", "ja", "Hiragana or Katakana"),
    ("ru", "Привет iPhone", "Latin", "'i', 'P', 'h', 'o', 'n', ...", "ru", "Cyrillic"),
    ("de", "Guten Tag, Привет", "Cyrillic", "'П', 'р', 'и', 'в', 'е', ...", "de", "Latin"),
    ("ko", "漢字", "Han", "'漢', '字'", "ko", "Hangul"),
    ("cmn", "你好 Привет", "Cyrillic", "'П', 'р', 'и', 'в', 'е', ...", "cmn", "Latin or Han"),
])
def test_text_in_another_script_is_refused_naming_its_letters(voice: str, text: str, found: str, shown: str,
                                                              language: str, reads: str) -> None:
    expected = (f"text has {found} letters ({shown}) that a voice speaking {language} cannot say: {language} is read "
                f"in {reads} script; write the text in {reads} script (digits and punctuation are fine), or use a "
                f"voice that speaks the text's language")
    for check in (tts.check_script, pipeline.check_text):
        with pytest.raises(TTSError) as info:
            check(text, voice=voice)
        assert str(info.value) == expected


def test_without_a_voice_check_text_leaves_the_script_alone() -> None:
    assert pipeline.check_text(RUSSIAN) == RUSSIAN


def test_a_language_of_unknown_scripts_is_not_judged() -> None:
    assert tts.language_scripts("xx-yy") is None
    assert tts.foreign_letters(RUSSIAN + JAPANESE, language="xx-yy") == {}


def test_every_language_espeak_ng_lists_has_its_scripts() -> None:
    # xex is espeak-ng's own test language (no dictionary): no script to name
    languages = {lang for v in tts.list_voices() for lang in v.languages} - {"xex"}
    assert sorted(lang for lang in languages if tts.language_scripts(lang) is None) == []
    assert tts.language_scripts("en-US") == ("Latin",) and tts.language_scripts("en-shaw") == ("Latin", "Shavian")
    assert tts.language_scripts("cmn-latn-pinyin") == ("Latin", "Han") == tts.language_scripts("zh")
    assert tts.language_scripts("hak") == ("Han",)  # espeak-ng's Hakka spells Latin out


def test_espeak_ng_spells_out_what_is_refused() -> None:
    # why the refusal: the English voice would read Cyrillic as letter names, and Japanese as "Chinese letter"
    assert tts.phonemes("Привет", voice="en-us").count(" ") >= 5
    assert "tʃˈaɪniːz" in tts.phonemes("東京", voice="en-us")


def test_plain_tts_refuses_text_the_voice_cannot_say(tmp_path: Path, runner) -> None:  # noqa: ANN001
    out = tmp_path / "ru.wav"
    res = runner.invoke(cli, ["tts", RUSSIAN, "-o", str(out), "--voice", "en-us"])
    assert res.exit_code == 1 and not out.exists() and "Traceback" not in res.output
    assert res.stderr.strip().splitlines() == ["Error: text has Cyrillic letters "
                                               "('П', 'р', 'и', 'в', 'е', ...) that a voice speaking en-us cannot "
                                               "say: en-us is read in Latin script; write the text in Latin script "
                                               "(digits and punctuation are fine), or use a voice that speaks the "
                                               "text's language"]
    assert runner.invoke(cli, ["tts", RUSSIAN, "-o", str(out), "--voice", "ru"]).exit_code == 0 and out.exists()
    # the library call stays as espeak-ng is, for text that is not a user's (enroll's English pitch probe)
    assert tts.synthesize("Hello there.", voice="ru", sample_rate=SR).size > 0


def _clips_and_refusals(home: Home) -> tuple[int, int]:
    with ledger.open_ledger(home) as led:
        return len(list(led.events("clip.generated"))), len(list(led.events("clone.refused")))


@pytest.mark.parametrize(("text", "found"), [(JAPANESE, "Han and Hiragana"), (RUSSIAN, "Cyrillic")])
def test_clone_refuses_text_its_voice_cannot_say(home: Home, tmp_path: Path, runner, text: str,  # noqa: ANN001
                                                 found: str) -> None:
    record = consent.grant(home, voice_id="amy", subject="Reader One", operator="Lab", purposes=("research",),
                           expires=date.today() + timedelta(days=30), license_text="CC BY 4.0")
    install_tiny_voice(home, record.consent_id)  # speaks en-us
    out = tmp_path / "out" / "clip.wav"
    out.parent.mkdir()
    with pytest.raises(TTSError, match=rf"^text has {found} letters \(.*\) that a voice speaking en-us cannot say"):
        pipeline.clone(home, "amy", text, purpose="research", out_path=out)
    res = runner.invoke(cli, ["--home", str(home.root), "clone", "amy", text, "-o", str(out), "--purpose", "research"])
    assert res.exit_code == 1 and res.stderr.startswith(f"Error: text has {found} letters (")
    assert list(out.parent.iterdir()) == [] and _clips_and_refusals(home) == (0, 0)  # bad input, not a refusal
