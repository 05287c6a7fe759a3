"""English text is spoken as a reader says it: money, dates, years, times, fractions and signs in words.

espeak-ng reads "$3.50" as "dollar three point five zero" and drops the "<" of "x < y";
:mod:`cloner.normalize` rewrites what it misreads, for English voices only, before synthesis,
while the clip's record keeps the text as the user gave it.
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
from cloner.normalize import is_english, normalize_text
from cloner.voice import load_voice
from guard import consent, ledger
from guard.cli import cli
from guard.errors import ParameterError
from guard.number_words import cardinal, ordinal, year_words

SR = 16000

# (language, as written, as spoken): one or more rows per rule, then what must stay as written
CASES = [
    # HTML entities, decoded first
    ("en-us", "&lt;hello&gt;", "<hello>"),
    ("en-us", "Tom &amp; Jerry", "Tom & Jerry"),
    ("en-us", "&quot;hi&quot; and &#39;yo&#x27;", "\"hi\" and 'yo'"),
    ("en-us", "a&nbsp;b", "a b"),
    ("en-us", "x &lt; y", "x less than y"),
    # money
    ("en-us", "$3.50", "3 dollars and 50 cents"),
    ("en-us", "He paid $3.50.", "He paid 3 dollars and 50 cents."),
    ("en-us", "$1", "1 dollar"),
    ("en-us", "$2.00", "2 dollars"),
    ("en-us", "$0.99", "99 cents"),
    ("en-us", "$.01", "1 cent"),
    ("en-us", "$1,234.56", "1,234 dollars and 56 cents"),
    ("en-us", "$1.2 million", "1.2 million dollars"),
    ("en-us", "$1.2m", "1.2 million dollars"),
    ("en-us", "$5k", "5 thousand dollars"),
    ("en-us", "$3.505", "3.505 dollars"),
    ("en-gb", "£5.20", "5 pounds and 20 pence"),
    ("en-gb", "£0.01", "1 penny"),
    ("en-gb", "£1", "1 pound"),
    ("en-gb", "£2bn", "2 billion pounds"),
    ("en-gb", "€10.50", "10 euros and 50 cents"),
    ("en-gb", "€1", "1 euro"),
    ("en-us", "$5/month", "5 dollars per month"),
    ("en-us", "$5–$10", "5 dollars to 10 dollars"),
    # numeric dates: month first in en-us, day first in other English; dots day first; ISO year first
    ("en-us", "on 12/05/2024", "on December 5th, twenty twenty-four"),
    ("en-gb", "on 12/05/2024", "on the 12th of May, twenty twenty-four"),
    ("en", "on 12/05/2024", "on the 12th of May, twenty twenty-four"),
    ("en-029", "12-05-2024", "the 12th of May, twenty twenty-four"),
    ("en-us", "on the 12/05/2024", "on the 5th of December, twenty twenty-four"),
    ("en-us", "25/12/2024", "December 25th, twenty twenty-four"),  # no 25th month: day first
    ("en-gb", "12/25/2024", "the 25th of December, twenty twenty-four"),
    ("en-us", "12.05.2024", "May 12th, twenty twenty-four"),
    ("en-us", "2024-05-12", "May 12th, twenty twenty-four"),
    ("en-gb", "2024-05-12", "the 12th of May, twenty twenty-four"),
    ("en-us", "2/29/2024", "February 29th, twenty twenty-four"),
    ("en-us", "1/2/2005", "January 2nd, 2005"),
    # dates with a month's name
    ("en-us", "May 12, 2024", "May 12th, twenty twenty-four"),
    ("en-us", "March 3 1999", "March 3rd, nineteen ninety-nine"),
    ("en-gb", "12 May 2024", "the 12th of May, twenty twenty-four"),
    ("en-gb", "the 12th of May, 2024", "the 12th of May, twenty twenty-four"),
    ("en-us", "Dec. 5", "December 5th"),
    ("en-gb", "5 Sept 2024", "the 5th of September, twenty twenty-four"),
    ("en-us", "in May 2024", "in May twenty twenty-four"),
    # years where the text marks them
    ("en-us", "in 2024", "in twenty twenty-four"),
    ("en-us", "In 1999, we met.", "In nineteen ninety-nine, we met."),
    ("en-us", "since 1905", "since nineteen oh five"),
    ("en-us", "until 1900", "until nineteen hundred"),
    ("en-us", "from 1990 to 2010", "from nineteen ninety to twenty ten"),
    ("en-us", "in 1990-95", "in nineteen ninety to ninety-five"),
    ("en-us", "the summer of 1969", "the summer of nineteen sixty-nine"),
    ("en-us", "mid-2024", "mid-twenty twenty-four"),
    ("en-us", "1066 AD", "ten sixty-six AD"),
    ("en-us", "AD 1066", "AD ten sixty-six"),
    # decades
    ("en-us", "the 1990s", "the nineteen nineties"),
    ("en-us", "1900s", "nineteen hundreds"),
    ("en-us", "the 2000s", "the two thousands"),
    ("en-us", "the '80s", "the eighties"),
    ("en-us", "in her 30s", "in her thirties"),
    # clock times
    ("en-us", "3:05", "3 oh 5"),
    ("en-us", "at 3:05 pm", "at 3 oh 5 pm"),
    ("en-us", "12:00", "12 o'clock"),
    ("en-gb", "15:00", "15 hundred"),
    ("en-us", "10:00 a.m. today", "10 a.m. today"),
    ("en-us", "3:30pm", "3 30 pm"),
    ("en-gb", "3.30 pm", "3 30 pm"),
    ("en-gb", "09:45", "9 45"),
    # ordinals of round numbers
    ("en-us", "the 100th day", "the one hundredth day"),
    ("en-us", "1,000th", "one thousandth"),
    ("en-us", "2,000,000th", "two millionth"),
    # fractions
    ("en-us", "3/4 of it", "three quarters of it"),
    ("en-us", "1/2", "one half"),
    ("en-us", "1 1/2 cups", "1 and a half cups"),
    ("en-us", "2 3/4", "2 and three quarters"),
    ("en-us", "1 1/8", "1 and an eighth"),
    ("en-us", "7/10", "seven tenths"),
    # slashes
    ("en-us", "10/hour", "10 per hour"),
    ("en-us", "he/she", "he or she"),
    ("en-us", "and/or", "and or"),
    ("en-us", "either/or", "either or"),
    # ranges, decimals, number signs, comparisons
    ("en-us", "pages 5–10", "pages 5 to 10"),
    ("en-us", "about .5 of it", "about point 5 of it"),
    ("en-us", "#1 hit", "number 1 hit"),
    ("en-us", "x < y and y > z", "x less than y and y greater than z"),
    ("en-us", "a<b", "a less than b"),
    ("en-gb", "if (a+1) > 2", "if (a+1) greater than 2"),
    # what espeak-ng reads right, or what is ambiguous, stays as written
    ("en-us", "1,234,567 people, 3.14 and 0.5, 50% or 12.5%", None),
    ("en-us", "the 1st, 22nd and 13th", None),
    ("en-us", "2024 people came", None),
    ("en-us", "in 2005", None),
    ("en-us", "in 1,999 cases", None),
    ("en-us", "12/05/24", None),
    ("en-us", "13/13/2024", None),
    ("en-us", "2/30/2024", None),
    ("en-us", "1.000", None),
    ("en-us", "3:30:15", None),
    ("en-us", "25:00", None),
    ("en-us", "15:00 pm", None),
    ("en-us", "on 3/4", None),
    ("en-us", "24/7 and 9/11", None),
    ("en-us", "TCP/IP at 60 km/hr", None),
    ("en-us", "see example.com/path/to", None),
    ("en-us", "a score of 5-10", None),
    ("en-us", "#hashtag", None),
    ("en-us", "a -> b, a <- b, x <= y, x >= y", None),
    ("en-us", "we ran 80s", None),
    ("en-us", "$1,23", None),
    ("en-us", "AT&T and R&D", None),
    ("en-us", "&notit &#1055; &#27; &bogus;", None),
    ("en-us", "&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>"),
    # other languages: exactly as written
    ("fr", "Il a payé $3.50 le 12/05/2024 à 3:05, x < y.", None),
    ("de", "Am 12.05.2024 um 15:00 &amp; 3/4", None),
    ("es-419", "en 2024, $1.2 million", None),
]


@pytest.mark.parametrize(("language", "written", "spoken"), CASES)
def test_english_is_spoken_as_a_reader_says_it(language: str, written: str, spoken: str | None) -> None:
    expected = written if spoken is None else spoken
    assert normalize_text(written, language=language) == expected
    assert normalize_text(expected, language=language) == expected  # a second pass changes nothing


@pytest.mark.parametrize(("language", "english"), [
    ("en-us", True), ("en-GB", True), ("en_gb", True), ("gmw/en-US", True), ("en-us+f3", True), ("en", True),
    ("en-shaw", True), ("fr", False), ("eng", False), ("", False), ("de-en", False),
])
def test_only_the_primary_subtag_en_is_english(language: str, english: bool) -> None:
    assert is_english(language) is english


@pytest.mark.parametrize(("n", "words", "nth"), [
    (1, "one", "first"), (2, "two", "second"), (3, "three", "third"), (5, "five", "fifth"), (8, "eight", "eighth"),
    (9, "nine", "ninth"), (12, "twelve", "twelfth"), (13, "thirteen", "thirteenth"), (20, "twenty", "twentieth"),
    (21, "twenty-one", "twenty-first"), (100, "one hundred", "one hundredth"),
    (1205, "one thousand two hundred five", "one thousand two hundred fifth"),
    (2_000_000, "two million", "two millionth"), (10**15 - 1, cardinal(999) + " trillion " + cardinal(999_999_999_999),
                                                  None),
])
def test_number_words(n: int, words: str, nth: str | None) -> None:
    assert cardinal(n) == words
    if nth is not None:
        assert ordinal(n) == nth


@pytest.mark.parametrize(("year", "words"), [
    (2024, "twenty twenty-four"), (2010, "twenty ten"), (1999, "nineteen ninety-nine"), (1905, "nineteen oh five"),
    (1900, "nineteen hundred"), (1066, "ten sixty-six"), (1100, "eleven hundred"), (2099, "twenty ninety-nine"),
    (2000, "2000"), (2005, "2005"), (1005, "1005"), (999, "999"), (2100, "2100"), (0, "0"),
])
def test_year_words(year: int, words: str) -> None:
    assert year_words(year) == words


@pytest.mark.parametrize(("call", "message"), [
    (lambda: normalize_text(b"$3", language="en-us"), "text must be a string, given bytes"),
    (lambda: normalize_text("$3", language=None), "language must be a string, given NoneType"),
    (lambda: is_english(3), "language must be a string, given int"),
    (lambda: cardinal(-1), "n must be an integer in 0-999999999999999, given -1"),
    (lambda: cardinal(10**15), "given 1000000000000000"),
    (lambda: cardinal(True), "given True"),
    (lambda: cardinal(2.0), "given 2.0"),
    (lambda: ordinal(0), "n must be an integer in 1-"),
    (lambda: year_words(10_000), "n must be an integer in 0-9999, given 10000"),
    (lambda: tts.synthesize("hi", sample_rate=SR, normalize="yes"), "normalize must be True or False, given 'yes'"),
    (lambda: tts.phonemes("hi", normalize=None), "normalize must be True or False, given None"),
])
def test_bad_input(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ParameterError, match=message):
        call()


def _unstressed(ipa: str) -> str:
    return ipa.replace("ˈ", "").replace("ˌ", "")


def test_tts_speaks_money_in_words_not_symbol_by_symbol() -> None:
    spoken = tts.phonemes("$3.50", voice="en-us")
    literal = _unstressed(tts.phonemes("dollar three point five", voice="en-us", normalize=False))
    assert literal in _unstressed(tts.phonemes("$3.50", voice="en-us", normalize=False))  # espeak-ng's own reading
    assert literal not in _unstressed(spoken) and "dˈɑːlɚ " not in spoken and "pɔɪnt" not in spoken
    assert spoken == tts.phonemes("three dollars and fifty cents", voice="en-us")
    # synthesis speaks the same phonemes as the written-out text, word timings included
    _, timings = tts.synthesize_with_timings("$3.50", voice="en-us", sample_rate=SR)
    _, written_out = tts.synthesize_with_timings("3 dollars and 50 cents", voice="en-us", sample_rate=SR)
    assert [(t.kind, t.label) for t in timings if t.kind == "phoneme"] == \
           [(t.kind, t.label) for t in written_out if t.kind == "phoneme"]
    assert [t.label for t in timings if t.kind == "word"] == ["3", "dollars", "and", "50", "cents"]


def test_a_voice_of_another_language_speaks_the_text_as_written() -> None:
    text = "Il a payé $3.50 le 12/05/2024."
    assert tts.phonemes(text, voice="fr") == tts.phonemes(text, voice="fr", normalize=False)


def test_the_tts_command_speaks_the_normalised_text(tmp_path: Path, runner) -> None:  # noqa: ANN001
    written, spelled = tmp_path / "written.wav", tmp_path / "spelled.wav"
    assert runner.invoke(cli, ["tts", "It costs $3.50 on 12/05/2024.", "-o", str(written)]).exit_code == 0
    assert runner.invoke(cli, ["tts", "It costs 3 dollars and 50 cents on December 5th, twenty twenty-four.",
                               "-o", str(spelled)]).exit_code == 0
    assert written.read_bytes() == spelled.read_bytes()


@pytest.fixture
def amy(home):  # noqa: ANN001, ANN201
    """``home`` with a tiny untrained en-us voice amy, enrolled under a research licence."""
    record = consent.grant(home, voice_id="amy", subject="Reader One", operator="Lab", purposes=["research"],
                           expires=date.today() + timedelta(days=30), license_text="CC BY 4.0")
    install_tiny_voice(home, record.consent_id)
    return home


def test_a_clone_speaks_the_normalised_text(amy) -> None:  # noqa: ANN001
    model = load_voice(amy, "amy")
    s = model.tts
    spelled = tts.synthesize("3 dollars and 50 cents", voice=s.language, rate_wpm=s.rate_wpm, pitch=s.pitch,
                             pitch_range=s.pitch_range, sample_rate=model.sample_rate, normalize=False)
    np.testing.assert_array_equal(pipeline.render_tts(model, "$3.50"), spelled)


def test_the_clips_record_keeps_the_text_as_given(amy, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    text = "It cost $3.50 on 12/05/2024, & that is x < y."
    heard: list[str] = []

    def speak(model, said: str):  # noqa: ANN001, ANN202 - a seeded voiced signal instead of the tiny voice's output
        heard.append(said)
        return voiced_glide(8.0, seed=1)

    monkeypatch.setattr(pipeline, "speak", speak)
    pipeline.clone(amy, "amy", text, purpose="research", out_path=tmp_path / "clip.wav")
    with ledger.open_ledger(amy) as led:
        (event,) = [e.body for e in led.events("clip.generated")]
    assert heard == [text]
    assert event["text_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
