"""The audit's checks of one-time consent codes: ``consent.challenge`` events and the spoken consents citing them.

A challenge (a code issued by ``voiceguard consent template``) is counted (``challenges``); a
body without a well-formed id, code, terms digest or validity, one valid for longer than
:data:`guard.consent.challenge.VALID_DAYS` days after its event, or an id issued twice is
``malformed-event``. A consent with statement evidence that cites a ``challenge_id`` must cite
one issued before it, for the same terms (the SHA-256 recomputed from the consent's subject,
operator, purposes and expiry), not expired when the consent was created and cited by no
earlier consent: else ``bad-challenge``. A statement consent that cites none (granted before
consent codes existed) is noted, ``no-challenge``: nothing shows that its recording was made
for that grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from guard.consent.challenge import Challenge, event_problem, terms_sha256
from guard.consent.record import Consent
from guard.errors import GuardError
from guard.ledger.report import AuditReport

__all__ = ["ChallengeLog", "check_challenge", "check_citation"]


@dataclass
class ChallengeLog:
    """The codes met so far: ``issued`` maps a challenge id to its challenge and "event N"; ``cited`` maps it to the
    first consent that cites it."""

    issued: dict[str, tuple[Challenge, str]] = field(default_factory=dict)
    cited: dict[str, str] = field(default_factory=dict)


def check_challenge(report: AuditReport, ident: str, body: dict[str, Any], t: datetime, log: ChallengeLog) -> None:
    """A ``consent.challenge`` event logged at ``t``: well-formed, valid no longer than its days, its id new."""
    report.checked["challenges"] += 1
    cid = body.get("challenge_id")
    what = f"{ident} (consent.challenge {cid})"
    problem = event_problem(body, t)
    if problem is None and cid in log.issued:
        problem = f"challenge {cid} was already issued ({log.issued[str(cid)][1]})"
    if problem is not None:
        report.fail("malformed-event", what, problem)
        return
    log.issued[str(cid)] = (Challenge.from_event(body, t), ident)


def check_citation(report: AuditReport, what: str, record: Consent, log: ChallengeLog) -> None:
    """A verified consent: with statement evidence, the code it cites (``bad-challenge``), or a note that it cites none."""
    if record.evidence.get("kind") != "statement":
        return
    cid = record.evidence.get("challenge_id")
    if cid is None:
        report.note("no-challenge", what, f"spoken consent {record.consent_id} cites no one-time consent code (granted "
                                          f"before codes existed): nothing shows its recording was made for this grant")
        return
    problem = _citation_problem(record, cid, log)
    if problem is not None:
        report.fail("bad-challenge", what, problem)
    if isinstance(cid, str):
        log.cited.setdefault(cid, record.consent_id)


def _same_terms(record: Consent, challenge: Challenge) -> bool:
    try:
        digest = terms_sha256(subject=record.subject, operator=record.operator, purposes=record.purposes,
                              expires=record.last_day)
    except GuardError:  # terms no statement could name (an unknown purpose): not the code's
        return False
    return digest == challenge.terms_sha256


def _citation_problem(record: Consent, cid: object, log: ChallengeLog) -> str | None:
    """Why consent ``record`` may not cite challenge ``cid``, or None when it may."""
    found = log.issued.get(cid) if isinstance(cid, str) else None
    if found is None:
        return f"cites consent code {cid!r}, which was not issued before it"
    challenge, issued = found
    if not _same_terms(record, challenge):
        return (f"cites consent code {cid} ({issued}), issued for other terms (subject, operator, purposes or expiry) "
                f"than this consent's")
    if challenge.expired(record.created_at):
        return (f"was granted at {record.created_at.isoformat()}, after consent code {cid} ({issued}) expired at "
                f"{challenge.valid_until.isoformat()}")
    user = log.cited.get(cid)
    if user is not None and user != record.consent_id:  # the same consent granted twice is duplicate-consent
        return f"cites consent code {cid} ({issued}), already used by consent {user}"
    return None
