"""The consent statement a speaker reads aloud: subject, operator, purposes, expiry and a one-time code, in words.

The text is made here; a code to put in it is issued, and logged, by
:func:`guard.consent.challenge.issue_statement` (``voiceguard consent template``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from guard.consent.record import as_date, check_purposes, one_line
from guard.errors import ConsentError
from guard.number_words import ONES, ordinal

SPOKEN_PURPOSE = {
    "audiobook": "audiobooks", "accessibility": "accessibility", "dubbing": "dubbing",
    "assistant": "voice assistants", "game": "games", "research": "research",
    "detector-training": "training deepfake detectors",
}
ORDINALS = tuple(ordinal(n) for n in range(1, 21))  # first ... twentieth
MONTHS = ("January February March April May June July August September October November December").split()
DIGIT_WORDS: tuple[str, ...] = tuple(ONES[:10])
CODE_DIGITS = 6
CODE_SENTENCE = "My consent code is"
# The fix for a name the statement check cannot hear (:func:`spoken_name`).
TRANSLITERATE = "give the name as it is spoken, in Latin letters (a transliteration, as in a passport)"


def _ordinal(n: int) -> str:
    return ordinal(n).replace("-", " ")  # "twenty first": the words the recogniser hears


def _year(y: int) -> str:
    from guard.asr import words

    return " ".join(words(str(y)))


def date_words(day: date) -> tuple[str, str, str]:
    """The day, month and year of a date as they are read aloud: ``("first", "January", "twenty twenty seven")``."""
    return _ordinal(day.day), MONTHS[day.month - 1], _year(day.year)


def spoken_date(day: date) -> str:
    """A date as it is read aloud: ``the first of January twenty twenty seven``."""
    ordinal, month, year = date_words(day)
    return f"the {ordinal} of {month} {year}"


def spoken_name(text: str, field: str) -> str:
    """``text`` as one line, if the statement check can hear every word of it; else ConsentError naming ``field``.

    The check (:mod:`guard.consent.statement`) scores a field by the fraction of its words
    heard, and it listens only for the words :func:`guard.asr.words` spells: Latin letters,
    with or without accents (``"Zoë Ñúñez-Åström"``, ``"Søren"``), and digits. A word in
    another script (Cyrillic, Greek, Arabic, CJK...) would be left out of the field without a
    trace, so a recording naming anyone would pass for it. Hence the rule: a spoken name needs at
    least one word the check can hear, and every word of it (a run of letters and digits,
    :func:`guard.asr.unspelt`) must be one. A name partly in Latin letters (``"Иван Smith"``) is
    refused too: the check would score it on "Smith" alone, so "John Smith" would pass for it.
    So is a word with a Latin letter :func:`guard.asr.words` has no spelling for (``"Ɓ"``).
    Punctuation, accents and modifier letters (ʻ) are not words, and the check ignores them.

    Parameters
    ----------
    text : str
        A subject's or operator's name.
    field : {"subject", "operator"}
        Named in the error.

    Raises
    ------
    ConsentError
        A blank or over-long name (:func:`guard.consent.record.one_line`), or one the check cannot hear, with the fix.

    Examples
    --------
    >>> spoken_name("Zoë  Ñúñez-Åström", "subject")
    'Zoë Ñúñez-Åström'
    >>> spoken_name("Иван Петров", "subject")
    Traceback (most recent call last):
    ...
    guard.errors.ConsentError: the subject 'Иван Петров' has no word in Latin letters, which the statement check needs: give the name as it is spoken, in Latin letters (a transliteration, as in a passport)
    """
    from guard.asr import unspelt, words

    text = one_line(text, field)
    if not words(text):
        raise ConsentError(f"the {field} {text!r} has no word in Latin letters, which the statement check needs: "
                           f"{TRANSLITERATE}")
    unheard = unspelt(text)
    if unheard:
        raise ConsentError(f"the {field} {text!r} has words not in Latin letters ({', '.join(map(repr, unheard))}), "
                           f"which the statement check cannot hear: {TRANSLITERATE}")
    return text


def spoken_names(*, subject: str, operator: str) -> tuple[str, str]:
    """The subject and operator as one line each, if the statement check can hear them (:func:`spoken_name`).

    Raises
    ------
    ConsentError
        Naming the first of them that is blank, over-long or not in Latin letters.
    """
    return spoken_name(subject, "subject"), spoken_name(operator, "operator")


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check_code(code: object) -> str:
    """``code`` if it is :data:`CODE_DIGITS` decimal digits, else ConsentError."""
    if not isinstance(code, str) or len(code) != CODE_DIGITS or not all(c in "0123456789" for c in code):
        raise ConsentError(f"a consent code is {CODE_DIGITS} digits, given {code!r}")
    return code


def code_words(code: str) -> str:
    """A consent code as it is read aloud, digit by digit: ``"471926"`` -> ``"four seven one nine two six"``."""
    return " ".join(DIGIT_WORDS[int(c)] for c in check_code(code))


def statement_text(*, subject: str, operator: str, purposes: Sequence[str], expires: date | str, code: str) -> str:
    """The statement the subject reads for a spoken consent, ending with its one-time code.

    A grant accepts only a code issued for these terms by :func:`guard.consent.template` (which
    logs it), so call that one to give a speaker a statement to read.

    Parameters
    ----------
    subject : str
        The speaker's name.
    operator : str
        Who may use the voice.
    purposes : sequence of str
        From :data:`guard.consent.PURPOSES`.
    expires : date or "YYYY-MM-DD"
        The last day of the consent.
    code : str
        :data:`CODE_DIGITS` digits, read one by one.

    Raises
    ------
    ConsentError
        A subject or operator the statement check cannot hear (:func:`spoken_name`: a name in
        another script needs its Latin transliteration), an unknown purpose, a malformed code.

    Examples
    --------
    >>> statement_text(subject="Ada Lovelace", operator="Example Studio", purposes=["audiobook"], expires="2027-01-01",
    ...                code="471926")
    'I, Ada Lovelace, agree that Example Studio may use recordings of my voice to make a synthetic copy of my voice for audiobooks, until the first of January twenty twenty seven. I can withdraw this consent at any time. My consent code is four seven one nine two six.'
    """
    terms = terms_text(subject=subject, operator=operator, purposes=purposes, expires=expires)
    return f"{terms} {CODE_SENTENCE} {code_words(code)}."


def terms_text(*, subject: str, operator: str, purposes: Sequence[str], expires: date | str) -> str:
    """The statement's terms, without its code: what :func:`statement_text` begins with.

    A recording of this alone backs no consent (a grant needs the code); the statement check's
    benchmarks read it to compare with the check before codes.

    Raises
    ------
    ConsentError
        A subject or operator the statement check cannot hear (:func:`spoken_name`), an unknown purpose.
    """
    subject, operator = spoken_names(subject=subject, operator=operator)  # spaces collapsed, as grant takes them
    names = [SPOKEN_PURPOSE[p] for p in check_purposes(purposes)]
    return (f"I, {subject}, agree that {operator} may use recordings of my voice "
            f"to make a synthetic copy of my voice for {_join(names)}, until {spoken_date(as_date(expires))}. "
            f"I can withdraw this consent at any time.")
