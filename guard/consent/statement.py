"""Whether a consent statement recording says *this* consent: its subject, operator, purposes and date.

The recording is decoded once by the restricted recogniser (:func:`guard.asr.transcribe`)
with a language model of the claimed statement (weighted :data:`guard.asr.STATEMENT_WEIGHT`
times), :data:`guard.asr.BACKGROUND` common words, and :data:`COMPETITORS`: every month,
ordinal, number and purpose word, so that a spoken "June" or "games" is heard as itself
instead of being forced onto the claimed "December" or "audiobooks". The hypothesis is
aligned with the statement (longest common subsequence), and each field is scored by the
fraction of its words that the alignment found; where the date is said, a month, ordinal or
number the claimed date lacks is a sign of another date. See :mod:`guard.consent.evidence`
for the thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from guard.consent.template import MONTHS, ORDINALS, SPOKEN_PURPOSE, date_words, template

# Words a statement with another date or other purposes would contain: in the language model
# they compete with the claimed ones, so a changed field decodes as what was said.
COMPETITORS: tuple[str, ...] = tuple(dict.fromkeys(
    [*MONTHS, *ORDINALS, "thirtieth", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
     "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
     "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "hundred", "thousand", "oh",
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
        ``subject``, ``operator``, ``purpose:<name>`` for each purpose, and ``expires`` (the
        day, month and year words): the fraction of that field's words found in place.
    heard : str
        The recogniser's hypothesis.
    other_date : tuple of str
        Date words (months, ordinals, numbers) heard where the expiry date is said that the
        claimed date does not contain: the recording names another date.
    """

    overall: float
    fields: dict[str, float]
    heard: str
    other_date: tuple[str, ...] = ()

    def weakest(self) -> tuple[str, float]:
        """The field with the lowest score, and that score."""
        name = min(self.fields, key=lambda k: self.fields[k])
        return name, self.fields[name]


def statement_pieces(*, subject: str, operator: str, purposes: Sequence[str], expires: date) -> list[tuple[str, str | None]]:
    """:func:`guard.consent.template` as (text, field) pieces; field is None for the fixed wording."""
    from guard.consent.record import check_purposes

    names = check_purposes(purposes)
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


def _heard_between(pairs: list[int | None], owner: list[str | None], field: str, heard: Sequence[str]) -> list[str]:
    """Hypothesis words between the statement words around ``field`` that no statement word took."""
    span = [i for i, o in enumerate(owner) if o == field]
    before = [pairs[i] for i in range(span[0]) if pairs[i] is not None]
    after = [pairs[i] for i in range(span[-1] + 1, len(owner)) if pairs[i] is not None]
    lo = before[-1] + 1 if before else 0
    hi = after[0] if after else len(heard)
    taken = {pairs[i] for i in span}
    return [heard[j] for j in range(lo, hi) if j not in taken]


def score_hypothesis(heard: Sequence[str], pieces: Sequence[tuple[str, str | None]]) -> StatementMatch:
    """Score a recogniser hypothesis (lower-case words) against statement ``pieces``."""
    from guard.asr import words

    target: list[str] = []
    owner: list[str | None] = []
    for text, field in pieces:
        w = words(text)
        target += w
        owner += [field] * len(w)
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
    return StatementMatch(sum(p is not None for p in pairs) / len(target), fields, " ".join(heard), tuple(other_date))


def match_statement(y: np.ndarray, *, sample_rate: int, subject: str, operator: str, purposes: Sequence[str],
                    expires: date) -> StatementMatch:
    """Decode ``y`` and score it against the statement of this consent.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float
        Mono speech, at least 0.3 s.
    sample_rate : int > 0
    subject, operator : str
    purposes : sequence of str
    expires : date

    Returns
    -------
    StatementMatch

    Raises
    ------
    AudioError
        Silent, too short or otherwise unusable audio.
    """
    from guard import asr

    text = template(subject=subject, operator=operator, purposes=purposes, expires=expires)
    years = [date_words(expires.replace(year=y, month=1, day=1))[2] for y in range(date.today().year, date.today().year + 12)]
    phrases = [text] * asr.STATEMENT_WEIGHT + list(asr.BACKGROUND) + list(COMPETITORS) + years
    heard = asr.transcribe(y, sample_rate=sample_rate, phrases=phrases).split()
    return score_hypothesis(heard, statement_pieces(subject=subject, operator=operator, purposes=purposes,
                                                    expires=expires))
