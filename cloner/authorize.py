"""May this enrolled voice be cloned for this purpose? Its ledger enrollment, then its speaker's consent.

The consent a voice was enrolled under is read from the signed ``voice.enrolled`` event in the
ledger, not from the voice folder alone: a voice folder with no enrollment record, or whose
model or consent differ from that record, is refused. The consent that covers the clip is then
chosen by :func:`guard.consent.check_enrolled`: the enrolled speaker's own consent, or a
renewal by the same speaker, never another subject's grant or licence for the same voice id.
A voice whose deletion is logged (``voice.deleted``, :func:`cloner.erase.delete_voice`) is refused
whatever is on disk: a folder restored from a backup after the deletion does not bring it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guard.errors import ConsentError
from guard.home import Home

if TYPE_CHECKING:
    from guard.ledger.store import Event


def enrollments(home: Home, voice_id: str) -> list[Event]:
    """The ``voice.enrolled`` ledger events of ``voice_id``, in order (a voice id is enrolled once)."""
    from guard.ledger import open_ledger

    with open_ledger(home) as ledger:
        return [e for e in ledger.events("voice.enrolled") if e.body.get("voice_id") == voice_id]


def deletion(home: Home, voice_id: str) -> Event | None:
    """The first ``voice.deleted`` ledger event of ``voice_id``, or None while the voice is not deleted."""
    from guard.ledger import open_ledger

    with open_ledger(home) as ledger:
        return next((e for e in ledger.events("voice.deleted") if e.body.get("voice_id") == voice_id), None)


def enrollment_consent(home: Home, voice_id: str, *, model_consent_id: str, weights_sha256: str | None) -> str:
    """The consent id of ``voice_id``'s one ``voice.enrolled`` event, checked against the voice on disk.

    Parameters
    ----------
    home : Home
    voice_id : str
    model_consent_id : str
        The consent id in the voice folder's ``voice.json``.
    weights_sha256 : str or None
        The SHA-256 of the voice's weights from ``voice.json``.

    Raises
    ------
    ConsentError
        No enrollment record for the voice, more than one, the voice folder does not match it, or
        the voice's deletion is logged.
    """
    deleted = deletion(home, voice_id)
    if deleted is not None:
        raise ConsentError(f"voice {voice_id!r} was deleted at {deleted.time.isoformat()} (ledger event {deleted.seq}: "
                           f"{deleted.body.get('reason')}); a deleted voice is never cloned again")
    events = enrollments(home, voice_id)
    if not events:
        raise ConsentError(f"voice {voice_id!r} has no enrollment record in the ledger of {home.root}; run "
                           f"`voiceguard audit`, and enroll the voice again under a valid consent")
    if len(events) > 1:  # enroll refuses this; the audit judges clips by the first
        raise ConsentError(f"voice {voice_id!r} has {len(events)} enrollment records in the ledger (events "
                           f"{', '.join(str(e.seq) for e in events)}), and a voice id is enrolled once; run `voiceguard audit`")
    body = events[0].body
    if body.get("consent_id") != model_consent_id or (weights_sha256 is not None
                                                      and body.get("model_sha256") != weights_sha256):
        raise ConsentError(f"the voice folder of {voice_id!r} does not match its enrollment record (event "
                           f"{events[0].seq}: consent {body.get('consent_id')}); run `voiceguard audit`")
    return str(body["consent_id"])


def authorize(home: Home, voice_id: str, purpose: str, *, model_consent_id: str, weights_sha256: str | None):  # noqa: ANN201
    """The consent that covers a clone of ``voice_id`` for ``purpose`` now; ConsentError when none does.

    Returns
    -------
    guard.consent.Consent
    """
    from guard import consent

    enrolled_under = enrollment_consent(home, voice_id, model_consent_id=model_consent_id,
                                        weights_sha256=weights_sha256)
    return consent.check_enrolled(home, voice_id, purpose, enrolled_under=enrolled_under)


def consent_states(home: Home, voices: list[dict]) -> list[dict]:
    """Each voice summary with ``consent_status``: its enrollment consent's status now ("renewed" when
    it expired and the speaker's own renewal is valid; "unknown" when the consent is not in the home)."""
    from guard import consent

    records = {c.consent_id: c for c in consent.list_consents(home)}

    def status(consent_id: object) -> str:
        base = records.get(str(consent_id))
        if base is None:
            return "unknown"
        now = base.status()
        if now == "expired" and any(c.status() == "valid" and consent.renews(c, base) for c in records.values()):
            return "renewed"  # the speaker's own renewal covers clones now
        return now

    return [{**v, "consent_status": status(v.get("consent_id"))} if "error" not in v else v for v in voices]
