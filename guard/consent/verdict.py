"""Whether a decoded statement backs a grant: each field against its threshold, and the one-time code.

:func:`statement_refusal` judges the wording (overall, subject, operator, each purpose, the expiry
date); :func:`says_code` the code, which must be heard digit for digit; :func:`choose_candidate`
picks, among the codes issued for the grant's terms, the open one the recording says, or names
why none backs the grant (an expired or used code, a code heard that matches none).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from guard.consent.challenge import TEMPLATE_FIX, Candidate
from guard.consent.statement import StatementMatch
from guard.errors import ConsentError

__all__ = ["STATEMENT_THRESHOLD", "NAME_THRESHOLD", "PURPOSE_THRESHOLD", "DATE_THRESHOLD", "statement_refusal",
           "says_code", "choose_candidate", "code_refusal"]

# Thresholds of the statement check (see guard.consent.statement); the measurements behind them
# are in guard/consent/__init__.py.
STATEMENT_THRESHOLD = 0.50
NAME_THRESHOLD = 0.50
PURPOSE_THRESHOLD = 0.50
DATE_THRESHOLD = 0.60


_FIELD_NAMES = {"expires": "expiry date"}


def _field_threshold(field: str) -> float:
    if field == "expires":
        return DATE_THRESHOLD
    return PURPOSE_THRESHOLD if field.startswith("purpose:") else NAME_THRESHOLD


def statement_refusal(match: StatementMatch, *, day: date) -> str | None:
    """Why a decoded statement does not back this consent, or None when it does (its code aside: :func:`code_refusal`).

    Parameters
    ----------
    match : StatementMatch
        :func:`guard.consent.statement.match_statement` of the recording against the claim.
    day : date
        The claimed expiry date (named in the reason when another date was heard).
    """
    from guard.consent.template import spoken_date

    if match.overall < STATEMENT_THRESHOLD:
        return (f"the statement does not say the consent template (match score {match.overall:.2f} < "
                f"{STATEMENT_THRESHOLD:.2f}); record it again reading `voiceguard consent template` word for word")
    if match.other_date:
        return (f"the statement names another expiry date (heard {' '.join(match.other_date)!r} where this "
                f"consent's date, {spoken_date(day)}, is said); record the speaker reading this consent's "
                f"`voiceguard consent template`")
    missing = [(k, v) for k, v in match.fields.items() if k != "code" and v < _field_threshold(k)]
    if missing:
        said = ", ".join(f"{_FIELD_NAMES.get(k, k.replace('purpose:', 'purpose '))} ({v:.2f} of its words heard, "
                         f"need {_field_threshold(k):.2f})" for k, v in missing)
        return (f"the statement does not say this consent's {said}; the recording must name this subject, "
                f"operator, every purpose and the expiry date, as `voiceguard consent template` prints them")
    return None


def says_code(match: StatementMatch, code: str) -> bool:
    """Whether the code was fully heard: every one of its digits in place, and no other digit where it is said."""
    return match.fields.get("code") == 1.0 and match.code_heard == code


def choose_candidate(scored: Sequence[tuple[Candidate, StatementMatch]], *, day: date) -> tuple[Candidate, StatementMatch]:
    """The open code whose statement the recording says best, or ConsentError saying why none backs the grant.

    Parameters
    ----------
    scored : sequence of (Candidate, StatementMatch)
        Each code issued for the grant's terms (at least one) and the recording scored against its statement.
    day : date
        The claimed expiry date.

    Raises
    ------
    ConsentError
        The statement's wording is refused (:func:`statement_refusal` of the best match); or the code
        heard is an expired or used one (named), or no open one.
    """
    said = [(c, m) for c, m in scored if statement_refusal(m, day=day) is None and says_code(m, c.challenge.code)]
    usable = [(c, m) for c, m in said if c.closed is None]
    if usable:
        return max(usable, key=lambda cm: cm[1].overall)
    if said:
        raise ConsentError(str(said[0][0].closed))
    best = max((m for _, m in scored), key=lambda m: m.overall)
    reason = statement_refusal(best, day=day)
    if reason is not None:
        raise ConsentError(reason)
    raise ConsentError(code_refusal(best.code_heard, [c for c, _ in scored]))


def code_refusal(heard: str, issued: Sequence[Candidate]) -> str:
    """Why the code heard (digits, maybe none) backs no grant, given the codes ``issued`` for these terms."""
    said = f"the consent code heard ({heard!r}) does not match" if heard else "no consent code was heard, so none matches"
    if any(c.closed is None for c in issued):
        return (f"{said} any open code for these terms; record the speaker reading the statement "
                f"`voiceguard consent template` printed, its code included")
    return f"{said} any open code, and none is open for these terms: {TEMPLATE_FIX}"
