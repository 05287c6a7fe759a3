"""cloner.tts: espeak-ng through ctypes: audio, rate, timings, phonemes, voices, threads, errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cloner import tts
from guard.errors import ParameterError, TTSError

SR = 16000
TEXT = "Please remember to water the plants every morning before work."


def test_speech_has_energy_and_voice_band() -> None:
    y = tts.synthesize(TEXT, voice="en-us", sample_rate=SR)
    assert y.dtype == np.float32 and y.ndim == 1
    assert 2.0 < y.shape[0] / SR < 6.0
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(y.shape[0], 1 / SR)
    in_voice_band = spec[(freqs > 80) & (freqs < 4000)].sum() / spec.sum()
    assert in_voice_band > 0.8


def test_rate_changes_duration() -> None:
    slow = tts.synthesize(TEXT, rate_wpm=120, sample_rate=SR)
    fast = tts.synthesize(TEXT, rate_wpm=240, sample_rate=SR)
    assert 1.5 < slow.shape[0] / fast.shape[0] < 2.5


def test_pitch_changes_f0() -> None:
    import librosa

    def median_f0(pitch: int) -> float:
        y = tts.synthesize(TEXT, pitch=pitch, sample_rate=SR)
        f0, voiced, _ = librosa.pyin(y, fmin=50, fmax=500, sr=SR, frame_length=1024)
        return float(np.nanmedian(f0[voiced]))

    assert median_f0(80) > 1.2 * median_f0(20)


def test_word_and_phoneme_timings_are_ordered() -> None:
    y, timings = tts.synthesize_with_timings("One two three four.", sample_rate=SR)
    words = [t for t in timings if t.kind == "word"]
    assert [w.label for w in words] == ["One", "two", "three", "four"]
    starts = [t.start_s for t in timings]
    assert starts == sorted(starts)
    assert words[-1].start_s < y.shape[0] / SR
    assert any(t.kind == "phoneme" for t in timings)


def test_phonemes_ipa() -> None:
    assert tts.phonemes("hello world") == "həlˈoʊ wˈɜːld"


def test_voice_list_has_languages() -> None:
    voices = tts.list_voices()
    langs = {lang for v in voices for lang in v.languages}
    assert {"en-us", "fr-fr", "es"} <= langs
    y = tts.synthesize("Bonjour tout le monde.", voice="fr", sample_rate=SR)
    assert y.shape[0] > SR // 2


def test_same_text_same_audio_whatever_was_spoken_before() -> None:
    # espeak-ng keeps a pitch-flutter index and generator phases between utterances that
    # no API call resets; each call runs in a fresh child, so history must not matter.
    first = tts.synthesize(TEXT, pitch=40, sample_rate=SR)
    tts.synthesize("Something else entirely, said at another pitch.", pitch=80, rate_wpm=300, sample_rate=SR)
    assert tts.phonemes("And a phoneme string in between.")
    again = tts.synthesize(TEXT, pitch=40, sample_rate=SR)
    np.testing.assert_array_equal(first, again)


def test_a_breathy_voice_sounds_the_same_in_every_process() -> None:
    """espeak-ng's noise generator (the +f2 variant breathes) is seeded alike in every process."""
    import subprocess
    import sys
    import time

    code = ("import hashlib; from cloner.tts import synthesize; "
            "y = synthesize('The quick brown fox jumps over the lazy dog.', voice='en-us+f2', pitch=60, sample_rate=16000); "
            "print(hashlib.sha256(y.tobytes()).hexdigest())")
    runs = set()
    for i in range(3):
        if i:
            time.sleep(1.1)  # espeak-ng's own seed is the clock's second: make each run start in another
        runs.add(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert len(runs) == 1 and len(runs.pop().strip()) == 64


def test_threads_give_same_audio_as_sequential() -> None:
    texts = [f"Sentence number {i} is spoken now." for i in range(10)]
    sequential = [tts.synthesize(t, pitch=30 + 3 * i, sample_rate=SR) for i, t in enumerate(texts)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        threaded = list(pool.map(lambda it: tts.synthesize(it[1], pitch=30 + 3 * it[0], sample_rate=SR), enumerate(texts)))
    for a, b in zip(sequential, threaded):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"text": ""}, TTSError, "text is empty"),
        ({"text": "   \n"}, TTSError, "text is empty"),
        ({"text": "a" * (tts.MAX_TEXT_CHARS + 1)}, TTSError, "over the maximum"),
        ({"text": 42}, ParameterError, "text must be a string"),
        ({"text": "hi", "voice": "no-such-voice"}, TTSError, "no voice 'no-such-voice'"),
        ({"text": "hi", "voice": "en-us+nonexist"}, TTSError, "no voice variant 'nonexist'.*--list-variants"),
        ({"text": "hi", "voice": "en-us+0"}, TTSError, "no voice variant '0'"),
        ({"text": "hi", "voice": "en-us+"}, TTSError, "no voice variant ''"),
        ({"text": "hi", "voice": "en-us+f3+x"}, TTSError, "no voice variant 'f3\\+x'"),
        ({"text": "hi", "voice": "+f3"}, TTSError, "no voice '\\+f3'"),
        ({"text": "hi", "voice": "en-us\udcff"}, TTSError, "no voice"),
        ({"text": "hi", "voice": "en-" + "x" * 60}, TTSError, "no voice"),
        ({"text": "hi", "voice": None}, ParameterError, "voice must be a string"),
        ({"text": "Hello world.\x00 This part would be dropped."}, TTSError, "control character U\\+0000 at character 13"),
        ({"text": "hi", "rate_wpm": 10}, ParameterError, "rate_wpm must be an integer in 80-450"),
        ({"text": "hi", "pitch": 120}, ParameterError, "pitch must be an integer in 0-99"),
        ({"text": "hi", "sample_rate": 0}, ParameterError, "sample_rate"),
    ],
)
def test_bad_input(kwargs: dict, error: type, message: str) -> None:
    kwargs.setdefault("sample_rate", SR)
    with pytest.raises(error, match=message):
        tts.synthesize(**kwargs)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Plain words, with punctuation: 3 < 4 and 5 > 2; a <3 too.", None),
        ("if a <b and c> d, that is no tag", None),
        ("Write to <ada@example.org> today.", None),
        ("Tab\tnewline\ncarriage return\r are layout.", None),
        ("\u05e9\u05dc\u05d5\u05dd \u00e9t\u00e9 \u4f60\u597d", None),
        ("Hello world.\x00 This part would be dropped.", "control character U\\+0000 at character 13"),
        ("Red \x1b[31m alert", "control character U\\+001B at character 5"),
        ("bell\x07", "control character U\\+0007 at character 5"),
        ("delete\x7f", "control character U\\+007F"),
        ("next line\x85here", "control character U\\+0085"),
        ("Hello \udcff world", "not valid UTF-8: the byte 0xFF at character 7"),
        ("Hello \ud800 world", "not valid UTF-8: a lone surrogate U\\+D800"),
        ("<speak>Hello <break time='3s'/> world</speak>", "markup '<speak>' at character 1.*give plain text"),
        ("Hello <break time='3s'/> world", "markup \"<break time='3s'/>\" at character 7"),
        ("slow <prosody rate=\"x-slow\">words", "markup '<prosody"),
        ("end of it</p>", "markup '</p>'"),
        ("a<br>b", "markup '<br>'"),
        ("<?xml version='1.0'?> words", "markup '<\\?x'"),
        ("words <!-- hidden --> words", "markup '<!--'"),
    ],
)
def test_check_speakable(text: str, message: str | None) -> None:
    if message is None:
        assert tts.check_speakable(text) == text
        return
    with pytest.raises(TTSError, match=message):
        tts.check_speakable(text)


@pytest.mark.parametrize("call", [
    lambda t: tts.synthesize(t, sample_rate=SR),
    lambda t: tts.phonemes(t),
])
@pytest.mark.parametrize("text", ["Hello world.\x00 The rest.", "<speak>Hello</speak>", "bad \udcff byte"])
def test_synthesis_refuses_what_espeak_would_drop_or_read_aloud(call, text: str) -> None:  # noqa: ANN001
    with pytest.raises(TTSError, match="control character|markup|not valid UTF-8"):
        call(text)


def test_check_speakable_wants_a_string() -> None:
    with pytest.raises(ParameterError, match="text must be a string"):
        tts.check_speakable(b"bytes")


def test_every_listed_language_and_identifier_is_a_voice() -> None:
    voices = tts.list_voices()
    names = sorted({lang for v in voices for lang in v.languages} | {v.identifier for v in voices})
    assert {"en-gb", "fr-fr", "zh", "pt-pt", "no"} <= set(names)
    for name in names:
        assert tts.synthesize("one two", voice=name, sample_rate=SR).size > 0, name


def test_a_language_speaks_with_the_voice_that_lists_it_first() -> None:
    # en-gb is a language of the file gmw/en (priority 2), which espeak-ng does not find by that name
    gb = tts.synthesize("Hello there friend.", voice="en-gb", sample_rate=SR)
    np.testing.assert_array_equal(gb, tts.synthesize("Hello there friend.", voice="gmw/en", sample_rate=SR))
    np.testing.assert_array_equal(gb, tts.synthesize("Hello there friend.", voice="en-GB", sample_rate=SR))
    assert tts.phonemes("hello", voice="en-gb") == tts.phonemes("hello", voice="gmw/en")
    f3 = tts.synthesize("Hello there friend.", voice="en-gb+f3", sample_rate=SR)
    assert f3.shape != gb.shape or not np.array_equal(f3, gb)


def test_variants_by_name_and_by_number() -> None:
    variants = tts.list_variants()
    assert {"f3", "m3", "whisper"} <= set(variants) and variants == sorted(variants)
    # espeak-ng's numbers: +13 is f3, +3 is m3
    np.testing.assert_array_equal(tts.synthesize("Good day.", voice="en-us+13", sample_rate=SR),
                                  tts.synthesize("Good day.", voice="en-us+f3", sample_rate=SR))
    np.testing.assert_array_equal(tts.synthesize("Good day.", voice="en-us+3", sample_rate=SR),
                                  tts.synthesize("Good day.", voice="en-us+m3", sample_rate=SR))


def test_a_worker_that_dies_without_a_result_is_one_clear_error() -> None:
    import os

    with pytest.raises(TTSError, match="ended without a result"):
        tts._in_fresh_child(lambda: os._exit(3))


def test_a_worker_result_and_its_exceptions_come_back() -> None:
    assert tts._in_fresh_child(lambda: np.arange(3)).tolist() == [0, 1, 2]
    with pytest.raises(ParameterError, match="from the child"):
        tts._in_fresh_child(lambda: (_ for _ in ()).throw(ParameterError("from the child")))


def test_off_linux_calls_run_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(tts, "_FORK_PER_CALL", False)
    # (no synthesis here: speaking in this process would change what every later fork starts from)
    assert tts._in_fresh_child(os.getpid) == os.getpid()
    with pytest.raises(ParameterError, match="in-process too"):
        tts._in_fresh_child(lambda: (_ for _ in ()).throw(ParameterError("in-process too")))


def test_on_linux_each_call_runs_in_another_process() -> None:
    import os
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the fork per call is used on Linux only")
    assert tts._in_fresh_child(os.getpid) != os.getpid()
