"""Compatibility letters and other scripts' digits are spoken as the letters and digits they are.

espeak-ng reads fullwidth (ｗ), mathematical (𝐰), circled (Ⓐ) and other compatibility letters as
"letter" and their code point, and drops Arabic-Indic or Devanagari digits. tts and clone fold
text with NFKC and read every decimal digit as its ASCII digit, check the script of the folded
letters, and refuse letters that espeak-ng would still read as code points; punctuation-only text
is refused by tts as clone refuses it.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from clone_support import install_tiny_voice
from conftest import voiced_glide

from cloner import pipeline, tts
from guard import consent, ledger
from guard.cli import cli
from guard.errors import ParameterError, TTSError
from guard.home import Home

SR = 16000
LETTER = "lˌɛɾɚ"  # how the English voice begins a code point it cannot say: "letter FF57"


@pytest.mark.parametrize(("written", "plain"), [
    ("Hello ｗｏｒｌｄ", "Hello world"), ("Hello 𝐰𝐨𝐫𝐥𝐝", "Hello world"), ("Ⓐ and ⓑ", "A and b"),
    ("Ǆ", "DŽ"), ("ﬁne ℓ", "fine l"), ("Ｈｅｌｌｏ！", "Hello!"), ("① ⑫", "1 12"),
    ("Room ٣٤", "Room 34"), ("पृष्ठ ३", "पृष्ठ 3"), ("３ pm", "3 pm"), ("𝟕", "7"), ("cafe\u0301", "café"),
    # said as words as written: NFKC would make µ a Greek mu, ½ "1⁄2", ™ "TM", ¨ a combining mark
    ("5 µm", "5 µm"), ("½ cup", "½ cup"), ("Brand™", "Brand™"), ("a ¨ b", "a ¨ b"), ("ㅇ", "ㅇ"),
    ("plain text, 12.5%", "plain text, 12.5%"),
])
def test_readable_text_folds_compatibility_forms_and_digits(written: str, plain: str) -> None:
    assert tts.readable_text(written) == plain


def test_readable_text_wants_a_string() -> None:
    with pytest.raises(ParameterError, match="text must be a string, given bytes"):
        tts.readable_text(b"abc")


@pytest.mark.parametrize(("written", "plain", "voice"), [
    ("Hello ｗｏｒｌｄ", "Hello world", "en-us"), ("Hello 𝐰𝐨𝐫𝐥𝐝", "Hello world", "en-us"),
    ("Circled Ⓐ", "Circled A", "en-us"), ("Ǆ", "DŽ", "en-us"), ("Room ٣٤", "Room 34", "en-us"),
    ("Комната ٣٤", "Комната 34", "ru"), ("Страница ３", "Страница 3", "ru"),
])
def test_folded_text_is_spoken_as_the_plain_text(written: str, plain: str, voice: str) -> None:
    assert LETTER not in tts.phonemes(written, voice=voice)
    assert tts.phonemes(written, voice=voice) == tts.phonemes(plain, voice=voice)
    assert tts.check_script(written, voice=voice) == written  # returned as given
    assert pipeline.check_text(written, voice=voice) == written


def test_without_folding_espeak_ng_reads_code_points() -> None:
    # why the folding: espeak-ng's own reading of these forms
    lib = tts._ENGINE.lib()
    for text in ("ｗ", "𝐰", "Ⓐ", "Ǆ"):
        assert LETTER in tts._phonemes_here(lib, f"a {text} b", voice="en-us", ipa=True)


def test_other_scripts_digits_are_spoken_not_dropped() -> None:
    room = tts.synthesize("Room", voice="en-us", sample_rate=SR)
    for digits in ("٣٤", "३४", "３４"):
        spoken = tts.synthesize(f"Room {digits}", voice="en-us", sample_rate=SR)
        assert spoken.shape[0] > room.shape[0] + SR // 2  # "thirty four" takes well over half a second
        assert tts.phonemes(f"Room {digits}", voice="en-us") == tts.phonemes("Room 34", voice="en-us")


@pytest.mark.parametrize(("voice", "text", "found", "shown", "reads"), [
    ("ru", "Утром 𝐀𝐁𝐂", "Latin", "'𝐀', '𝐁', '𝐂'", "Cyrillic"),
    ("ru", "Привет ｗｏｒｌｄ", "Latin", "'ｗ', 'ｏ', 'ｒ', 'ｌ', 'ｄ'", "Cyrillic"),
    ("ru", "Ответ Ⓐ", "Latin", "'Ⓐ'", "Cyrillic"),
    ("en-us", "Hello 𝛂𝛃", "Greek", "'𝛂', '𝛃'", "Latin"),
    ("en-us", "Numbers ㈠", "Han", "'㈠'", "Latin"),
])
def test_folded_letters_of_another_script_are_refused_as_written(voice: str, text: str, found: str, shown: str,
                                                                 reads: str) -> None:
    expected = (f"text has {found} letters ({shown}) that a voice speaking {voice} cannot say: {voice} is read in "
                f"{reads} script; write the text in {reads} script (digits and punctuation are fine), or use a voice "
                f"that speaks the text's language")
    for check in (tts.check_script, pipeline.check_text):
        with pytest.raises(TTSError) as info:
            check(text, voice=voice)
        assert str(info.value) == expected


@pytest.mark.parametrize(("voice", "text", "shown"), [
    ("en-us", "a ˆ b", "'ˆ'"), ("en-us", "Ⅎ and ⅎ", "'Ⅎ', 'ⅎ'"), ("en-us", "x ʹ y ʿ z", "'ʹ', 'ʿ'"),
    ("ru", "да ˆ нет", "'ˆ'"), ("ru", "Ⅎ и ⅎ", "'Ⅎ', 'ⅎ'"),
])
def test_letters_read_as_code_points_are_refused(voice: str, text: str, shown: str) -> None:
    assert LETTER in tts.phonemes(text.replace("и", "and"), voice="en-us")  # what espeak-ng would say
    for check in (tts.check_script, pipeline.check_text):
        with pytest.raises(TTSError) as info:
            check(text, voice=voice)
        assert str(info.value) == (f"text has characters ({shown}) that espeak-ng reads out as 'letter' and their "
                                   f"code point; remove them or write plain letters")


@pytest.mark.parametrize("text", ["A 5 µm film", "the Hawaiʻi coast", "ˈstress", "ℹ desk", "a ½ cup, Brand™"])
def test_letters_of_no_script_that_espeak_ng_says_are_spoken(text: str) -> None:
    assert tts.check_script(text, voice="en-us") == text
    assert LETTER not in tts.phonemes(text, voice="en-us")


@pytest.mark.parametrize("text", ["...", "?!", " - ", "«»"])
def test_text_with_nothing_to_speak_is_refused_by_tts_as_by_clone(tmp_path: Path, runner, text: str) -> None:  # noqa: ANN001
    message = f"text has nothing to speak (no letters or digits), given {text!r}; give words"
    for call in (lambda: tts.synthesize(text, sample_rate=SR), lambda: tts.phonemes(text),
                 lambda: pipeline.check_text(text, voice="en-us")):
        with pytest.raises(TTSError) as info:
            call()
        assert str(info.value) == message
    out = tmp_path / "dots.wav"
    res = runner.invoke(cli, ["tts", text, "-o", str(out)])
    assert res.exit_code == 1 and not out.exists()
    assert res.stderr.strip().splitlines() == [f"Error: {message}"]


@pytest.mark.parametrize("text", ["Ⓐ", "٣", "①"])
def test_a_folded_letter_or_digit_is_something_to_speak(text: str) -> None:
    assert tts.synthesize(text, voice="en-us", sample_rate=SR).size > 0
    assert pipeline.split_sentences(f"Hello there. {text}.") == ["Hello there.", f"{text}."]


def test_plain_tts_speaks_fullwidth_as_letters(tmp_path: Path, runner) -> None:  # noqa: ANN001
    plain, wide = tmp_path / "plain.wav", tmp_path / "wide.wav"
    assert runner.invoke(cli, ["tts", "Hello world", "-o", str(plain), "--json"]).exit_code == 0
    res = runner.invoke(cli, ["tts", "Hello ｗｏｒｌｄ", "-o", str(wide), "--json"])
    assert res.exit_code == 0 and "Traceback" not in res.output
    assert plain.read_bytes() == wide.read_bytes()  # not "letter F F 5 7 ..." (about 6 s)
    res = runner.invoke(cli, ["tts", "Привет ｗｏｒｌｄ", "-o", str(tmp_path / "ru.wav"), "--voice", "ru"])
    assert res.exit_code == 1 and res.stderr.startswith("Error: text has Latin letters ('ｗ', 'ｏ', ")


def test_clone_speaks_fullwidth_text_and_records_it_as_given(home: Home, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from cloner.voice import load_voice

    record = consent.grant(home, voice_id="amy", subject="Reader One", operator="Lab", purposes=("research",),
                           expires=date.today() + timedelta(days=30), license_text="CC BY 4.0")
    install_tiny_voice(home, record.consent_id)  # speaks en-us; untrained, so its TTS front end is what is compared
    text = "It was a dark and stormy night, and the ｒａｉｎ fell in torrents."
    model = load_voice(home, "amy")
    np.testing.assert_array_equal(pipeline.render_tts(model, text),
                                  pipeline.render_tts(model, text.replace("ｒａｉｎ", "rain")))
    monkeypatch.setattr(pipeline, "speak", lambda model, text: voiced_glide(8.0, seed=len(text)))
    pipeline.clone(home, "amy", text, purpose="research", out_path=tmp_path / "clip.wav")
    with ledger.open_ledger(home) as led:
        (event,) = led.events("clip.generated")
    assert event.body["text_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()  # the text as given
    with pytest.raises(TTSError, match=r"^text has characters \('ˆ'\) that espeak-ng reads out as 'letter'"):
        pipeline.clone(home, "amy", "It was a dark ˆ night.", purpose="research", out_path=tmp_path / "c2.wav")
