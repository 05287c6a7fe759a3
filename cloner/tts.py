"""Text to speech with espeak-ng, driven through ctypes from the espeakng-loader wheel.

espeak-ng keeps global state (voice, rate, pitch, callback), so every call holds one
module lock from parameter setting to the end of synthesis; threads get the same audio as
sequential calls. Audio arrives through a synth callback in synchronous mode, together with
word and phoneme events that give timings.

espeak-ng also carries state from one utterance to the next that no API call resets (its
pitch flutter and generator phases: the same text comes out a few samples longer or
shorter depending on what was spoken before). So that a text always gives the same audio,
whatever the process said earlier, each call runs in a child forked from the process after
initialisation, which itself never speaks. That is done on Linux only: elsewhere (Windows has
no fork; on macOS a fork without exec is unsafe once system frameworks run threads) calls
run in-process and the audio depends on call history as espeak-ng's own does.

Every voice speaks text in the forms espeak-ng reads (:func:`readable_text`: NFKC, so that fullwidth and
mathematical letters are not read as code points, and decimal digits of any script as ASCII).
A voice whose language is English speaks text as a reader would: :func:`synthesize` and
:func:`phonemes` first rewrite money, dates, years, clock times, fractions and signs that
espeak-ng reads symbol by symbol (:mod:`cloner.normalize`; ``normalize=False`` turns it off).
This is the one place ``voiceguard tts`` and :func:`cloner.pipeline.clone` both go through.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import re
import sys
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import espeakng_loader
import numpy as np

from cloner.normalize import normalize_text
from guard.audio import check_sample_rate, resample
from guard.errors import ParameterError, TTSError
from guard.plaintext import CONTROL, undecodable

MAX_TEXT_CHARS = 5000
DEFAULT_RATE_WPM = 175
DEFAULT_PITCH = 50
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
_RAND_SEED = 0
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_PHONEMES_IPA = 0x02
_VOICE_NAME_BYTES = 40  # UTF-8 bytes; espeak-ng copies a voice name, variant included, into 60
_VARIANTS_DIR = ("voices", "!v")
# an XML/SSML/HTML tag: <name>, <name attr='v' ...>, <name/>, </name>, <!-- -->, <?xml ...?>;
# attributes must look like name=value, so "if a <b and c> d" is not read as markup
_MARKUP = re.compile(
    r"""</[A-Za-z][\w:.-]*\s*>"""
    r"""|<[A-Za-z][\w:.-]*(?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=]+))*\s*/?>"""
    r"""|<!--|<\?[A-Za-z]""")
# The scripts espeak-ng reads in each language, by primary language subtag. A letter of any other
# script is not read in the voice's language: espeak-ng says its letter names in that language
# ("pe er i ve" for Cyrillic, "Chinese letter" for each kanji in English or Japanese) or switches
# to another language's rules (Korean, Hindi, Greek words in an English voice), so such text is
# refused. Measured on this wheel's voices, word by word; where espeak-ng's voice reads less than
# the language is written in, the table follows the voice: ja reads kana only (a kanji is "Chinese
# letter"), uz reads Cyrillic only (Latin is spelled out), hak spells Latin. Mandarin and Cantonese
# are written in Latin too (Pinyin, Jyutping), which their voices read ("latin as English", as Pinyin,
# as Jyutping); Latin words in other languages' text (ru, el, ...) are refused.
_SCRIPT_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("Latin", "af an az bs ca cmn cs cy da de en eo es et eu fi fo fr ga gd gn haw hbs hr ht hu ia id io is it jbo "
              "kaa kl ku la lb lfn lt ltg lv mi ms mt mto nb nci nl no om pap piqd pl pt py qdb qu quc qya ro sjn sk "
              "sl smj sq sr sv sw tk tn tr vi yue zh"),
    ("Cyrillic", "ba be bg bs cv hbs kaa kk ky lfn mk nog ru sr tt uk uz"),
    ("Greek", "el grc"), ("Armenian", "hy hyw"), ("Georgian", "ka"), ("Hebrew", "he"), ("Arabic", "ar fa sd ug ur"),
    ("Devanagari", "hi kok mr ne"), ("Bengali", "as bn bpy"), ("Gurmukhi", "pa"), ("Gujarati", "gu"),
    ("Oriya", "or"), ("Tamil", "ta"), ("Telugu", "te"), ("Kannada", "kn"), ("Malayalam", "ml"), ("Sinhala", "si"),
    ("Thai", "th"), ("Myanmar", "my shn"), ("Ethiopic", "am ti"), ("Han", "cmn hak yue zh"), ("Hiragana", "ja"),
    ("Katakana", "ja"), ("Hangul", "ko"), ("Cherokee", "chr"),
)
SCRIPTS_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    language: tuple(script for script, listed in _SCRIPT_LANGUAGES if language in listed.split())
    for _, languages in _SCRIPT_LANGUAGES for language in languages.split()}
# BCP 47 script subtags in espeak-ng's language tags (cmn-latn-pinyin, fa-latn, en-shaw): a script the voice reads too
_SCRIPT_SUBTAGS = {"latn": "Latin", "cyrl": "Cyrillic", "shaw": "Shavian"}
# Letters named after no script (µ, ª, ℓ, modifier letters such as the apostrophe ʼ): read alike everywhere
_NO_SCRIPT = frozenset({"ALEF", "ANGSTROM", "BET", "BLACK-LETTER", "CARON", "DALET", "DOUBLE-STRUCK", "EULER",
                        "FEMININE", "GIMEL", "INFORMATION", "KELVIN", "MASCULINE", "MASU", "MATHEMATICAL", "MICRO",
                        "MODIFIER", "OHM", "PLANCK", "ROMAN", "SCRIPT", "SUPERSCRIPT", "TURNED", "VERTICAL"})
# Compatibility forms (fullwidth ｗ, mathematical 𝐰, circled Ⓐ, Ǆ, ℓ, ①) are read by espeak-ng as "letter FF57": their
# NFKC forms are plain letters and digits, which it says. Kept as written are the characters it says as words that NFKC
# would spell differently (µ "micro" would become Greek mu, ½ "a half" 1⁄2, ™ "trade mark" T M), spacing accents (NFKC
# makes ¨ a combining mark, read as a code point) and Hangul compatibility jamo (NFKC gives conjoining jamo, read so too).
_READ_AS_WRITTEN = frozenset("µ™℠№₨ℹ¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞⅟↉")
_HANGUL_COMPATIBILITY_JAMO = range(0x3131, 0x318F)
# Letters of no script that espeak-ng says (µ "micro", ʼ, ː "length", ℹ "information") or passes over (tone letters);
# every other letter of no script left after NFKC is read as its code point ("letter 2C6" for ˆ, measured on en-us).
_SAID_WITHOUT_SCRIPT = frozenset("µʼʻˀˁˈˌːℹ\ua788\U00010780" + "".join(map(chr, range(0xA717, 0xA720))))
_SCRIPT_ALIASES = {"CJK": "Han", "IDEOGRAPHIC": "Han", "KATAKANA-HIRAGANA": "Katakana"}
_TWO_WORD_SCRIPTS = frozenset({"IMPERIAL", "INSCRIPTIONAL", "LINEAR", "NEW", "OLD", "TAI"})
_SHOWN_LETTERS = 5


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Timing:
    """One word or phoneme of the synthesized audio."""

    kind: str  # "word" or "phoneme"
    label: str  # the word's text, or the phoneme mnemonic
    start_s: float
    text_position: int  # 1-based character offset in the input (words)


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice."""

    name: str
    identifier: str
    languages: tuple[str, ...]
    gender: str


class _Engine:
    """The process-wide espeak-ng library; all use goes through ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._lib = None
        self.native_rate = 0
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str]] = []
        self._callback = _CALLBACK(self._on_synth)

    def _on_synth(self, wav, numsamples, events) -> int:  # noqa: ANN001 - ctypes callback
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type in (_EVENT_WORD, _EVENT_PHONEME):
                label = ev.id.string.decode("utf-8", "replace") if ev.type == _EVENT_PHONEME else ""
                self._events.append((ev.type, ev.sample, ev.text_position, label if ev.type == _EVENT_PHONEME else str(ev.length)))
            i += 1
        return 0

    def lib(self):  # noqa: ANN201
        if self._lib is None:
            lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                         ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
            lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
            lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
            data_parent = os.path.dirname(espeakng_loader.get_data_path())
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent.encode(), _INITIALIZE_PHONEME_EVENTS)
            if rate <= 0:
                raise TTSError(f"espeak-ng failed to initialise with data at {data_parent}")
            lib.espeak_SetSynthCallback(self._callback)
            # espeak-ng seeds its noise generator (breathy variants such as +f2) from the
            # clock at initialisation; a fixed seed makes every process speak alike (a build
            # without that call is left as it is)
            if hasattr(lib, "espeak_ng_SetRandSeed"):
                lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
                lib.espeak_ng_SetRandSeed(_RAND_SEED)
            self._lib, self.native_rate = lib, rate
        return self._lib

    def synth(self, text: str, *, voice: str, rate_wpm: int, pitch: int, pitch_range: int):  # noqa: ANN201
        lib = self.lib()
        _set_voice(lib, voice)
        lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        lib.espeak_SetParameter(_PARAM_RANGE, pitch_range, 0)
        lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data)
        err = lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise TTSError(f"espeak-ng synthesis failed with code {err}")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return pcm, list(self._events)


_ENGINE = _Engine()
_FORK_PER_CALL = sys.platform.startswith("linux") and hasattr(os, "fork")


def _in_fresh_child(work: Callable[[], object]) -> object:
    """Run ``work`` in a child forked from this process and return its result.

    The child starts from the engine state this process holds (initialised, never spoken),
    so espeak-ng's carried-over state never leaks into the next call. Exceptions raised by
    ``work`` are re-raised here. Off Linux, ``work`` runs in-process.
    """
    if not _FORK_PER_CALL:
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: do the work, send the pickled outcome, leave without cleanup
        status = 0
        try:
            os.close(read_end)
            try:
                outcome = (True, work())
            except Exception as exc:  # noqa: BLE001 - sent to the parent, which re-raises it
                outcome = (False, exc)
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    parts = []
    with os.fdopen(read_end, "rb") as pipe:
        while chunk := pipe.read(1 << 20):
            parts.append(chunk)
    os.waitpid(pid, 0)
    if not parts:
        raise TTSError("espeak-ng's worker process ended without a result")
    ok, value = pickle.loads(b"".join(parts))
    if not ok:
        raise value
    return value


def check_speakable(text: str) -> str:
    """``text`` if espeak-ng would speak all of it as it reads; else a :class:`TTSError` saying why.

    espeak-ng takes a C string in UTF-8 and, with the flags used here, reads markup aloud, so
    three things are refused: a lone surrogate (what Python makes of bytes that are not
    UTF-8), a control character (a NUL would silently end the text; ESC starts a terminal
    escape that is read as words), and a markup tag (SSML is not interpreted: ``<break/>``
    would be spoken as "break"). Tab, newline and carriage return are allowed. Emptiness and
    length are not checked here (see :func:`synthesize_with_timings`).

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``text``, unchanged.

    Raises
    ------
    ParameterError
        ``text`` is not a string.
    TTSError
        A lone surrogate, a control character or a markup tag, named with its position
        (1-based, in characters).

    Examples
    --------
    >>> check_speakable("Hello, world.")
    'Hello, world.'
    >>> check_speakable("Hello\\x00 world")
    Traceback (most recent call last):
    ...
    guard.errors.TTSError: text has a control character U+0000 at character 6; remove it (give plain text)
    """
    if not isinstance(text, str):
        raise ParameterError(f"text must be a string, given {type(text).__name__}")
    if bad := undecodable(text):
        article = "the" if bad[0].startswith("byte") else "a"
        raise TTSError(f"text is not valid UTF-8: {article} {bad[0]} at character {bad[1]}; give the text in UTF-8")
    if m := CONTROL.search(text):
        raise TTSError(f"text has a control character U+{ord(m.group()):04X} at character {m.start() + 1}; "
                       "remove it (give plain text)")
    if m := _MARKUP.search(text):
        raise TTSError(f"text has markup {m.group()[:40]!r} at character {m.start() + 1}: markup (SSML, HTML) "
                       "is not supported and would be read aloud; give plain text")
    return text


def script_of(ch: str) -> str | None:
    """The script of the letter ``ch`` (``"Latin"``, ``"Cyrillic"``, ``"Han"``...), from its Unicode name.

    Returns
    -------
    str or None
        None for a character that is not a letter (digits, punctuation, spaces, combining marks)
        and for letters of no script (µ, ª, ℓ, modifier letters); ``"Other"`` for a letter with no
        Unicode name here.
    """
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "").removeprefix("FULLWIDTH ").removeprefix("HALFWIDTH ")
    if not name:
        return "Other"
    words = name.split(" ")
    if words[0] in _NO_SCRIPT:
        return None
    if words[0] in _SCRIPT_ALIASES:
        return _SCRIPT_ALIASES[words[0]]
    return " ".join(words[:2] if words[0] in _TWO_WORD_SCRIPTS else words[:1]).title()


def language_scripts(language: str) -> tuple[str, ...] | None:
    """The scripts espeak-ng reads in ``language`` (a tag such as ``en-us``); None for a language it does not know.

    The primary subtag picks the scripts (:data:`SCRIPTS_BY_LANGUAGE`); a script subtag adds its
    own (``cmn-latn-pinyin`` reads Latin too, ``en-shaw`` Shavian).

    Examples
    --------
    >>> language_scripts("en-US")
    ('Latin',)
    >>> language_scripts("ja")
    ('Hiragana', 'Katakana')
    """
    subtags = str(language).strip().lower().replace("_", "-").split("-")
    scripts = SCRIPTS_BY_LANGUAGE.get(subtags[0])
    if scripts is None:
        return None
    extra = [_SCRIPT_SUBTAGS[s] for s in subtags[1:] if s in _SCRIPT_SUBTAGS and _SCRIPT_SUBTAGS[s] not in scripts]
    return (*scripts, *extra)


def readable_text(text: str) -> str:
    """``text`` in the forms espeak-ng reads: compatibility forms folded by NFKC, decimal digits of any script as ASCII.

    espeak-ng reads fullwidth (``ｗｏｒｌｄ``), mathematical (``𝐰𝐨𝐫𝐥𝐝``), circled (``Ⓐ``) and other
    compatibility letters as "letter" and their code point, and drops digits of other scripts
    (``٣٤``); their NFKC forms and ASCII digits it says. Characters it says as words that NFKC
    would spell otherwise are kept as written (µ, ½, ™, spacing accents, Hangul compatibility jamo).
    :func:`synthesize` and :func:`phonemes` speak this form of their text, in every language, and
    :func:`check_script` judges it.

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> readable_text("Ｈｅｌｌｏ 𝐰𝐨𝐫𝐥𝐝 ٣٤, 5 µm, ½")
    'Hello world 34, 5 µm, ½'
    """
    if not isinstance(text, str):
        raise ParameterError(f"text must be a string, given {type(text).__name__}")
    pieces: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if _kept_as_written(ch):
            pieces += [unicodedata.normalize("NFKC", text[start:i]), ch]
            start = i + 1
    pieces.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(map(_ascii_digit, "".join(pieces)))


def _kept_as_written(ch: str) -> bool:
    return ch in _READ_AS_WRITTEN or ord(ch) in _HANGUL_COMPATIBILITY_JAMO or unicodedata.category(ch) == "Sk"


def _ascii_digit(ch: str) -> str:
    return str(unicodedata.decimal(ch)) if not ch.isascii() and unicodedata.category(ch) == "Nd" else ch


def foreign_letters(text: str, *, language: str) -> dict[str, list[str]]:
    """The letters of ``text`` in scripts ``language`` is not read in, by script, each letter once, in order.

    A letter is judged by what espeak-ng reads for it (:func:`readable_text`: ``ｗ`` is Latin,
    ``Ⓐ`` too) and listed as written. Empty when every letter is in one of
    :func:`language_scripts`, and for a language whose scripts are not known. Digits,
    punctuation and letters of no script never count (see :func:`unsayable_letters`).
    """
    allowed = language_scripts(language)
    if allowed is None:
        return {}
    found: dict[str, list[str]] = {}
    for ch in dict.fromkeys(text):
        for script in dict.fromkeys(map(script_of, readable_text(ch))):
            if script is not None and script not in allowed:
                found.setdefault(script, []).append(ch)
    return found


def unsayable_letters(text: str) -> list[str]:
    """The characters of ``text``, each once, in order, that espeak-ng reads as a code point in any language.

    These are letters of no script (:func:`script_of` gives None) that are left after
    :func:`readable_text` and that espeak-ng neither says nor passes over: ``ˆ`` is read
    "letter 2C6", ``Ⅎ`` "letter 2132". µ, ʼ, ː and ℹ are said, and are not listed.
    """
    return [ch for ch in dict.fromkeys(text)
            if any(unicodedata.category(x).startswith("L") and script_of(x) is None and x not in _SAID_WITHOUT_SCRIPT
                   for x in readable_text(ch))]


def check_script(text: str, *, voice: str) -> str:
    """``text`` if espeak-ng's ``voice`` reads every letter of it in the voice's language; else a TTSError.

    Letters are judged in the form :func:`synthesize` speaks (:func:`readable_text`: fullwidth,
    mathematical and circled letters as the plain letters they fold to). A letter of another
    script is not spoken as written (:data:`SCRIPTS_BY_LANGUAGE`): the error names the first few
    such letters, their script and the voice's language. A letter espeak-ng would read as its
    code point (:func:`unsayable_letters`) is refused too.

    Parameters
    ----------
    text : str
    voice : str
        An espeak-ng voice as :func:`synthesize` takes it (``en-us``, ``en-gb+f3``, ``gmw/en-US``).

    Returns
    -------
    str
        ``text``, unchanged.

    Raises
    ------
    TTSError
        Letters of a script the voice's language is not read in, or letters read as code points.

    Examples
    --------
    >>> check_script("Hello, 2 worlds!", voice="en-us")
    'Hello, 2 worlds!'
    >>> check_script("Hello ｗｏｒｌｄ", voice="en-us")
    'Hello ｗｏｒｌｄ'
    >>> check_script("Привет", voice="en-us")
    Traceback (most recent call last):
    ...
    guard.errors.TTSError: text has Cyrillic letters ('П', 'р', 'и', 'в', 'е', ...) that a voice speaking en-us cannot say: en-us is read in Latin script; write the text in Latin script (digits and punctuation are fine), or use a voice that speaks the text's language
    """
    language = voice_language(voice)
    found = foreign_letters(text, language=language)
    if found:
        foreign = {ch for chars in found.values() for ch in chars}
        allowed = " or ".join(language_scripts(language) or ())
        raise TTSError(f"text has {' and '.join(found)} letters ({_shown(text, foreign)}) that a voice speaking "
                       f"{language} cannot say: {language} is read in {allowed} script; write the text in {allowed} "
                       f"script (digits and punctuation are fine), or use a voice that speaks the text's language")
    if unsayable := unsayable_letters(text):
        raise TTSError(f"text has characters ({_shown(text, set(unsayable))}) that espeak-ng reads out as 'letter' "
                       f"and their code point; remove them or write plain letters")
    return text


def _shown(text: str, letters: set[str]) -> str:
    """The first few of ``letters`` in the order ``text`` has them, quoted, with '...' when there are more."""
    ordered = [ch for ch in dict.fromkeys(text) if ch in letters]
    return ", ".join(repr(ch) for ch in ordered[:_SHOWN_LETTERS]) + (", ..." if len(ordered) > _SHOWN_LETTERS else "")


def voice_language(voice: str) -> str:
    """The language tag espeak-ng lists for ``voice`` (``en-us`` for ``en-us+f3``, ``gmw/en-US`` or ``English (America)``).

    A language espeak-ng lists is itself, lowercased; a voice's identifier or name gives the
    first language that voice lists. Anything else (no such voice) gives its part before
    ``+``, lowercased.
    """
    if not isinstance(voice, str):
        raise ParameterError(f"voice must be a string, given {type(voice).__name__}")
    base = voice.partition("+")[0].strip().lower()
    voices = _known_voices()
    if any(base in v.languages for v in voices):
        return base
    named = next((v for v in voices if base in (v.identifier.lower(), v.name.lower()) and v.languages), None)
    return named.languages[0] if named is not None else base


@lru_cache(maxsize=1)
def _known_voices() -> tuple[Voice, ...]:
    """:func:`list_voices`, read once: the wheel's voices do not change while the process runs."""
    return tuple(list_voices())


def check_has_words(text: str) -> str:
    """``text`` if it has a letter or digit to speak (in its :func:`readable_text` form: ``Ⓐ`` counts); else a TTSError.

    Text of punctuation and symbols alone ("...") would come out as a moment of silence.

    Examples
    --------
    >>> check_has_words("...")
    Traceback (most recent call last):
    ...
    guard.errors.TTSError: text has nothing to speak (no letters or digits), given '...'; give words
    """
    if not any(ch.isalnum() for ch in readable_text(text)):
        raise TTSError(f"text has nothing to speak (no letters or digits), given {text[:40]!r}; give words")
    return text


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise ParameterError(f"text must be a string, given {type(text).__name__}")
    if not text.strip():
        raise TTSError("text is empty; give at least one word to speak")
    if len(text) > MAX_TEXT_CHARS:
        raise TTSError(f"text is {len(text)} characters, over the maximum of {MAX_TEXT_CHARS}; split it")
    return check_speakable(check_has_words(text))


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= int(value) <= hi:
        raise ParameterError(f"{name} must be an integer in {lo}-{hi}, given {name}={value!r}")
    return int(value)


def synthesize_with_timings(
    text: str,
    *,
    voice: str = "en-us",
    rate_wpm: int = DEFAULT_RATE_WPM,
    pitch: int = DEFAULT_PITCH,
    pitch_range: int = 50,
    sample_rate: int,
    normalize: bool = True,
) -> tuple[np.ndarray, list[Timing]]:
    """Speak ``text``; return the audio and its word/phoneme timings.

    Parameters
    ----------
    text : str
        1 to :data:`MAX_TEXT_CHARS` characters, a letter or digit among them. Spoken in its
        :func:`readable_text` form (``ｗ`` as ``w``, ``٣`` as ``3``), in every language. Letters of a script the voice's language is not
        read in are spoken as espeak-ng speaks them (letter names, or another language's rules):
        check text from users with :func:`check_script` first, as ``voiceguard tts`` and
        :func:`cloner.pipeline.clone` do (internal text, such as a pitch probe in English, is not
        checked).
    voice : str
        An espeak-ng voice identifier, name or language from :func:`list_voices` (``en-us``,
        ``en-gb``, ``fr``...), optionally with a ``+variant`` from :func:`list_variants`
        (``en-gb+f3``).
    rate_wpm : int in 80-450
        Speaking rate in words per minute.
    pitch : int in 0-99
        Base pitch (espeak's scale; 50 is the voice's default).
    pitch_range : int in 0-99
        Intonation range (0 = monotone).
    sample_rate : int > 0
        Output rate in Hz (espeak renders at 22050 Hz and is resampled).
    normalize : bool
        For a voice whose language is English, speak ``text`` as a reader would
        (:func:`cloner.normalize.normalize_text`: "$3.50" as "3 dollars and 50 cents",
        "12/05/2024" as a date, "x < y" with "less than"); other languages are spoken as
        written either way. False speaks exactly what espeak-ng makes of ``text``.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
    timings : list of Timing
        Word and phoneme start times in seconds, in order; words and their ``text_position``
        are those of the text spoken (after ``normalize``).

    Raises
    ------
    TTSError
        Empty, too long or unspeakable text (:func:`check_speakable`), text with nothing to speak
        (:func:`check_has_words`), an unknown voice, or a
        failed synthesis.
    """
    text = _check_text(text)
    voice = _check_voice(voice)
    sample_rate = check_sample_rate(sample_rate)
    rate_wpm = _check_int("rate_wpm", rate_wpm, 80, 450)
    pitch = _check_int("pitch", pitch, 0, 99)
    pitch_range = _check_int("pitch_range", pitch_range, 0, 99)
    spoken = _spoken_text(text, voice=voice, normalize=normalize)
    with _ENGINE.lock:
        _ENGINE.lib()  # initialise here, once, so that children inherit a ready engine
        pcm, events = _in_fresh_child(lambda: _ENGINE.synth(spoken, voice=voice, rate_wpm=rate_wpm, pitch=pitch,
                                                            pitch_range=pitch_range))
        native = _ENGINE.native_rate
    if pcm.size == 0:
        raise TTSError(f"espeak-ng produced no audio for {text[:40]!r}")
    y = resample(pcm.astype(np.float32) / 32768.0, orig_sr=native, target_sr=sample_rate)
    timings = []
    for kind, sample, pos, label in events:
        if kind == _EVENT_WORD:
            length = int(label)
            word = spoken.encode("utf-8")[max(pos - 1, 0): max(pos - 1, 0) + length].decode("utf-8", "replace")
            timings.append(Timing("word", word, sample / native, pos))
        else:
            timings.append(Timing("phoneme", label, sample / native, pos))
    return y, timings


def synthesize(
    text: str,
    *,
    voice: str = "en-us",
    rate_wpm: int = DEFAULT_RATE_WPM,
    pitch: int = DEFAULT_PITCH,
    pitch_range: int = 50,
    sample_rate: int,
    normalize: bool = True,
) -> np.ndarray:
    """Speak ``text`` with espeak-ng; see :func:`synthesize_with_timings` for parameters.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32] at ``sample_rate``.

    Examples
    --------
    >>> y = synthesize("Hello there.", voice="en-us", sample_rate=16000)
    >>> y.dtype, y.ndim
    (dtype('float32'), 1)
    """
    y, _ = synthesize_with_timings(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch,
                                   pitch_range=pitch_range, sample_rate=sample_rate, normalize=normalize)
    return y


def phonemes(text: str, *, voice: str = "en-us", ipa: bool = True, normalize: bool = True) -> str:
    """Return the phoneme string espeak-ng would speak for ``text``, clauses joined by spaces.

    ``normalize`` as in :func:`synthesize_with_timings`: by default these are the phonemes
    :func:`synthesize` speaks; False gives espeak-ng's own reading of ``text``.
    """
    text = _check_text(text)
    voice = _check_voice(voice)
    spoken = _spoken_text(text, voice=voice, normalize=normalize)
    with _ENGINE.lock:
        lib = _ENGINE.lib()
        return str(_in_fresh_child(lambda: _phonemes_here(lib, spoken, voice=voice, ipa=ipa)))


def _spoken_text(text: str, *, voice: str, normalize: bool) -> str:
    """What ``voice`` says for ``text``: its :func:`readable_text` form, then read as a reader would when
    ``normalize`` (English only)."""
    if not isinstance(normalize, bool):
        raise ParameterError(f"normalize must be True or False, given {normalize!r}")
    readable = readable_text(text)
    return normalize_text(readable, language=voice_language(voice)) if normalize else readable


def _phonemes_here(lib, text: str, *, voice: str, ipa: bool) -> str:  # noqa: ANN001 - the ctypes library
    _set_voice(lib, voice)
    out: list[str] = []
    buf = ctypes.create_string_buffer(text.encode("utf-8"))
    ptr = ctypes.c_char_p(ctypes.addressof(buf))
    while ptr.value:
        chunk = lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _PHONEMES_IPA if ipa else 0)
        if chunk:
            out.append(chunk.decode("utf-8", "replace").strip())
    return " ".join(s for s in out if s)


def _voice_table(lib) -> list[tuple[Voice, tuple[int, ...]]]:  # noqa: ANN001 - the ctypes library
    """Every voice espeak-ng lists, in its order, with the priority of each of its languages (lower first)."""
    arr = lib.espeak_ListVoices(None)
    table = []
    i = 0
    while arr[i]:
        v = arr[i].contents
        langs, priorities = [], []
        raw = ctypes.cast(v.languages, ctypes.POINTER(ctypes.c_ubyte))
        j = 0
        while raw[j] != 0:  # (priority byte, NUL-terminated language)*, then a 0 byte
            priorities.append(raw[j])
            j += 1
            start = j
            while raw[j] != 0:
                j += 1
            langs.append(bytes(raw[start:j]).decode("ascii", "replace"))
            j += 1
        gender = {1: "male", 2: "female"}.get(v.gender, "none")
        table.append((Voice(v.name.decode("utf-8", "replace"), v.identifier.decode("utf-8", "replace"),
                            tuple(langs), gender), tuple(priorities)))
        i += 1
    return table


def _voice_for_language(lib, language: str) -> str | None:  # noqa: ANN001 - the ctypes library
    """The identifier of the voice that lists ``language`` with the best priority (the first on a tie)."""
    wanted = language.strip().lower()
    best: tuple[int, int, str] | None = None
    for order, (voice, priorities) in enumerate(_voice_table(lib)):
        for lang, priority in zip(voice.languages, priorities):
            if lang.lower() == wanted and (best is None or (priority, order) < best[:2]):
                best = (priority, order, voice.identifier)
    return best[2] if best else None


def _set_voice(lib, voice: str) -> None:  # noqa: ANN001 - the ctypes library
    """Select ``voice`` (checked by :func:`_check_voice`) in espeak-ng.

    espeak-ng finds a voice by file, name or identifier, but not by every language it lists
    (``en-gb`` is the language of the file ``gmw/en``); such a language is mapped to the voice
    that speaks it first. A name espeak-ng takes itself is passed unchanged, so those voices
    sound exactly as they always did.
    """
    if lib.espeak_SetVoiceByName(voice.encode("utf-8")) == 0:
        return
    base, plus, variant = voice.partition("+")
    identifier = _voice_for_language(lib, base)
    if identifier is None or lib.espeak_SetVoiceByName(f"{identifier}{plus}{variant}".encode()) != 0:
        raise TTSError(f"espeak-ng has no voice {voice!r}; `voiceguard tts --list-voices` lists them")


def _check_voice(voice: object) -> str:
    """``voice`` if it can name an espeak-ng voice: a name, identifier or language, and an existing ``+variant``."""
    if not isinstance(voice, str):
        raise ParameterError(f"voice must be a string, given {type(voice).__name__}")
    base, plus, variant = voice.partition("+")
    # (isprintable is False for a lone surrogate, which could not be encoded)
    if not base.strip() or not voice.isprintable() or len(voice.encode("utf-8")) > _VOICE_NAME_BYTES:
        raise TTSError(f"espeak-ng has no voice {voice!r}; `voiceguard tts --list-voices` lists them")
    if plus:
        known = list_variants()
        numbered = None
        if variant.isascii() and variant.isdigit():  # espeak-ng's numbers: +3 is m3, +13 is f3
            n = int(variant)
            numbered = f"m{n}" if n < 10 else f"f{n - 10}"
        if variant not in known and numbered not in known:
            raise TTSError(f"espeak-ng has no voice variant {variant!r} (in voice {voice!r}); variants are added "
                           f"as voice+variant, e.g. en-us+f3; `voiceguard tts --list-variants` lists them")
    return voice


def list_variants() -> list[str]:
    """Names of the voice variants shipped in the wheel's data, for ``voice+variant`` (``en-gb+f3``).

    Returns
    -------
    list of str
        Sorted variant names (``f1``..``f5``, ``m1``..``m8``, ``whisper``, ``croak``...).
    """
    folder = os.path.join(espeakng_loader.get_data_path(), *_VARIANTS_DIR)
    try:
        return sorted(name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name)))
    except OSError as exc:
        raise TTSError(f"cannot read espeak-ng's voice variants in {folder}: {exc.strerror}") from None


def list_voices() -> list[Voice]:
    """All espeak-ng voices shipped in the wheel's data.

    Any of a voice's ``identifier``, ``name`` or ``languages`` can be given as ``voice``
    to :func:`synthesize`, with a ``+variant`` from :func:`list_variants` or without.
    """
    with _ENGINE.lock:
        return [voice for voice, _ in _voice_table(_ENGINE.lib())]
