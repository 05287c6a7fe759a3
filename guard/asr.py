"""Speech recognition restricted to known phrases (pocketsphinx, its en-us model shipped in the wheel).

Two uses: the consent check asks whether a recording says a given statement
(:func:`match_score`), and the clone benchmark transcribes clips whose text is one of a few
known sentences (:func:`transcribe`, scored with :func:`wer`).

How the match score works: the decoder's language model is built from the statement
(weighted three times) plus about 500 common English words as single-word sentences, so
speech that says something else can come out as other words ("open speech") instead of
being forced onto the statement. The score is the fraction of the statement's words found
in order in the hypothesis (the longest common subsequence over the statement's length),
in [0, 1].
"""

from __future__ import annotations

import functools
import io
import re
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from guard.audio import check_sample_rate, resample, valid_audio
from guard.errors import AudioError, ParameterError
from guard.number_words import ONES, cardinal

ASR_RATE = 16000
MIN_DURATION_S = 0.3
STATEMENT_WEIGHT = 10  # copies of the statement in the language model, against one of each background word
# Pronunciations of the digits a consent code is read with that the en-us dictionary lacks (it keeps one
# per word): "zero" as "zee-ro" (CMUdict's second one), and "four" without its "r" (as British speakers
# and espeak-ng's en-gb voices say it) or with the vowel of "go". Without them "four" is often heard as
# "fall", "far" or "on" (eval/bench_consent_code.py).
EXTRA_PRONUNCIATIONS: dict[str, tuple[str, ...]] = {"zero": ("Z IY R OW",), "four": ("F AO", "F OW R")}
_LOCK = threading.Lock()
# Latin letters that Unicode does not decompose into a base letter and an accent, spelt as they are
# usually written in ASCII: otherwise dropped, "Søren" would be heard as "sren" and "Łukasz" as "ukasz".
LATIN_SPELLING = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                                "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "ng", "ĸ": "k", "ſ": "s"})

_ORDINAL = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth",
            "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth"}

# Common English words: the "open speech" alternative in the match-score language model.
BACKGROUND = """the of and to a in is it you that he was for on are with as his they be at one have this from or
had by hot word but what some we can out other were all there when up use your how said an each she which do their
time if will way about many then them write would like so these her long make thing see him two has look more day
could go come did number sound no most people my over know water than call first who may down side been now find
any new work part take get place made live where after back little only round man year came show every good me give
our under name very through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand port large spell add
even land here must big high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country found answer school grow
study still learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard
start might story saw far sea draw left late run while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter mile river car feet
care second carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch color
face wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog family
direct pose leave song measure door product black short numeral class wind question happen complete ship area half
rock order fire south problem piece told knew pass since top whole king space heard best hour better true during
hundred five remember step early hold west ground interest reach fast verb sing listen six table travel less morning
ten simple several vowel toward war lay against pattern slow center love person money serve appear road map rain rule
govern pull cold notice unit power town fine certain fly fall lead cry dark machine note wait plan figure star box
noun field rest correct able pound done beauty drive stood contain front teach week final gave green oh quick develop
ocean warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common gold possible
plane dry wonder laugh thousand ago ran check game shape miss brought heat snow tire bring yes distant fill east
paint language among""".split()


def _number_words(n: int) -> list[str]:
    """The words a reader says for ``n`` (0-9999), years in two halves ("twenty twenty seven"), no hyphens."""
    if 1100 <= n < 10000 and n % 100 and not 2000 <= n < 2010:  # years: "twenty twenty seven"
        return _number_words(n // 100) + (_number_words(n % 100) if n % 100 >= 10 else ["oh"] + _number_words(n % 100))
    return cardinal(n).replace("-", " ").split()


def _ascii(text: str) -> str:
    """``text`` lower-case in ASCII: accents dropped, the letters of :data:`LATIN_SPELLING` spelt out, and any
    character with no ASCII form (a letter of another script) left out."""
    folded = unicodedata.normalize("NFKD", text.lower()).translate(LATIN_SPELLING)
    return folded.encode("ascii", "ignore").decode()


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` as spoken: digits spelt out, hyphens and punctuation dropped.

    Latin letters lose their accents (``"Zoë"`` -> ``zoe``); those without a base letter in
    Unicode are spelt as :data:`LATIN_SPELLING` says (``"Søren"`` -> ``soren``). Letters of
    other scripts are left out: the en-us recogniser has no pronunciation for them
    (:func:`unspelt` names the words that lose some).

    Examples
    --------
    >>> words("Until 1 March 2027, detector-training.")
    ['until', 'one', 'march', 'twenty', 'twenty', 'seven', 'detector', 'training']
    >>> words("Zoë Ñúñez-Åström, Łukasz Straße")
    ['zoe', 'nunez', 'astrom', 'lukasz', 'strasse']
    """
    text = _ascii(text)
    out: list[str] = []
    for token in re.findall(r"[a-z0-9']+", text.replace("-", " ")):
        if token in _ORDINAL:
            out.append(_ORDINAL[token])
        elif token.isdigit() and len(token) <= 4:
            out.extend(_number_words(int(token)))
        elif token.isdigit():
            out.extend(ONES[int(c)] for c in token)
        else:
            out.append(token.strip("'"))
    return [w for w in out if w]


def _spoken_character(c: str) -> bool:
    """Whether ``c`` is a letter or a digit that a word is spelt with (not a mark or a modifier letter such as ʻ)."""
    category = unicodedata.category(c)
    return category[0] == "N" or (category[0] == "L" and category != "Lm")


def unspelt(text: str) -> list[str]:
    """The words of ``text`` (runs of letters and digits) with a letter or digit that :func:`words` leaves out.

    The recogniser hears only what :func:`words` spells (Latin letters, accented or not, and
    digits); a word listed here is, in part or whole, nothing it can hear.

    Examples
    --------
    >>> unspelt("Zoë Иван-Smith, Søren 李小龍")
    ['Иван', '李小龍']
    """
    return [w for w in re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text))
            if any(_spoken_character(c) and not _ascii(c) for c in w)]


@functools.lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    from pocketsphinx import get_model_path

    entries: dict[str, str] = {}
    with open(get_model_path("en-us/cmudict-en-us.dict"), encoding="utf-8") as fh:
        for line in fh:
            word, _, phones = line.strip().partition(" ")
            if "(" not in word:
                entries.setdefault(word, phones)
    return entries


def _pronounce(word: str) -> str:
    """Phones for a word, or for an unknown word the phones of its greedy split into known words/letters."""
    d = _dictionary()
    if word in d:
        return d[word]
    phones: list[str] = []
    i = 0
    while i < len(word):
        for j in range(len(word), i, -1):
            piece = word[i:j]
            if piece in d and (j - i > 1 or piece.isalpha()):
                phones.append(d[piece])
                i = j
                break
        else:  # a character with no entry at all (an apostrophe): skip it
            i += 1
    return " ".join(phones) or "SIL"


def _dictionary_lines(word: str) -> str:
    """The restricted dictionary's entries for ``word``: its pronunciation, then any of :data:`EXTRA_PRONUNCIATIONS`."""
    extra = EXTRA_PRONUNCIATIONS.get(word, ())
    return f"{word} {_pronounce(word)}\n" + "".join(f"{word}({i}) {p}\n" for i, p in enumerate(extra, 2))


def _arpa(sentences: Sequence[Sequence[str]]) -> str:
    from pocketsphinx.lm import ArpaBoLM

    lm = ArpaBoLM(text="\n".join(" ".join(s) for s in sentences) + "\n", add_start=True)
    lm.compute()
    buf = io.StringIO()
    lm.write(buf)
    return buf.getvalue()


def _decode(y: np.ndarray, *, sample_rate: int, sentences: Sequence[Sequence[str]]) -> list[str]:
    """Decode ``y`` with a trigram model of ``sentences``; the hypothesis as words."""
    from pocketsphinx import Decoder

    sample_rate = check_sample_rate(sample_rate)
    y = valid_audio(y, sample_rate=sample_rate)
    if y.shape[0] < MIN_DURATION_S * sample_rate:
        raise AudioError(f"too short to recognise: {y.shape[0] / sample_rate:.2f} s, need at least {MIN_DURATION_S} s")
    z = resample(y, orig_sr=sample_rate, target_sr=ASR_RATE) if sample_rate != ASR_RATE else y
    peak = float(np.max(np.abs(z)))
    if peak < 1e-4:
        raise AudioError("no speech to recognise: the audio is silent")
    pcm = (np.clip(z / max(peak, 0.1) * 0.9, -1, 1) * 32767).astype(np.int16).tobytes()
    vocab = sorted({w for s in sentences for w in s})
    with _LOCK, tempfile.TemporaryDirectory(prefix="voiceguard-asr-") as tmp:
        lm_path = Path(tmp) / "restricted.arpa"
        dict_path = Path(tmp) / "restricted.dict"
        lm_path.write_text(_arpa(sentences))
        dict_path.write_text("".join(_dictionary_lines(w) for w in vocab))
        decoder = Decoder(lm=str(lm_path), dict=str(dict_path), loglevel="FATAL")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
    return [w for w in (hyp.hypstr.split() if hyp else []) if not w.startswith("<")]


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, yb in enumerate(b):
            cur.append(prev[j] + 1 if x == yb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def match_score(y: np.ndarray, *, sample_rate: int, phrase: str) -> float:
    """How much of ``phrase`` the recording ``y`` says, in [0, 1] (1: every word, in order).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono speech, at least 0.3 s.
    sample_rate : int > 0
        Rate of ``y`` in Hz (resampled to 16 kHz inside).
    phrase : str
        The text the speaker should have said (at least one word).

    Returns
    -------
    float in [0, 1]
        Statement words recovered in order / statement words.
    """
    target = words(phrase)
    if not target:
        raise ParameterError(f"phrase has no words to match, given phrase={phrase!r}")
    sentences = [target] * STATEMENT_WEIGHT + [[w] for w in BACKGROUND]
    hyp = _decode(y, sample_rate=sample_rate, sentences=sentences)
    return _lcs(target, hyp) / len(target)


def transcribe(y: np.ndarray, *, sample_rate: int, phrases: Sequence[str]) -> str:
    """Transcribe ``y`` with a language model built only from ``phrases`` (lower-case words).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
    sample_rate : int > 0
    phrases : sequence of str
        The sentences the recording may say (at least one with words).
    """
    sentences = [w for w in (words(p) for p in phrases) if w]
    if not sentences:
        raise ParameterError("phrases must hold at least one sentence with words")
    return " ".join(_decode(y, sample_rate=sample_rate, sentences=sentences))


def wer(ref: str, hyp: str) -> float:
    """Word error rate of ``hyp`` against ``ref`` (both normalised by :func:`words`); may exceed 1."""
    r, h = words(ref), words(hyp)
    if not r:
        raise ParameterError(f"reference has no words, given ref={ref!r}")
    prev = list(range(len(h) + 1))
    for i, x in enumerate(r, 1):
        cur = [i]
        for j, yh in enumerate(h, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != yh)))
        prev = cur
    return prev[-1] / len(r)
