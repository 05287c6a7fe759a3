"""One-time consent codes: a spoken statement shows that its recording was made for this grant.

``voiceguard consent template`` (:func:`issue_statement`) draws a fresh code of
:data:`~guard.consent.template.CODE_DIGITS` random digits and logs it as a ``consent.challenge``
event, ``{challenge_id, code, terms_sha256, valid_until}``: the SHA-256 of the terms the
statement names (:func:`terms_sha256`) and the end of its :data:`VALID_DAYS` days. The
statement ends with the code, read digit by digit. A spoken grant accepts a recording only when
it says the statement with the code of a challenge of its home issued for exactly the grant's
terms, not expired at the grant and cited by no other consent (:func:`candidates` lists them):
old recordings of the speaker saying the same words, cut and rejoined, do not hold a code drawn
after they were made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from guard.consent.record import Consent, as_date, as_utc, check_expiry, check_purposes, one_line
from guard.consent.template import CODE_DIGITS, check_code, spoken_names, statement_text
from guard.errors import ConsentError
from guard.home import Home

__all__ = ["VALID_DAYS", "Challenge", "Candidate", "IssuedStatement", "terms_sha256", "body_problem", "event_problem",
           "issue_statement", "template", "challenges", "candidates"]

# How long a code may wait between `consent template` and `consent grant`: long enough to book a
# recording session, short enough that a code cannot be kept for years beside old recordings.
VALID_DAYS = 14
CHALLENGE_ID = re.compile(r"challenge-[0-9a-f]{16}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
TEMPLATE_FIX = "run `voiceguard consent template` with the same terms, and record the speaker reading it"


def terms_sha256(*, subject: str, operator: str, purposes: Sequence[str], expires: date | str) -> str:
    """SHA-256 (hex) of the terms a statement names: subject, operator (spaces collapsed), purposes, expiry.

    Examples
    --------
    >>> a = terms_sha256(subject="Ada  Lovelace", operator="Studio", purposes=["research", "audiobook"],
    ...                  expires="2027-01-01")
    >>> a == terms_sha256(subject="Ada Lovelace", operator="Studio", purposes=["audiobook", "research"],
    ...                   expires="2027-01-01")
    True
    """
    from guard.ledger.canon import canonical_json

    terms = {"subject": one_line(subject, "subject"), "operator": one_line(operator, "operator"),
             "purposes": list(check_purposes(purposes)), "expires": as_date(expires).isoformat()}
    return hashlib.sha256(canonical_json(terms).encode()).hexdigest()


def body_problem(body: Mapping[str, Any]) -> str | None:
    """What makes a ``consent.challenge`` event body malformed, or None when it is well-formed."""
    cid = body.get("challenge_id")
    if not isinstance(cid, str) or not CHALLENGE_ID.fullmatch(cid):
        return f"challenge_id {cid!r} is not 'challenge-' and 16 lower-case hex digits"
    try:
        check_code(body.get("code"))
    except ConsentError as exc:
        return str(exc)
    digest = body.get("terms_sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        return f"terms_sha256 {digest!r} is not 64 lower-case hex digits"
    until = body.get("valid_until")
    try:
        as_utc(datetime.fromisoformat(until))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"valid_until {until!r} is not an ISO 8601 time"
    return None


def event_problem(body: Mapping[str, Any], issued_at: datetime) -> str | None:
    """What makes a ``consent.challenge`` event logged at ``issued_at`` malformed (:func:`body_problem`, or valid for
    longer than :data:`VALID_DAYS` days), or None."""
    problem = body_problem(body)
    if problem is not None:
        return problem
    until = as_utc(datetime.fromisoformat(str(body["valid_until"])))
    if until > as_utc(issued_at) + timedelta(days=VALID_DAYS):
        return (f"valid_until {until.isoformat()} is more than {VALID_DAYS} days after the code was issued "
                f"({as_utc(issued_at).isoformat()})")
    return None


@dataclass(frozen=True)
class Challenge:
    """A one-time consent code as logged: its id, digits, the terms it was issued for, its validity."""

    challenge_id: str
    code: str
    terms_sha256: str
    issued_at: datetime
    valid_until: datetime

    def body(self) -> dict[str, str]:
        """The ``consent.challenge`` event body (the issue time is the event's own)."""
        return {"challenge_id": self.challenge_id, "code": self.code, "terms_sha256": self.terms_sha256,
                "valid_until": self.valid_until.isoformat()}

    @classmethod
    def draft(cls, *, code: str, terms_sha256: str, now: datetime) -> Challenge:
        """A new challenge for ``code`` issued at ``now`` (a fresh id; valid :data:`VALID_DAYS` days), not yet logged."""
        now = as_utc(now)
        return cls(f"challenge-{secrets.token_hex(8)}", check_code(code), terms_sha256, now,
                   (now + timedelta(days=VALID_DAYS)).replace(microsecond=0))

    def expired(self, at: datetime) -> bool:
        """Whether the code can no longer back a grant made at ``at``."""
        return as_utc(at) > self.valid_until

    @classmethod
    def from_event(cls, body: Mapping[str, Any], issued_at: datetime) -> Challenge:
        """Rebuild a challenge from its event; ConsentError naming what is wrong with a malformed body."""
        problem = body_problem(body)
        if problem is not None:
            raise ConsentError(f"malformed consent.challenge event: {problem}")
        return cls(str(body["challenge_id"]), str(body["code"]), str(body["terms_sha256"]), as_utc(issued_at),
                   as_utc(datetime.fromisoformat(str(body["valid_until"]))))


@dataclass(frozen=True)
class IssuedStatement:
    """What ``voiceguard consent template`` gives: the statement to read and the code's challenge."""

    statement: str
    challenge: Challenge

    def to_dict(self) -> dict[str, str]:
        """The keys of ``consent template --json``."""
        return {"statement": self.statement, "challenge_id": self.challenge.challenge_id,
                "code": self.challenge.code, "valid_until": self.challenge.valid_until.isoformat()}


def issue_statement(home: Home, *, subject: str, operator: str, purposes: Sequence[str],
                    expires: date | str) -> IssuedStatement:
    """Draw a one-time code for these terms, log it as ``consent.challenge``, and give the statement with it.

    Parameters
    ----------
    home : Home
        The home whose ``consent grant`` will accept the code.
    subject, operator : str
    purposes : sequence of str
        From :data:`guard.consent.PURPOSES`.
    expires : date or "YYYY-MM-DD"
        Today or later, at most :data:`guard.consent.MAX_EXPIRY_YEARS` years ahead.

    Raises
    ------
    ConsentError
        A blank or over-long name, or one the statement check cannot hear (a word not in Latin
        letters: :func:`guard.consent.template.spoken_name`), an unknown purpose, an expiry in the past
        or too far ahead. Nothing is logged.
    """
    from guard import ledger

    now = datetime.now(timezone.utc)
    day = check_expiry(as_date(expires), today=now.date())
    spoken_names(subject=subject, operator=operator)  # before a code is drawn for terms no recording could back
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    text = statement_text(subject=subject, operator=operator, purposes=purposes, expires=day, code=code)
    digest = terms_sha256(subject=subject, operator=operator, purposes=purposes, expires=day)
    draft = Challenge.draft(code=code, terms_sha256=digest, now=now)
    event = ledger.append(home, "consent.challenge", draft.body())
    return IssuedStatement(text, Challenge.from_event(draft.body(), event.time))


def template(home: Home, *, subject: str, operator: str, purposes: Sequence[str], expires: date | str) -> str:
    """The statement the subject reads for a spoken consent, with a fresh one-time code issued in ``home``.

    Each call logs a new code (:func:`issue_statement`, which also gives its id and validity).

    Examples
    --------
    >>> template(home, subject="Ada Lovelace", operator="Example Studio", purposes=["audiobook"],
    ...          expires="2027-01-01")  # doctest: +SKIP
    'I, Ada Lovelace, agree that ... I can withdraw this consent at any time. My consent code is four seven one nine two six.'
    """
    return issue_statement(home, subject=subject, operator=operator, purposes=purposes, expires=expires).statement


def challenges(home: Home) -> list[Challenge]:
    """Every well-formed consent code of ``home``'s ledger, oldest first (the audit reports malformed ones:
    :func:`event_problem`)."""
    from guard.ledger import Ledger

    found = []
    with Ledger(home) as led:
        for event in led.verified_events():
            if event.kind == "consent.challenge" and event_problem(event.body, event.time) is None:
                found.append(Challenge.from_event(event.body, event.time))
    return found


@dataclass(frozen=True)
class Candidate:
    """A code issued for a grant's terms, and why it can no longer back a grant (None: it can)."""

    challenge: Challenge
    statement: str
    closed: str | None


def _users(consents: Iterable[Consent]) -> dict[str, str]:
    """Challenge id -> the first consent whose evidence cites it."""
    users: dict[str, str] = {}
    for c in consents:
        cid = c.evidence.get("challenge_id")
        if isinstance(cid, str):
            users.setdefault(cid, c.consent_id)
    return users


def closed_reason(challenge: Challenge, *, at: datetime, consents: Iterable[Consent]) -> str | None:
    """Why ``challenge`` cannot back a grant made at ``at`` (already cited by one of ``consents``, or expired), or None."""
    user = _users(consents).get(challenge.challenge_id)
    if user is not None:
        return (f"consent code {challenge.challenge_id} was already used by consent {user}; a code backs one "
                f"consent: {TEMPLATE_FIX}")
    if challenge.expired(at):
        return (f"consent code {challenge.challenge_id} expired at {challenge.valid_until.isoformat()} "
                f"({VALID_DAYS} days after it was issued): {TEMPLATE_FIX}")
    return None


def candidates(home: Home, *, subject: str, operator: str, purposes: Sequence[str], expires: date, at: datetime,
               consents: Sequence[Consent]) -> list[Candidate]:
    """The codes of ``home`` issued for exactly these terms, oldest first, each with its statement and state.

    Parameters
    ----------
    at : datetime
        The time of the grant: a code expired by then is closed.
    consents : sequence of Consent
        The home's consents: a code one of them cites is closed.
    """
    digest = terms_sha256(subject=subject, operator=operator, purposes=purposes, expires=expires)
    return [Candidate(c, statement_text(subject=subject, operator=operator, purposes=purposes, expires=expires,
                                        code=c.code), closed_reason(c, at=at, consents=consents))
            for c in challenges(home) if c.terms_sha256 == digest]
