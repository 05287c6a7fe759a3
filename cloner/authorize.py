"""May this enrolled voice be cloned for this purpose? Its ledger enrollment, then its speaker's consent.

The consent a voice was enrolled under is read from the signed ``voice.enrolled`` event in the
ledger, not from the voice folder alone: a voice folder with no enrollment record, or whose
model or consent differ from that record, is refused. The consent that covers the clip is then
chosen by :func:`guard.consent.check_enrolled`: the enrolled speaker's own consent, or a
renewal by the same speaker, never another subject's grant or licence for the same voice id.
A voice whose deletion is logged (``voice.deleted``, :func:`cloner.erase.delete_voice`) is refused
whatever is on disk: a folder restored from a backup after the deletion does not bring it back.
:func:`voice_states` tells ``voiceguard voices list`` the same, voice by voice, with the same checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guard.errors import CloneError, ConsentError, ParameterError
from guard.home import Home

if TYPE_CHECKING:
    from guard.ledger.store import Event


def _by_voice(home: Home, kind: str) -> dict[str, list[Event]]:
    """The ledger events of ``kind`` (``voice.enrolled``, ``voice.deleted``) grouped by voice id, each in order."""
    from guard.ledger import open_ledger

    grouped: dict[str, list[Event]] = {}
    with open_ledger(home) as ledger:
        for event in ledger.events(kind):
            grouped.setdefault(str(event.body.get("voice_id")), []).append(event)
    return grouped


def enrollments(home: Home, voice_id: str) -> list[Event]:
    """The ``voice.enrolled`` ledger events of ``voice_id``, in order (a voice id is enrolled once)."""
    return _by_voice(home, "voice.enrolled").get(voice_id, [])


def deletion(home: Home, voice_id: str) -> Event | None:
    """The first ``voice.deleted`` ledger event of ``voice_id``, or None while the voice is not deleted."""
    return _first(_by_voice(home, "voice.deleted"), voice_id)


def _first(grouped: dict[str, list[Event]], voice_id: str) -> Event | None:
    """The first of ``voice_id``'s events in ``grouped`` (:func:`_by_voice`), or None when it has none."""
    return next(iter(grouped.get(voice_id, [])), None)


def _enrollment(home: Home, voice_id: str, events: list[Event], deleted: Event | None, *, model_consent_id: str,
                weights_sha256: str | None) -> Event:
    """``voice_id``'s one ``voice.enrolled`` event among ``events``, checked against the voice on disk and against
    its deletion ``deleted``; see :func:`enrollment_consent`, whose ConsentError it raises."""
    if deleted is not None:
        raise ConsentError(f"voice {voice_id!r} was deleted at {deleted.time.isoformat()} (ledger event {deleted.seq}: "
                           f"{deleted.body.get('reason')}); a deleted voice is never cloned again")
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
    return events[0]


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
    event = _enrollment(home, voice_id, enrollments(home, voice_id), deletion(home, voice_id),
                        model_consent_id=model_consent_id, weights_sha256=weights_sha256)
    return str(event.body["consent_id"])


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


def voice_states(home: Home, voices: list[dict]) -> list[dict]:
    """Each voice summary with ``state`` and ``problems``, plus the voices the ledger enrolled whose folder is gone.

    ``state`` is "ok" (clones work), "deleted" (its ``voice.deleted`` event is logged: clones
    are refused, and a folder of it still on disk should be removed again), "incomplete" (its
    model or kept recordings are missing or changed), "missing" (enrolled in the ledger, no
    folder and no deletion logged), "not-enrolled" (a folder no enrollment record matches: clones
    are refused) or "unreadable" (``voice.json`` missing or corrupt); ``problems`` lists what is
    wrong in short phrases, empty when nothing is. A deleted voice also gets ``deleted_at`` and
    ``deletion_event``. Deletion and enrollment are judged by the checks clones are refused by.

    Parameters
    ----------
    home : Home
    voices : list of dict
        :func:`cloner.voice.list_voices` of ``home``.

    Returns
    -------
    list of dict
        Sorted by voice id; a voice with no folder has the keys of the others, with None for
        what only its ``voice.json`` knew (language, sample rate, speech, format version).
    """
    enrolled, deleted = _by_voice(home, "voice.enrolled"), _by_voice(home, "voice.deleted")
    on_disk = [_state_on_disk(home, v, enrolled.get(v["voice_id"], []), _first(deleted, v["voice_id"]))
               for v in voices]
    listed = {v["voice_id"] for v in voices}
    gone = [_state_gone(home, vid, events[0], _first(deleted, vid)) for vid, events in enrolled.items()
            if vid not in listed]
    return sorted(on_disk + gone, key=lambda v: v["voice_id"])


def _deleted(home: Home, summary: dict, deleted: Event) -> dict:
    """``summary`` of a voice whose deletion is logged, naming its files still on disk."""
    folder = home.voices_dir / summary["voice_id"]
    back = [f"its files are back in {folder} (the audit notes erasure-incomplete): remove them with `voiceguard "
            f"voices delete {summary['voice_id']} --reason TEXT`"] if folder.exists() else []
    return {**summary, "state": "deleted", "problems": back, "deleted_at": deleted.time.isoformat(),
            "deletion_event": deleted.seq}


def _state_on_disk(home: Home, summary: dict, events: list[Event], deleted: Event | None) -> dict:
    """The state of a voice with a folder: deleted, unreadable, not-enrolled, incomplete or ok."""
    from cloner.voice import missing_parts, read_meta, voice_folder

    if deleted is not None:
        return _deleted(home, summary, deleted)
    if "error" in summary:
        return {**summary, "state": "unreadable", "problems": [summary["error"]]}
    try:
        folder = voice_folder(home, summary["voice_id"])
        meta = read_meta(folder)
        event = _enrollment(home, summary["voice_id"], events, None, model_consent_id=str(meta.get("consent_id")),
                            weights_sha256=meta.get("weights_sha256"))
    except (CloneError, ParameterError) as exc:  # changed since it was listed, or an id no folder may have
        return {**summary, "state": "unreadable", "problems": [str(exc)]}
    except ConsentError as exc:
        return {**summary, "state": "not-enrolled", "problems": [str(exc)]}
    problems = missing_parts(folder, meta, recordings=event.body.get("files") or {})
    return {**summary, "state": "incomplete" if problems else "ok", "problems": problems}


def _state_gone(home: Home, voice_id: str, enrolled: Event, deleted: Event | None) -> dict:
    """The state of a voice the ledger enrolled whose folder is gone: deleted, or missing."""
    summary = {"voice_id": voice_id, "consent_id": enrolled.body.get("consent_id"), "language": None,
               "sample_rate": None, "created_at": enrolled.time.isoformat(), "speech_s": None, "format_version": None}
    if deleted is not None:
        return _deleted(home, summary, deleted)
    return {**summary, "state": "missing",
            "problems": [f"its folder {home.voices_dir / voice_id} is gone: restore it from a backup, or log its "
                         f"erasure with `voiceguard voices delete {voice_id} --reason TEXT`"]}
