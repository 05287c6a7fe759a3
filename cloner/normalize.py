"""Rewrite English text the way a person reads it aloud, for espeak-ng to speak.

espeak-ng reads many written forms symbol by symbol: "$3.50" is "dollar three point five zero",
"12/05/2024" is "twelve slash zero five slash two thousand twenty four", and the "<" of "x < y"
is dropped without a word. :func:`normalize_text` rewrites such forms into words, or into digits
that espeak-ng reads right, for a voice whose language is English (primary subtag ``en``: en-us,
en-gb, en-029, ...). Text for a voice of any other language is returned unchanged: these
readings are English ones.

Each rule covers a form that espeak-ng (the espeakng-loader wheel's en-us and en-gb voices)
reads wrong; a form it reads right is left to it. In order:

- HTML entities: a named or numeric entity ending in ``;`` (``&amp; &lt; &gt; &quot; &#39;
  &nbsp;`` ...) becomes its character when that is Latin, punctuation, a symbol or a space
  (``&nbsp;`` a plain space); any other entity, and ``&`` without ``;``, stays.
- Money after ``$ £ €``: "$3.50" -> "3 dollars and 50 cents", "£0.20" -> "20 pence", "€1" ->
  "1 euro", "$1,234" -> "1,234 dollars", "$1.2 million" or "$1.2m" -> "1.2 million dollars".
- Numeric dates with a four-digit year: month first in US English (a region subtag ``us``), day
  first in every other English; a date impossible in that order but possible in the other is
  read in the other, one impossible in both stays. Dates with dots (12.05.2024) are day first
  everywhere, ISO dates (2024-05-12, 2024/05/12) year-month-day. US English says "May 12th,
  twenty twenty-four", the others "the 12th of May, twenty twenty-four"; after "the", both say
  "12th of May, twenty twenty-four".
- Dates with a month's name or its abbreviation: "May 12, 2024" -> "May 12th, twenty
  twenty-four", "12 May 2024" -> "the 12th of May, twenty twenty-four", "Dec. 5" -> "December
  5th", "May 2024" -> "May twenty twenty-four".
- Years: espeak-ng says 2024 "two thousand twenty four" and 1999 "nineteen hundred ninety nine"
  wherever they stand. The usual reading, in two halves ("twenty twenty-four", "nineteen
  ninety-nine", "nineteen oh five", "nineteen hundred"), is used for 1010-1999 and 2010-2099
  where the text marks the number as a year: after in, since, by, until, till, from, through,
  during, before, after, around, circa, c., year, a season, early, mid or late, and after "the
  start, end, middle or class of" or a season's "of"; next to AD, BC, CE or BCE; in a date; and
  as the end of such a range ("from 1990 to 2010", "in 1990-95").
  2000-2009 and 1000-1009 stay digits, which espeak-ng reads "two thousand five" (en-us) or "two
  thousand and five" (en-gb), as readers do. A number not marked as a year stays as it is
  ("2024 people").
- Decades: "1990s" -> "nineteen nineties"; "'80s", "the 80s", "her 30s" -> "... eighties", ...
- Clock times: "3:05" -> "3 oh 5", "12:00" -> "12 o'clock", "15:00" -> "15 hundred", "10:00
  am" -> "10 am", "3.30 pm" -> "3 30 pm" (espeak-ng reads "3:30", "15:45" and am/pm right).
- Ordinals of round numbers: "100th" -> "one hundredth" (espeak-ng reads 1st, 22nd, 13th right).
- Fractions n/d with n < d <= 10: "3/4" -> "three quarters", "1 1/2" -> "1 and a half"; not
  after on, since, until, till, by, from, before or after ("on 3/4" is a date).
- Slashes: "5/month" or "$5/month" -> "... per month"; between two lower-case words "he/she"
  -> "he or she", "and/or" -> "and or" (acronyms such as TCP/IP, units such as km/hr, paths and
  addresses stay).
- Ranges with an en dash: "5–10" -> "5 to 10".
- Decimals without a leading zero: ".5" -> "point 5".
- "#" before a number: "#1" -> "number 1".
- "<" and ">" between two operands: "x < y" -> "x less than y".

Left to espeak-ng, which reads them right: numbers with thousands separators and decimals
(1,234,567; 3.14), percentages (50%, 12.5%), ordinals other than round ones, trailing euros
(10€), "&", "+", "=", "@", "<=", ">=", "≤", "≥", "≠", "×", "±". Ambiguous forms stay as written:
two-digit years (12/05/24), dots or spaces as thousands separators (1.000), times with
seconds, hyphenated number pairs (scores, phone numbers, ranges: 5-10), "#tag", arrows (->),
a decade without a mark ("80s" may be 80 seconds).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from guard.errors import ParameterError
from guard.number_words import MAX_NUMBER, cardinal, ordinal, year_words

__all__ = ["is_english", "normalize_text"]

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_MONTH_ABBREVIATIONS = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Sept": 9,
                        "Oct": 10, "Nov": 11, "Dec": 12}
# sign: (one, many, one hundredth, many hundredths)
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}
_SCALE_ABBREVIATIONS = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion",
                        "t": "trillion", "tn": "trillion"}
_FRACTION_NAMES = {2: "half", 4: "quarter"}
# a word before n/d that makes it a date ("on 3/4"), not a fraction
_DATE_WORDS = frozenset({"on", "since", "until", "till", "by", "from", "before", "after"})
# a word beside a slash that makes it a unit (km/hr), not a choice (he/she)
_UNITS = frozenset({"km", "mi", "kg", "lb", "lbs", "hr", "hrs", "ft", "sec", "min", "mg", "ml", "cm", "mm", "kb",
                    "mb", "gb", "oz", "yd", "kw", "kwh", "mph", "cal", "kcal", "mol", "ms", "sq"})
_LAST_WORD = re.compile(r"(?<![A-Za-z])([A-Za-z]+)\s+$")


@dataclass(frozen=True)
class _Reading:
    """How an English variety reads numeric dates: month first (US) or day first."""

    month_first: bool


def is_english(language: str) -> bool:
    """Whether ``language`` (a tag such as ``en-us``, ``en_GB`` or ``gmw/en-US``) is English: primary subtag ``en``."""
    return _subtags(language)[0] == "en"


def _subtags(language: str) -> list[str]:
    if not isinstance(language, str):
        raise ParameterError(f"language must be a string, given {type(language).__name__}")
    return language.partition("+")[0].rpartition("/")[2].strip().lower().replace("_", "-").split("-")


def normalize_text(text: str, *, language: str) -> str:
    """``text`` with the forms espeak-ng misreads in English rewritten as a reader says them.

    Parameters
    ----------
    text : str
    language : str
        The speaking voice's language tag (``en-us``, ``en-gb``, ``fr``...), as
        :func:`cloner.tts.voice_language` gives it. Only English (primary subtag ``en``) is
        rewritten; any other language returns ``text`` unchanged. A region subtag ``us``
        reads numeric dates month first, any other English day first.

    Returns
    -------
    str
        The text to speak. Rewriting it again changes nothing.

    Raises
    ------
    ParameterError
        ``text`` or ``language`` is not a string.

    Examples
    --------
    >>> normalize_text("He paid $3.50 on 12/05/2024.", language="en-us")
    'He paid 3 dollars and 50 cents on December 5th, twenty twenty-four.'
    >>> normalize_text("He paid $3.50 on 12/05/2024.", language="en-gb")
    'He paid 3 dollars and 50 cents on the 12th of May, twenty twenty-four.'
    >>> normalize_text("Il a payé 3,50 $.", language="fr")
    'Il a payé 3,50 $.'
    """
    if not isinstance(text, str):
        raise ParameterError(f"text must be a string, given {type(text).__name__}")
    subtags = _subtags(language)
    if subtags[0] != "en":
        return text
    reading = _Reading(month_first="us" in subtags[1:])
    for rule in _RULES:
        text = rule(text, reading)
    return text


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _ordinal_suffix(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _word_before(m: re.Match) -> str:
    """The word just before the match, with only spaces between, lower-cased; '' when there is none."""
    found = _LAST_WORD.search(m.string, max(0, m.start() - 40), m.start())
    return found.group(1).lower() if found else ""


# -- HTML entities --------------------------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _decodes_to_speech(ch: str) -> bool:
    """Whether a decoded character may stand in the text: Latin, punctuation, a symbol or a space (no control)."""
    category = unicodedata.category(ch)
    return ch != "\ufffd" and (category[0] in "PSZ" or (category[0] in "LN" and ord(ch) < 0x250))


def _decoded_entity(m: re.Match) -> str:
    decoded = html.unescape(m.group())
    if decoded in ("", m.group()) or not all(_decodes_to_speech(ch) for ch in decoded):
        return m.group()
    return "".join(" " if ch.isspace() else ch for ch in decoded)


def _decode_entities(text: str, reading: _Reading) -> str:
    return _ENTITY.sub(_decoded_entity, text)


# -- money ----------------------------------------------------------------------------------------------------------

_MONEY = re.compile(
    r"(?<![\w$£€])(?P<sign>[$£€])\s?(?=\.?\d)(?P<units>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<decimals>\d+))?"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion)\b|(?P<abbreviation>[kKmMbBtT]|mn|bn|tn)\b)?"
    r"(?![.,]?\d)")


def _spoken_money(m: re.Match) -> str:
    one, many, one_hundredth, hundredths = _CURRENCIES[m["sign"]]
    units, decimals = m["units"] or "0", m["decimals"]
    scale = m["scale"] or _SCALE_ABBREVIATIONS.get((m["abbreviation"] or "").lower())
    if scale:
        return f"{units}{'.' + decimals if decimals else ''} {scale} {many}"
    if decimals is not None and len(decimals) != 2:
        return f"{units}.{decimals} {many}"
    whole, cents = int(units.replace(",", "")), int(decimals or 0)
    cents_words = f"{cents} {one_hundredth if cents == 1 else hundredths}"
    if whole == 0 and cents:
        return cents_words
    whole_words = f"{units} {one if whole == 1 else many}"
    return f"{whole_words} and {cents_words}" if cents else whole_words


def _speak_money(text: str, reading: _Reading) -> str:
    return _MONEY.sub(_spoken_money, text)


# -- dates ----------------------------------------------------------------------------------------------------------

_AFTER_DATE = r"(?![\w/\-]|[.,:]\d)"
_NUMERIC_DATE = re.compile(
    rf"(?<![\w/.\-:])(?P<a>\d{{1,2}})(?P<sep>[/.\-])(?P<b>\d{{1,2}})(?P=sep)(?P<year>\d{{4}}){_AFTER_DATE}")
_ISO_DATE = re.compile(
    rf"(?<![\w/.\-:])(?P<year>\d{{4}})(?P<sep>[/\-])(?P<month>\d{{1,2}})(?P=sep)(?P<day>\d{{1,2}}){_AFTER_DATE}")
_MONTH_NAME = (rf"(?P<month>(?:{'|'.join(_MONTHS)})\b"
               rf"|(?:{'|'.join(sorted(_MONTH_ABBREVIATIONS, key=len, reverse=True))})\b\.?)")
_YEAR_AFTER_NAME = r"(?:,?\s+(?P<year>\d{4})\b(?![.,:/\-]\d))?"
_MONTH_DAY = re.compile(rf"\b{_MONTH_NAME}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?![:/\-]\d|[.,]\d){_YEAR_AFTER_NAME}")
_DAY_MONTH = re.compile(rf"(?<![\w.,:/])(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME}{_YEAR_AFTER_NAME}")
_MONTH_YEAR = re.compile(rf"\b(?P<month>{'|'.join(_MONTHS)})(?P<gap>\s+(?:of\s+)?)(?P<year>\d{{4}})\b(?![.,:/\-]\d)")


def _valid_date(year: int | None, month: int, day: int) -> bool:
    try:
        date(2000 if year is None else year, month, day)  # 2000: a leap year, so Feb 29 without a year is a date
    except ValueError:
        return False
    return True


def _date_words(day: int, month: int, year: int | None, *, month_first: bool, after_the: bool) -> str:
    """A date as read aloud: "May 12th, twenty twenty-four" (month first) or "the 12th of May, twenty twenty-four";
    after "the", "12th of May, twenty twenty-four" in either."""
    name = _MONTHS[month - 1]
    said_year = "" if year is None else f", {year_words(year)}"
    if month_first and not after_the:
        return f"{name} {day}{_ordinal_suffix(day)}{said_year}"
    return f"{'' if after_the else 'the '}{day}{_ordinal_suffix(day)} of {name}{said_year}"


def _month_number(name: str) -> int:
    name = name.rstrip(".")
    return _MONTH_ABBREVIATIONS[name] if name in _MONTH_ABBREVIATIONS else _MONTHS.index(name) + 1


def _speak_numeric_dates(text: str, reading: _Reading) -> str:
    def iso(m: re.Match) -> str:
        year, month, day = int(m["year"]), int(m["month"]), int(m["day"])
        if not _valid_date(year, month, day):
            return m.group()
        return _date_words(day, month, year, month_first=reading.month_first, after_the=_word_before(m) == "the")

    def numeric(m: re.Match) -> str:
        a, b, year = int(m["a"]), int(m["b"]), int(m["year"])
        month_first = reading.month_first and m["sep"] != "."
        orders = ((b, a), (a, b)) if month_first else ((a, b), (b, a))  # (day, month), the variety's order first
        for day, month in orders:
            if _valid_date(year, month, day):
                return _date_words(day, month, year, month_first=reading.month_first,
                                   after_the=_word_before(m) == "the")
        return m.group()

    return _NUMERIC_DATE.sub(numeric, _ISO_DATE.sub(iso, text))


def _speak_named_dates(text: str, reading: _Reading) -> str:
    def named(m: re.Match, *, month_first: bool) -> str:
        day, month = int(m["day"]), _month_number(m["month"])
        year = int(m["year"]) if m["year"] else None
        if not _valid_date(year, month, day):
            return m.group()
        return _date_words(day, month, year, month_first=month_first, after_the=_word_before(m) == "the")

    def month_year(m: re.Match) -> str:
        return f"{m['month']}{m['gap']}{year_words(int(m['year']))}"

    text = _MONTH_DAY.sub(lambda m: named(m, month_first=True), text)
    text = _DAY_MONTH.sub(lambda m: named(m, month_first=False), text)
    return _MONTH_YEAR.sub(month_year, text)


# -- years and decades ----------------------------------------------------------------------------------------------

_YEAR = r"1\d{3}|20\d{2}"
_YEAR_CUES = (r"in|since|by|until|till|from|through|during|before|after|around|circa|c\.|year|spring|summer|autumn|"
              r"fall|winter|early|mid|late|(?:spring|summer|autumn|fall|winter|start|end|middle|class)\s+of")
_UNIT_AFTER = r"\s?(?:km|kg|mg|mm|cm|ft|lbs?|mph|Hz|kHz|MB|GB|KB|px|kW|kWh)\b"
_NOT_A_YEAR_AFTER = rf"(?!\d|[.,:/]\d|\s?%|['’]?s\b|{_UNIT_AFTER})"
_YEAR_IN_CONTEXT = re.compile(
    rf"(?<![\w.])(?P<cue>{_YEAR_CUES})(?P<gap>\s+|-)(?P<year>{_YEAR}){_NOT_A_YEAR_AFTER}"
    rf"(?:(?P<dash>\s*[-–]\s*)(?P<end>{_YEAR}|\d{{2}})|(?P<link>\s+(?:to|and|through|until)\s+)(?P<full_end>{_YEAR}))?"
    rf"{_NOT_A_YEAR_AFTER}", re.IGNORECASE)
_ERA_AFTER = re.compile(rf"(?<![\w.,])(?P<year>{_YEAR})(?P<gap>\s?)(?P<era>AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)")
_ERA_BEFORE = re.compile(rf"(?<![\w.])(?P<era>AD|A\.D\.)(?P<gap>\s?)(?P<year>{_YEAR})(?!\d|[.,:/]\d)")
_DECADE = re.compile(r"(?<![\w.,$£€])(?P<century>1\d|20)(?P<tens>\d)0['’]?s\b")
_SHORT_DECADE = re.compile(r"(?<!\w)(?P<lead>['’]|(?:the|their|her|his|my|your|our|its|early|mid|late)[\s-]+['’]?)"
                           r"(?P<tens>[2-9])0['’]?s\b", re.IGNORECASE)


def _range_end(end: str) -> str:
    """The end of a year range: a full year, or its last two digits ("95" in 1990-95, "oh five" in 2004-05)."""
    n = int(end)
    return year_words(n) if len(end) == 4 else f"{'oh ' if n < 10 else ''}{cardinal(n)}"


def _speak_years(text: str, reading: _Reading) -> str:
    def in_context(m: re.Match) -> str:
        said = f"{m['cue']}{m['gap']}{year_words(int(m['year']))}"
        if m["full_end"]:
            return f"{said}{m['link']}{year_words(int(m['full_end']))}"
        return f"{said} to {_range_end(m['end'])}" if m["end"] else said

    text = _YEAR_IN_CONTEXT.sub(in_context, text)
    text = _ERA_AFTER.sub(lambda m: f"{year_words(int(m['year']))} {m['era']}", text)
    return _ERA_BEFORE.sub(lambda m: f"{m['era']} {year_words(int(m['year']))}", text)


def _speak_decades(text: str, reading: _Reading) -> str:
    def decade(m: re.Match) -> str:
        year = int(m["century"]) * 100 + int(m["tens"]) * 10
        return _plural(cardinal(year) if year % 1000 < 10 else year_words(year))

    def short_decade(m: re.Match) -> str:
        return m["lead"].replace("'", "").replace("’", "") + _plural(cardinal(int(m["tens"]) * 10))

    return _SHORT_DECADE.sub(short_decade, _DECADE.sub(decade, text))


# -- clock times ----------------------------------------------------------------------------------------------------

_AM_PM = r"(?P<am_pm>\s?[AaPp]\.?[Mm]\.?(?![A-Za-z]))"
_CLOCK = re.compile(rf"(?<![\w:.,])(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d){_AM_PM}?(?![\w:]|[.,]\d)")
_DOT_CLOCK = re.compile(rf"(?<![\w:.,])(?P<hour>1[0-2]|0?[1-9])\.(?P<minute>[0-5]\d){_AM_PM}(?![\w:]|[.,]\d)")


def _spoken_time(m: re.Match) -> str:
    hour, minute = int(m["hour"]), int(m["minute"])
    am_pm = (m["am_pm"] or "").strip()
    if am_pm and not 1 <= hour <= 12:
        return m.group()  # "15:00 pm" says two things
    if minute == 0:
        said = str(hour) if am_pm else f"{hour} o'clock" if 1 <= hour <= 12 else f"{hour} hundred"
    else:
        said = f"{hour} {'oh ' if minute < 10 else ''}{minute}"
    return f"{said} {am_pm}" if am_pm else said


def _speak_times(text: str, reading: _Reading) -> str:
    return _DOT_CLOCK.sub(_spoken_time, _CLOCK.sub(_spoken_time, text))


# -- ordinals, fractions, slashes, ranges, decimals, signs ----------------------------------------------------------

_ROUND_ORDINAL = re.compile(r"(?<![\w.,])(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?:th|TH)\b")
_FRACTION = re.compile(r"(?<![\w/.,:])(?:(?P<whole>\d+)\s+)?(?P<numerator>[1-9])/(?P<denominator>10|[2-9])"
                       r"(?![\w/]|[.,:]\d)")
_AFTER_AMOUNT = (r"(?:(?<=\d)|(?<=\bdollar)|(?<=\bdollars)|(?<=\bpound)|(?<=\bpounds)|(?<=\beuro)|(?<=\beuros)"
                 r"|(?<=\bcent)|(?<=\bcents)|(?<=\bpenny)|(?<=\bpence))")
_PER = re.compile(rf"{_AFTER_AMOUNT}/(?=[A-Za-z]{{2,}}\b(?![/.@]\w))")
_WORD_SLASH = re.compile(r"(?<![\w/.:@\-])(?P<left>[A-Za-z][a-z]+)/(?P<right>[A-Za-z][a-z]+)(?![\w/@]|\.\w)")
_EN_DASH_RANGE = re.compile(rf"{_AFTER_AMOUNT}\s*–\s*(?=\d)")
_BARE_DECIMAL = re.compile(r"(?<![\w.,])\.(?P<digits>\d+)(?![\w]|[.,]\d)")
_NUMBER_SIGN = re.compile(r"(?<![\w&#])#\s?(?=\d)")
_TAG_LIKE = re.compile(r"<[A-Za-z/!?][^<>]*>")
_LESS = re.compile(r"(?<=[\w)\]%])\s*<(?![<>=\-])\s*(?=[\w(\[$£€+\-.])")
_GREATER = re.compile(r"(?<=[\w)\]%])\s*>(?![<>=])\s*(?=[\w(\[$£€+\-.])")


def _speak_round_ordinals(text: str, reading: _Reading) -> str:
    def round_ordinal(m: re.Match) -> str:
        n = int(m["number"].replace(",", ""))
        return ordinal(n) if 0 < n < MAX_NUMBER and n % 100 == 0 else m.group()

    return _ROUND_ORDINAL.sub(round_ordinal, text)


def _fraction_name(denominator: int, *, many: bool) -> str:
    name = _FRACTION_NAMES.get(denominator) or ordinal(denominator)
    return _plural(name) if many else name


def _speak_fractions(text: str, reading: _Reading) -> str:
    def fraction(m: re.Match) -> str:
        numerator, denominator = int(m["numerator"]), int(m["denominator"])
        if numerator >= denominator or _word_before(m) in _DATE_WORDS:
            return m.group()
        name = _fraction_name(denominator, many=numerator > 1)
        if m["whole"] is None:
            return f"{cardinal(numerator)} {name}"
        if numerator == 1:
            return f"{m['whole']} and {'an' if name[0] in 'aeiou' else 'a'} {name}"
        return f"{m['whole']} and {cardinal(numerator)} {name}"

    return _FRACTION.sub(fraction, text)


def _speak_slashes(text: str, reading: _Reading) -> str:
    def choice(m: re.Match) -> str:
        left, right = m["left"], m["right"]
        if left.lower() in _UNITS or right.lower() in _UNITS:
            return m.group()
        return f"{left} {right}" if right.lower() == "or" else f"{left} or {right}"  # and/or, either/or

    return _WORD_SLASH.sub(choice, _PER.sub(" per ", text))


def _speak_ranges(text: str, reading: _Reading) -> str:
    return _EN_DASH_RANGE.sub(" to ", text)


def _speak_bare_decimals(text: str, reading: _Reading) -> str:
    return _BARE_DECIMAL.sub(lambda m: "point " + " ".join(m["digits"]), text)


def _speak_number_signs(text: str, reading: _Reading) -> str:
    return _NUMBER_SIGN.sub("number ", text)


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


def _speak_comparisons(text: str, reading: _Reading) -> str:
    for sign, said in ((_LESS, "less than"), (_GREATER, "greater than")):
        tags = [m.span() for m in _TAG_LIKE.finditer(text)]  # a decoded "&lt;b&gt;" is a tag, not two comparisons
        text = sign.sub(lambda m, tags=tags, said=said: m.group() if _overlaps(m.span(), tags) else f" {said} ", text)
    return text


_RULES: tuple[Callable[[str, _Reading], str], ...] = (
    _decode_entities, _speak_money, _speak_numeric_dates, _speak_named_dates, _speak_decades, _speak_years,
    _speak_times, _speak_round_ordinals, _speak_fractions, _speak_slashes, _speak_ranges, _speak_bare_decimals,
    _speak_number_signs, _speak_comparisons,
)
