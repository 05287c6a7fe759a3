"""The consent statement a speaker reads aloud: subject, operator, purposes, expiry and a one-time code, in words.

The text is made here; a code to put in it is issued, and logged, by
:func:`guard.consent.challenge.issue_statement` (``voiceguard consent template``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from guard.consent.record import as_date, check_purposes, one_line
from guard.errors import ConsentError

SPOKEN_PURPOSE = {
    "audiobook": "audiobooks", "accessibility": "accessibility", "dubbing": "dubbing",
    "assistant": "voice assistants", "game": "games", "research": "research",
    "detector-training": "training deepfake detectors",
}
ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()
MONTHS = ("January February March April May June July August September October November December").split()
DIGIT_WORDS: tuple[str, ...] = tuple("zero one two three four five six seven eight nine".split())
CODE_DIGITS = 6
CODE_SENTENCE = "My consent code is"


def _ordinal(n: int) -> str:
    if n <= 20:
        return ORDINALS[n - 1]
    if n == 30:
        return "thirtieth"
    return ("twenty " if n < 30 else "thirty ") + ORDINALS[n % 10 - 1]


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
    """
    subject, operator = one_line(subject, "subject"), one_line(operator, "operator")  # as grant takes them
    names = [SPOKEN_PURPOSE[p] for p in check_purposes(purposes)]
    return (f"I, {subject}, agree that {operator} may use recordings of my voice "
            f"to make a synthetic copy of my voice for {_join(names)}, until {spoken_date(as_date(expires))}. "
            f"I can withdraw this consent at any time.")
