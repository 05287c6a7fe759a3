"""The spoken-statement checks, offline: restricted ASR (pocketsphinx), speaker embeddings (resemblyzer).

Statements are espeak-ng speech made in code (synthetic); the different-speaker checks use
real speech from the librispeech sample or the Debian asterisk prompts and skip without them.
"""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from clone_support import issue_code

from guard import asr, consent, speaker
from guard.audio import save
from guard.errors import AudioError, ConsentError, ParameterError
from guard.home import Home

SR = 16000
ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
LIBRISPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample"
EXPIRES = date(date.today().year + 2, 1, 1)  # fixed words from day to day (see tests/clone_support.py)
WHO = {"subject": "Ada Lovelace", "operator": "Example Studio", "purposes": ["audiobook", "research"]}
# The statement's one-time code: fixed, so the words read repeat; one the en-us+f3 voice is heard saying in full
# (in "four seven", its "seven" is heard as "can and").
CODE = "305817"
UNRELATED = ("The quick brown fox jumps over the lazy dog near the river bank. It was a sunny afternoon "
             "and the birds were singing in the trees.")


def say(text: str, voice: str = "en-us") -> np.ndarray:
    from cloner.tts import synthesize

    return synthesize(text, voice=voice, sample_rate=SR)


@pytest.fixture(scope="module")
def statement_text() -> str:
    from guard.consent.template import statement_text

    return statement_text(**WHO, expires=EXPIRES, code=CODE)


@pytest.fixture
def coded(home: Home) -> None:
    """The statement's one-time code issued in ``home`` for WHO until EXPIRES (as `consent template` would)."""
    issue_code(home, **WHO, expires=EXPIRES, code=CODE)


def test_match_score_separates_the_template_from_other_speech(statement_text: str) -> None:
    own = asr.match_score(say(statement_text, "en-us+f3"), sample_rate=SR, phrase=statement_text)
    unrelated = asr.match_score(say(UNRELATED), sample_rate=SR, phrase=statement_text)
    assert own >= consent.STATEMENT_THRESHOLD
    assert unrelated < 0.2
    assert 0.0 <= unrelated <= own <= 1.0


@pytest.mark.usefixtures("coded")
def test_grant_with_statement_keeps_hash_embedding_and_score(home: Home, tmp_path: Path,
                                                             statement_text: str) -> None:
    wav = save(tmp_path / "statement.wav", say(statement_text, "en-us+f3"), sample_rate=SR)
    c = consent.grant(home, voice_id="ada", expires=EXPIRES, statement_wav=wav, **WHO)
    ev = c.evidence
    assert ev["kind"] == "statement" and ev["match_score"] >= consent.STATEMENT_THRESHOLD
    kept = Path(ev["file"])
    assert kept.is_file() and stat.S_IMODE(kept.stat().st_mode) == 0o600 and kept.read_bytes() == wav.read_bytes()
    import hashlib

    assert ev["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert len(ev["speaker_embedding"]) == 256
    assert abs(np.linalg.norm(ev["speaker_embedding"]) - 1) < 1e-3
    from guard.ledger.audit import audit_home

    assert audit_home(home).ok
    kept.write_bytes(kept.read_bytes()[:-100])  # the kept statement is edited afterwards
    assert "file-hash-mismatch" in audit_home(home).kinds()


@pytest.mark.usefixtures("coded")
def test_statement_saying_something_else_is_refused_with_its_score(home: Home, tmp_path: Path) -> None:
    wav = save(tmp_path / "statement.wav", say(UNRELATED), sample_rate=SR)
    with pytest.raises(ConsentError, match=r"does not say the consent template \(match score 0\.\d\d <"):
        consent.grant(home, voice_id="ada", expires=EXPIRES, statement_wav=wav, **WHO)
    assert consent.list_consents(home) == [] and not list((home.root / "consents").glob("*"))


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda p: p.write_bytes(b""), AudioError, "statement.wav"),
    (lambda p: p.write_bytes(b"not audio at all" * 50), AudioError, "statement.wav"),
    (lambda p: save(p, np.zeros(SR * 2, dtype=np.float32), sample_rate=SR), AudioError, "silent"),
    (lambda p: save(p, np.full(SR // 10, 0.1, dtype=np.float32), sample_rate=SR), AudioError, "too short"),
])
@pytest.mark.usefixtures("coded")
def test_bad_statement_files_are_clear_errors(home: Home, tmp_path: Path, make, error, match: str) -> None:  # noqa: ANN001
    path = tmp_path / "statement.wav"
    make(path)
    with pytest.raises(error, match=match):
        consent.grant(home, voice_id="ada", expires=EXPIRES, statement_wav=path, **WHO)
    assert consent.list_consents(home) == []


@pytest.mark.usefixtures("coded")
def test_speaker_matches_the_same_voice(home: Home, tmp_path: Path, statement_text: str) -> None:
    VOICE = "en-us+f3"  # noqa: N806
    # en-us+f3: the statement check hears its whole statement (en-us+m3's date is mostly misheard).
    wav = save(tmp_path / "statement.wav", say(statement_text, VOICE), sample_rate=SR)
    c = consent.grant(home, voice_id="ada", expires=EXPIRES, statement_wav=wav, **WHO)
    recs = [save(tmp_path / f"r{i}.wav", say(t, VOICE), sample_rate=SR) for i, t in
            enumerate(["Please read the following sentence slowly and clearly.",
                       "The library opens at nine in the morning and closes late on Thursdays."])]
    score, ok = consent.speaker_matches(c, recs)
    assert ok and score >= consent.SPEAKER_THRESHOLD
    with pytest.raises(ConsentError, match="no recordings"):
        consent.speaker_matches(c, [])
    with pytest.raises(ParameterError, match="threshold"):
        consent.speaker_matches(c, recs, threshold=2.0)
    real = sorted(LIBRISPEECH.glob("*.flac"))[:2] or sorted(ASTERISK.glob("*.wav"))[:3]
    if not real:
        pytest.skip("no real speech on this machine for the different-speaker half")
    score, ok = consent.speaker_matches(c, real)
    assert not ok and score < consent.SPEAKER_THRESHOLD


@pytest.mark.skipif(not LIBRISPEECH.is_dir(), reason="librispeech sample not present")
def test_real_speakers_same_vs_different() -> None:
    from guard.audio import load

    a, b = (load(p, sample_rate=SR) for p in sorted(LIBRISPEECH.glob("*.flac"))[:2])
    a1, a2 = a[: a.shape[0] // 2], a[a.shape[0] // 2:]
    e = [speaker.embed_speaker(y, sample_rate=SR) for y in (a1, a2, b)]
    assert speaker.similarity(e[0], e[1]) > speaker.similarity(e[0], e[2])


def test_embedding_shape_norm_determinism_and_rate_handling() -> None:
    y = say("Numbers like forty two and seventeen are easy to say.")
    e1 = speaker.embed_speaker(y, sample_rate=SR)
    e2 = speaker.embed_speaker(y, sample_rate=SR)
    assert e1.shape == (256,) and e1.dtype == np.float32 and abs(np.linalg.norm(e1) - 1) < 1e-5
    np.testing.assert_array_equal(e1, e2)
    from guard.audio import resample

    e3 = speaker.embed_speaker(resample(y, orig_sr=SR, target_sr=22050), sample_rate=22050)
    assert speaker.similarity(e1, e3) > 0.95


@pytest.mark.parametrize(("y", "sr", "error", "match"), [
    (np.zeros(SR, dtype=np.float32), SR, AudioError, "silent"),
    (np.full(SR // 4, 0.2, dtype=np.float32), SR, AudioError, "too little speech"),
    (np.array([np.nan] * SR, dtype=np.float32), SR, AudioError, "NaN"),
    (np.zeros((2, SR), dtype=np.float32), SR, AudioError, "mono"),
    (np.zeros(SR, dtype=np.float32), 0, ParameterError, "sample_rate"),
])
def test_embed_speaker_rejects_bad_audio(y: np.ndarray, sr: int, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        speaker.embed_speaker(y, sample_rate=sr)


@pytest.mark.parametrize(("a", "b", "match"), [
    (np.ones(3), np.ones(4), "one shape"),
    (np.zeros(3), np.ones(3), "non-zero"),
    (np.ones((2, 2)), np.ones((2, 2)), "1-D"),
])
def test_similarity_rejects_bad_embeddings(a: np.ndarray, b: np.ndarray, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        speaker.similarity(a, b)


def test_transcribe_is_restricted_to_the_phrases() -> None:
    phrases = ["the library opens at nine in the morning", "a gentle breeze carried the smell of rain"]
    vocab = set(asr.words(" ".join(phrases)))
    # pocketsphinx hears espeak poorly: judge the restriction on three renderings (three
    # pitches), not on one.
    hyps = []
    for pitch in (35, 50, 65):
        from cloner.tts import synthesize

        hyp = asr.transcribe(synthesize(phrases[1], pitch=pitch, sample_rate=SR), sample_rate=SR, phrases=phrases)
        assert hyp and set(hyp.split()) <= vocab
        hyps.append(hyp)
    said = np.mean([asr.wer(phrases[1], h) for h in hyps])
    other = np.mean([asr.wer(phrases[0], h) for h in hyps])
    assert said < other, hyps


@pytest.mark.parametrize(("ref", "hyp", "expected"), [
    ("a b c", "a b c", 0.0), ("a b c", "a x c", 1 / 3), ("a b c", "", 1.0), ("a b", "a b c d", 1.0),
    ("Until 2027, detector-training!", "until twenty twenty seven detector training", 0.0),
])
def test_wer(ref: str, hyp: str, expected: float) -> None:
    assert asr.wer(ref, hyp) == pytest.approx(expected)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: asr.wer("", "a"), ParameterError, "reference has no words"),
    (lambda: asr.match_score(np.zeros(SR, np.float32), sample_rate=SR, phrase="..."), ParameterError, "no words"),
    (lambda: asr.match_score(np.zeros(SR, np.float32), sample_rate=SR, phrase="hello"), AudioError, "silent"),
    (lambda: asr.match_score(np.full(100, 0.1, np.float32), sample_rate=SR, phrase="hello"), AudioError, "too short"),
    (lambda: asr.transcribe(np.zeros(SR, np.float32), sample_rate=SR, phrases=["", "!!"]), ParameterError, "phrases"),
    (lambda: asr.transcribe(np.zeros(SR, np.float32), sample_rate=-1, phrases=["a"]), ParameterError, "sample_rate"),
])
def test_asr_bad_input(call, error: type, match: str) -> None:  # noqa: ANN001
    with pytest.raises(error, match=match):
        call()


def test_the_restricted_dictionary_gives_digits_their_other_pronunciations() -> None:
    assert asr._dictionary_lines("four") == "four F AO R\nfour(2) F AO\nfour(3) F OW R\n"
    assert asr._dictionary_lines("zero") == "zero Z IH R OW\nzero(2) Z IY R OW\n"
    assert asr._dictionary_lines("seven") == "seven S EH V AH N\n"


def test_words_normalisation() -> None:
    assert asr.words("I, Zoë O'Neil, agree: 3rd of May 1999 & 2005") == [
        "i", "zoe", "o'neil", "agree", "third", "of", "may", "nineteen", "ninety", "nine", "two", "thousand", "five"]
