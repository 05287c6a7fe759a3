"""English numbers in words, as they are read aloud: cardinals, ordinals and years.

One source for every place that spells numbers: the statement check's recogniser
(:mod:`guard.asr`), the consent template's dates (:mod:`guard.consent.template`) and the
speech front end's text normaliser (:mod:`cloner.normalize`).
"""

from __future__ import annotations

from guard.errors import ParameterError

__all__ = ["MAX_NUMBER", "ONES", "TENS", "cardinal", "check_number", "ordinal", "year_words"]

MAX_NUMBER = 10**15
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen").split()
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_IRREGULAR_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                       "nine": "ninth", "twelve": "twelfth"}


def check_number(n: object, *, lo: int = 0, hi: int = MAX_NUMBER - 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= hi:
        raise ParameterError(f"n must be an integer in {lo}-{hi}, given {n!r}")
    return n


def cardinal(n: int) -> str:
    """``n`` (0 to 10**15 - 1) in English words, without "and": ``cardinal(1205)`` is "one thousand two hundred five"."""
    n = check_number(n)
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    value, name = next((value, name) for value, name in _SCALES if n >= value)
    head, rest = divmod(n, value)
    words = f"{cardinal(head)} {name}"
    return f"{words} {cardinal(rest)}" if rest else words


def ordinal(n: int) -> str:
    """``n`` (1 to 10**15 - 1) as an English ordinal in words: ``ordinal(100)`` is "one hundredth"."""
    words = cardinal(check_number(n, lo=1))
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    last = words[cut:]
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return words[:cut] + last


def year_words(year: int) -> str:
    """How ``year`` (0 to 9999) is read as a year: 1010-1999 and 2010-2099 in two halves, other years as digits.

    Examples
    --------
    >>> [year_words(y) for y in (2024, 1999, 1905, 1900, 2005, 1066, 800)]
    ['twenty twenty-four', 'nineteen ninety-nine', 'nineteen oh five', 'nineteen hundred', '2005', 'ten sixty-six', '800']
    """
    year = check_number(year, hi=9999)
    if not 1000 <= year <= 2099 or year % 1000 < 10:
        return str(year)  # espeak-ng reads these as readers do ("two thousand five", "eight hundred")
    century, rest = divmod(year, 100)
    if rest == 0:
        return f"{cardinal(century)} hundred"
    return f"{cardinal(century)} {'oh ' if rest < 10 else ''}{cardinal(rest)}"
