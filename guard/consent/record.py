"""The consent record: its fields, its status at a time, and the bytes its signature covers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from guard.errors import ConsentError, ParameterError

PURPOSES: tuple[str, ...] = ("audiobook", "accessibility", "dubbing", "assistant", "game", "research",
                             "detector-training")
LICENSE_PURPOSES: tuple[str, ...] = ("research", "detector-training")
STATUSES: tuple[str, ...] = ("valid", "expired", "revoked", "not-yet-valid")
VOICE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
CONSENT_DOMAIN = b"voiceguard consent v1\n"
# The furthest a consent may run: a speaker's agreement should be renewed, not granted for life
# (and a far date such as 9999-12-31 has no end instant a datetime can hold).
MAX_EXPIRY_YEARS = 10


def check_voice_id(voice_id: object) -> str:
    """Return ``voice_id`` if it matches ``[a-z0-9][a-z0-9_-]{0,63}``, else raise ConsentError."""
    if not isinstance(voice_id, str) or not VOICE_ID.fullmatch(voice_id):
        raise ConsentError(f"voice id must match [a-z0-9][a-z0-9_-]{{0,63}} (lower-case letters, digits, '_', '-'), "
                           f"given {voice_id!r}")
    return voice_id


def check_purposes(purposes: object) -> tuple[str, ...]:
    """Purposes as a sorted, de-duplicated tuple from :data:`PURPOSES`, or ConsentError."""
    if isinstance(purposes, str) or not hasattr(purposes, "__iter__"):
        raise ConsentError(f"purposes must be a list of names from {', '.join(PURPOSES)}; given {purposes!r}")
    items = tuple(purposes)  # type: ignore[arg-type]
    if not items:
        raise ConsentError(f"at least one purpose is needed, from {', '.join(PURPOSES)}")
    unknown = [p for p in items if p not in PURPOSES]
    if unknown:
        raise ConsentError(f"unknown purpose(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(PURPOSES)}")
    return tuple(p for p in PURPOSES if p in items)


def as_date(value: object, *, name: str = "expires") -> date:
    """A date from a ``date`` or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                raise ParameterError(f"{name}={value!r} is not a date that exists ({exc})") from None
    raise ParameterError(f"{name} must be a date YYYY-MM-DD, given {name}={value!r}")


MAX_NAME_CHARS = 200  # a subject, operator, language or reason, spaces collapsed


def one_line(value: object, name: str) -> str:
    """``value`` as one line (spaces collapsed), 1 to :data:`MAX_NAME_CHARS` characters; else ConsentError naming ``name``."""
    if not isinstance(value, str) or not value.strip():
        raise ConsentError(f"{name} must be a non-empty text, given {value!r}")
    text = " ".join(value.split())
    if len(text) > MAX_NAME_CHARS:
        raise ConsentError(f"{name} is {len(text)} characters long; at most {MAX_NAME_CHARS}")
    return text


# A language tag as a consent names it: a primary subtag of 2-3 letters (``en``, ``cmn``), then optional
# subtags of 2-8 letters or digits (``en-gb``, ``sr-latn``), lowercased.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
LANGUAGE_FIX = "give one tag per option, such as --language en or --language en-gb (repeat the option for more)"


def check_languages(languages: object) -> tuple[str, ...]:
    """The language tags of ``languages`` (one tag or a sequence), lowercased, each once, in the order given.

    Parameters
    ----------
    languages : str or sequence of str
        Tags matching :data:`LANGUAGE_TAG` once lowercased (``en``, ``en-GB``); spaces around a tag are dropped.

    Raises
    ------
    ConsentError
        None given, or one that is not a language tag (``english``, ``en,ru``, ``en us``, ``de+f2``): one
        line naming it and giving an example.
    """
    given = [languages] if isinstance(languages, str) else languages
    if not isinstance(given, (list, tuple)) or not given:
        raise ConsentError(f"at least one language is needed: {LANGUAGE_FIX}")
    tags: list[str] = []
    for value in given:
        tag = value.strip().lower() if isinstance(value, str) else value
        if not isinstance(tag, str) or not LANGUAGE_TAG.fullmatch(tag):
            raise ConsentError(f"language {value!r} is not a language tag (2-3 letters, then optional -subtags of "
                               f"2-8 letters or digits); {LANGUAGE_FIX}")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def language_tag(language: object) -> str:
    """``language`` as compared: spaces around it dropped, lowercased, ``_`` read as ``-``."""
    return str(language).strip().lower().replace("_", "-")


def language_covered(language: str, languages: Iterable[str]) -> bool:
    """Whether a consent naming ``languages`` covers a voice speaking ``language``.

    A consent's tag covers the language that equals it or that it prefixes at a ``-`` (case
    aside): consent ``en`` covers ``en``, ``en-us`` and ``en-gb``; consent ``en-us`` covers
    ``en-us`` only, not ``en-gb`` nor ``en``. Enrollment and clone refuse what the audit fails here
    (``consent-scope``).

    Examples
    --------
    >>> language_covered("en-US", ["en"]), language_covered("en-gb", ["en-us"]), language_covered("de", ["en", "fr"])
    (True, False, False)
    """
    spoken = language_tag(language)
    return any(spoken == tag or spoken.startswith(tag + "-") for tag in map(language_tag, languages))


def name_key(text: str) -> str:
    """A subject's or operator's name as compared: spaces collapsed, case folded."""
    return " ".join(text.split()).casefold()


def latest_expiry(today: date) -> date:
    """The furthest expiry a consent granted on ``today`` may have: :data:`MAX_EXPIRY_YEARS` years on.

    Examples
    --------
    >>> latest_expiry(date(2028, 2, 29))
    datetime.date(2038, 2, 28)
    """
    try:
        return today.replace(year=today.year + MAX_EXPIRY_YEARS)
    except ValueError:  # 29 February, and the year 10 years on is not a leap year
        return today.replace(year=today.year + MAX_EXPIRY_YEARS, day=28)


def check_expiry(day: date, *, today: date) -> date:
    """``day`` if it is ``today`` or later and at most :func:`latest_expiry` of ``today``, else ConsentError naming the limit."""
    if day < today:
        raise ConsentError(f"expires={day.isoformat()} is in the past: a consent would already be expired")
    last = latest_expiry(today)
    if day > last:
        raise ConsentError(f"expires={day.isoformat()} is more than {MAX_EXPIRY_YEARS} years ahead; the latest "
                           f"allowed is {last.isoformat()} (renew the consent before it runs out)")
    return day


def as_utc(at: datetime | None) -> datetime:
    """``at`` as an aware UTC time (naive times are taken as UTC); now when None."""
    if at is None:
        return datetime.now(timezone.utc)
    if not isinstance(at, datetime):
        raise ParameterError(f"at must be a datetime, given {at!r}")
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in UTC: a consent that expires on ``day`` is valid through it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)


@dataclass(frozen=True)
class Consent:
    """A signed consent record; revocation is a separate ledger event, reflected in ``revoked_at``."""

    consent_id: str
    voice_id: str
    subject: str
    operator: str
    purposes: tuple[str, ...]
    languages: tuple[str, ...]
    valid_from: datetime
    expires_at: datetime
    evidence: dict[str, Any]
    created_at: datetime
    signature: str = ""
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    @property
    def last_day(self) -> date:
        """The last day (UTC) on which the consent is valid: the ``expires`` date of the grant."""
        return (self.expires_at - timedelta(microseconds=1)).date()

    def status(self, at: datetime | None = None) -> str:
        """``"valid"``, ``"expired"``, ``"revoked"`` or ``"not-yet-valid"`` at ``at`` (default: now)."""
        t = as_utc(at)
        if self.revoked_at is not None and t >= self.revoked_at:
            return "revoked"
        if t < self.valid_from:
            return "not-yet-valid"
        if t >= self.expires_at:
            return "expired"
        return "valid"

    def signed_fields(self) -> dict[str, Any]:
        """What the signature covers: every field but the signature and the revocation."""
        return {"consent_id": self.consent_id, "voice_id": self.voice_id, "subject": self.subject,
                "operator": self.operator, "purposes": list(self.purposes), "languages": list(self.languages),
                "valid_from": self.valid_from.isoformat(), "expires_at": self.expires_at.isoformat(),
                "evidence": self.evidence, "created_at": self.created_at.isoformat()}

    def message(self) -> bytes:
        """The bytes the Ed25519 signature covers."""
        from guard.ledger.canon import canonical_json

        return CONSENT_DOMAIN + canonical_json(self.signed_fields()).encode()

    def to_dict(self) -> dict[str, Any]:
        d = self.signed_fields()
        d["signature"] = self.signature
        d["expires"] = self.last_day.isoformat()
        d["status"] = self.status()
        d["revoked_at"] = None if self.revoked_at is None else self.revoked_at.isoformat()
        d["revoke_reason"] = self.revoke_reason
        return d

    def with_revocation(self, at: datetime, reason: str) -> Consent:
        return replace(self, revoked_at=at, revoke_reason=reason)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Consent:
        """Rebuild a record from a ``consent.granted`` event body (revocation not included)."""
        try:
            return cls(
                consent_id=str(d["consent_id"]), voice_id=str(d["voice_id"]), subject=str(d["subject"]),
                operator=str(d["operator"]), purposes=tuple(d["purposes"]), languages=tuple(d["languages"]),
                valid_from=as_utc(datetime.fromisoformat(d["valid_from"])),
                expires_at=as_utc(datetime.fromisoformat(d["expires_at"])),
                evidence=dict(d["evidence"]), created_at=as_utc(datetime.fromisoformat(d["created_at"])),
                signature=str(d.get("signature", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConsentError(f"malformed consent record ({type(exc).__name__}: {exc})") from None
