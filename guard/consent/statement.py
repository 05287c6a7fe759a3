"""Whether a consent statement recording says *this* consent: its subject, operator, purposes, date and code.

The recording is decoded once by the restricted recogniser (:func:`guard.asr.transcribe`)
with a language model of the claimed statements (each weighted :data:`guard.asr.STATEMENT_WEIGHT`
times: one per consent code issued for the claimed terms), :data:`guard.asr.BACKGROUND` common
words, and :data:`COMPETITORS`: every month, ordinal, number, digit and purpose word, so that a
spoken "June", "games" or "five" is heard as itself instead of being forced onto the claimed
"December", "audiobooks" or code digit. The hypothesis is aligned with each statement (longest
common subsequence), and each field is scored by the fraction of its words that the alignment
found; where the date is said, a month, ordinal or number the claimed date lacks is a sign of
another date, and the digits heard where the code is said are kept (:attr:`StatementMatch.code_heard`).
See :mod:`guard.consent.verdict` for the thresholds.

The recogniser hears only Latin letters (accents dropped) and digits (:func:`guard.asr.words`),
so a subject or operator with a word in another script is refused before anything is decoded
(:func:`guard.consent.template.spoken_name`): every field of the terms is scored, none is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from guard.consent.template import (
    CODE_SENTENCE,
    DIGIT_WORDS,
    MONTHS,
    ORDINALS,
    SPOKEN_PURPOSE,
    code_words,
    date_words,
    spoken_names,
    statement_text,
    terms_text,
)
from guard.errors import ParameterError

# Words a statement with another date or other purposes would contain: in the language model
# they compete with the claimed ones, so a changed field decodes as what was said.
COMPETITORS: tuple[str, ...] = tuple(dict.fromkeys(
    [*MONTHS, *ORDINALS, "thirtieth", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
     "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
     "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "hundred", "thousand", "oh", "zero",
     *" ".join(SPOKEN_PURPOSE.values()).split()]))
PURPOSE_WORDS: tuple[str, ...] = tuple(" ".join(SPOKEN_PURPOSE.values()).split())


@dataclass(frozen=True)
class StatementMatch:
    """How well a recording says a statement.

    Attributes
    ----------
    overall : float in [0, 1]
        Statement words found in order / statement words.
    fields : dict of str -> float in [0, 1]
        ``subject``, ``operator``, ``purpose:<name>`` for each purpose, ``expires`` (the day,
        month and year words) and, for a statement with a code, ``code`` (its digits): the
        fraction of that field's words found in place.
    heard : str
        The recogniser's hypothesis.
    other_date : tuple of str
        Date words (months, ordinals, numbers) heard where the expiry date is said that the
        claimed date does not contain: the recording names another date.
    code_heard : str
        The digits heard where the code is said (``"471926"``), in order; empty without a code.
    """

    overall: float
    fields: dict[str, float]
    heard: str
    other_date: tuple[str, ...] = ()
    code_heard: str = ""

    def weakest(self) -> tuple[str, float]:
        """The field with the lowest score, and that score."""
        name = min(self.fields, key=lambda k: self.fields[k])
        return name, self.fields[name]


def statement_pieces(*, subject: str, operator: str, purposes: Sequence[str], expires: date,
                     code: str | None = None) -> list[tuple[str, str | None]]:
    """:func:`guard.consent.template.statement_text` as (text, field) pieces; field is None for the fixed wording.

    Without ``code``, the pieces of :func:`guard.consent.template.terms_text` (no ``code`` field).
    Every field has words the recogniser can hear: a subject or operator with none, or with a
    word in another script, is refused (:func:`guard.consent.template.spoken_name`).

    Raises
    ------
    ConsentError
        A subject or operator the statement check cannot hear, an unknown purpose, a malformed code.
    """
    from guard.consent.record import check_purposes

    names = check_purposes(purposes)
    subject, operator = spoken_names(subject=subject, operator=operator)
    pieces: list[tuple[str, str | None]] = [("I,", None), (subject, "subject"), (", agree that", None),
                                            (operator, "operator"),
                                            ("may use recordings of my voice to make a synthetic copy of my voice for", None)]
    for i, p in enumerate(names):
        if i:
            pieces.append(("and" if i == len(names) - 1 else ",", None))
        pieces.append((SPOKEN_PURPOSE[p], f"purpose:{p}"))
    ordinal, month, year = date_words(expires)
    pieces += [(", until the", None), (ordinal, "expires"), ("of", None), (month, "expires"), (year, "expires"),
               (". I can withdraw this consent at any time.", None)]
    if code is not None:
        pieces += [(CODE_SENTENCE, None), (code_words(code), "code")]
    return pieces


def _lcs_pairs(a: Sequence[str], b: Sequence[str]) -> list[int | None]:
    """For each word of ``a``, the index in ``b`` a longest common subsequence pairs it with, or None."""
    n, m = len(a), len(b)
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i, j] = table[i + 1, j + 1] + 1 if a[i] == b[j] else max(table[i + 1, j], table[i, j + 1])
    pairs: list[int | None] = [None] * n
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs[i] = j
            i, j = i + 1, j + 1
        elif table[i + 1, j] >= table[i, j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _span(pairs: list[int | None], owner: list[str | None], field: str, n_heard: int) -> range:
    """Positions of the hypothesis between the statement words the alignment found around ``field``."""
    span = [i for i, o in enumerate(owner) if o == field]
    before = [pairs[i] for i in range(span[0]) if pairs[i] is not None]
    after = [pairs[i] for i in range(span[-1] + 1, len(owner)) if pairs[i] is not None]
    return range(before[-1] + 1 if before else 0, after[0] if after else n_heard)


def _heard_between(pairs: list[int | None], owner: list[str | None], field: str, heard: Sequence[str]) -> list[str]:
    """Hypothesis words between the statement words around ``field`` that no statement word took."""
    taken = {p for p, o in zip(pairs, owner) if o == field}
    return [heard[j] for j in _span(pairs, owner, field, len(heard)) if j not in taken]


def _digits_heard(pairs: list[int | None], owner: list[str | None], heard: Sequence[str]) -> str:
    """The digit words heard where the code is said, as digits (other words there are left out)."""
    return "".join(str(DIGIT_WORDS.index(heard[j])) for j in _span(pairs, owner, "code", len(heard))
                   if heard[j] in DIGIT_WORDS)


def _target_words(pieces: Sequence[tuple[str, str | None]]) -> tuple[list[str], list[str | None]]:
    """The statement's words as the recogniser spells them, and the field of each (None: fixed wording).

    Raises
    ------
    ParameterError
        A field with no word the recogniser can hear: it would be left out of the scores.
    """
    from guard.asr import words

    target: list[str] = []
    owner: list[str | None] = []
    for text, field in pieces:
        w = words(text)
        if field is not None and not w:
            raise ParameterError(f"the statement's {field} field {text!r} has no word the recogniser can hear, so it "
                                 f"could not be checked")
        target += w
        owner += [field] * len(w)
    return target, owner


def score_hypothesis(heard: Sequence[str], pieces: Sequence[tuple[str, str | None]]) -> StatementMatch:
    """Score a recogniser hypothesis (lower-case words) against statement ``pieces`` (:func:`statement_pieces`).

    Every field of ``pieces`` gets a score: one with no word the recogniser can hear is a
    ParameterError, never a field left out.
    """
    target, owner = _target_words(pieces)
    heard = list(heard)
    pairs = _lcs_pairs(target, heard)
    fields: dict[str, float] = {}
    for field in dict.fromkeys(f for f in owner if f is not None):
        hits = [p is not None for p, o in zip(pairs, owner) if o == field]
        fields[field] = sum(hits) / len(hits) if hits else 0.0
    date_words_heard = {w.lower() for w in COMPETITORS if w.lower() not in {p.lower() for p in PURPOSE_WORDS}}
    claimed = {w for w, o in zip(target, owner) if o == "expires"}
    other_date = [w for w in _heard_between(pairs, owner, "expires", heard) if w in date_words_heard and w not in claimed] \
        if "expires" in fields else []
    code_heard = _digits_heard(pairs, owner, heard) if "code" in fields else ""
    return StatementMatch(sum(p is not None for p in pairs) / len(target), fields, " ".join(heard), tuple(other_date),
                          code_heard)


def hear_statements(y: np.ndarray, *, sample_rate: int, statements: Sequence[str], expires: date) -> list[str]:
    """Decode ``y`` once, with the claimed ``statements`` (one per code) in the language model.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono speech, at least 0.3 s.
    sample_rate : int > 0
    statements : sequence of str
        The texts the recording may say (at least one), each weighted :data:`guard.asr.STATEMENT_WEIGHT` times.
    expires : date
        The claimed expiry: the years around it join the competitors.

    Returns
    -------
    list of str
        The hypothesis, lower-case words.

    Raises
    ------
    AudioError
        Silent, too short or otherwise unusable audio.
    """
    from guard import asr

    years = [date_words(expires.replace(year=y, month=1, day=1))[2] for y in range(date.today().year, date.today().year + 12)]
    phrases = [text for text in statements for _ in range(asr.STATEMENT_WEIGHT)] + list(asr.BACKGROUND) \
        + list(COMPETITORS) + years
    return asr.transcribe(y, sample_rate=sample_rate, phrases=phrases).split()


def match_statements(y: np.ndarray, *, sample_rate: int, subject: str, operator: str, purposes: Sequence[str],
                     expires: date, codes: Sequence[str]) -> list[StatementMatch]:
    """Decode ``y`` once and score it against this consent's statement with each of ``codes``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono speech, at least 0.3 s.
    sample_rate : int > 0
    subject, operator : str
    purposes : sequence of str
    expires : date
    codes : sequence of str
        The consent codes the recording may say (at least one), each of
        :data:`guard.consent.template.CODE_DIGITS` digits.

    Returns
    -------
    list of StatementMatch
        One per code, in the order of ``codes``.

    Raises
    ------
    AudioError
        Silent, too short or otherwise unusable audio.
    ConsentError
        A subject or operator the recogniser cannot hear (:func:`guard.consent.template.spoken_name`).
    """
    terms = {"subject": subject, "operator": operator, "purposes": purposes, "expires": expires}
    if not codes:
        raise ParameterError("codes must hold at least one consent code")
    heard = hear_statements(y, sample_rate=sample_rate, expires=expires,
                            statements=[statement_text(**terms, code=code) for code in codes])
    return [score_hypothesis(heard, statement_pieces(**terms, code=code)) for code in codes]


def match_statement(y: np.ndarray, *, sample_rate: int, subject: str, operator: str, purposes: Sequence[str],
                    expires: date, code: str | None) -> StatementMatch:
    """Decode ``y`` and score it against the statement of this consent, with ``code`` or, None, without one.

    Without a code this is the check as it was before codes (the terms alone): benchmarks compare
    the two; a grant always needs a code (:func:`match_statements`).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono speech, at least 0.3 s.
    sample_rate : int > 0
    subject, operator : str
    purposes : sequence of str
    expires : date
    code : str or None

    Returns
    -------
    StatementMatch

    Raises
    ------
    AudioError
        Silent, too short or otherwise unusable audio.
    ConsentError
        A subject or operator the recogniser cannot hear (:func:`guard.consent.template.spoken_name`).
    """
    terms = {"subject": subject, "operator": operator, "purposes": purposes, "expires": expires}
    if code is not None:
        return match_statements(y, sample_rate=sample_rate, **terms, codes=[code])[0]
    heard = hear_statements(y, sample_rate=sample_rate, statements=[terms_text(**terms)], expires=expires)
    return score_hypothesis(heard, statement_pieces(**terms))
