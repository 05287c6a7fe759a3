"""May this enrolled voice be cloned for this purpose? Its ledger enrollment, then its speaker's consent.

The consent a voice was enrolled under is read from the signed ``voice.enrolled`` event in the
ledger, not from the voice folder alone: a voice folder with no enrollment record, or whose
model or consent differ from that record, is refused. The consent that covers the clip is then
chosen by :func:`guard.consent.check_enrolled`: the enrolled speaker's own consent, or a
renewal by the same speaker, never another subject's grant or licence for the same voice id.
A voice whose deletion is logged (``voice.deleted``, :func:`cloner.erase.delete_voice`) is refused
whatever is on disk: a folder restored from a backup after the deletion does not bring it back.
:func:`voice_states` tells ``voiceguard voices list`` the same, voice by voice, with the same checks
(:func:`consent_refusal` puts each purpose to the consent check clone makes). A voice is cloned
only in a language its consent names (:func:`uncovered_language`): the language its ``voice.json``
speaks must be the one its enrollment logged, and among the covering consent's languages. A
clone of a voice with no folder is refused with :func:`absent_voice`'s reason: deleted, a deletion stopped before
it was logged (its hidden folder named), a folder gone, or an id the ledger never enrolled
(:func:`unknown_voice` lists the voices it did).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from guard.errors import CloneError, ConsentError, ParameterError
from guard.home import Home
from guard.ledger.files import interrupted_deletion_advice, interrupted_deletions, voice_leftovers

if TYPE_CHECKING:
    from guard.consent import Consent
    from guard.ledger.events import Event


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
                weights_sha256: str | None, language: str | None = None) -> Event:
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
    _check_logged_language(voice_id, events[0], language)
    return events[0]


def _check_logged_language(voice_id: str, event: Event, language: str | None) -> None:
    """ConsentError when the voice folder speaks another language than its enrollment ``event`` logged (an edited
    ``voice.json``); nothing to compare when either is unknown (enrollments logged before events named it)."""
    from cloner.tts import voice_language

    logged = event.body.get("language")
    if language is None or logged is None or voice_language(language) == logged:
        return
    raise ConsentError(f"the voice folder of {voice_id!r} speaks {voice_language(language)}, but its enrollment "
                       f"record (event {event.seq}) logged {logged}; run `voiceguard audit` (it fails it, "
                       f"voice-changed), restore its voice.json from a backup, or enroll the voice again to change "
                       f"its language")


def enrollment_consent(home: Home, voice_id: str, *, model_consent_id: str, weights_sha256: str | None,
                       language: str | None = None) -> str:
    """The consent id of ``voice_id``'s one ``voice.enrolled`` event, checked against the voice on disk.

    Parameters
    ----------
    home : Home
    voice_id : str
    model_consent_id : str
        The consent id in the voice folder's ``voice.json``.
    weights_sha256 : str or None
        The SHA-256 of the voice's weights from ``voice.json``.
    language : str, optional
        The espeak-ng voice of ``voice.json`` (``en-us``); its language must be the one the
        enrollment logged, where it logged one.

    Raises
    ------
    ConsentError
        No enrollment record for the voice, more than one, the voice folder does not match it, or
        the voice's deletion is logged.
    """
    event = _enrollment(home, voice_id, enrollments(home, voice_id), deletion(home, voice_id),
                        model_consent_id=model_consent_id, weights_sha256=weights_sha256, language=language)
    return str(event.body["consent_id"])


def uncovered_language(record: Consent, language: str) -> str | None:
    """The language tag of espeak-ng voice ``language`` (``en-us`` for ``en-us+f3``) when consent ``record`` does
    not name it (:func:`guard.consent.record.language_covered`: consent ``en`` covers ``en-us`` and ``en-gb``);
    None when it does."""
    from cloner.tts import voice_language
    from guard.consent.record import language_covered

    tag = voice_language(language)
    return None if language_covered(tag, record.languages) else tag


def _check_language(record: Consent, voice_id: str, language: str | None) -> Consent:
    """``record`` (the consent chosen for a clone) when it names the voice's ``language`` (or none is known)."""
    tag = None if language is None else uncovered_language(record, language)
    if tag is None:
        return record
    raise ConsentError(f"voice {voice_id!r} speaks {tag}, a language consent {record.consent_id} does not cover (its "
                       f"speaker consented to be cloned in {', '.join(record.languages)}); a voice is cloned only in "
                       f"a language its speaker consented to: enroll the speaker again under a consent that names it")


def _allowed(home: Home, voice_id: str, purpose: str, *, enrolled_under: str, language: str | None) -> Consent:
    """The consent that covers a clone of the voice for ``purpose`` and in ``language`` now; ConsentError if none."""
    from guard import consent

    record = consent.check_enrolled(home, voice_id, purpose, enrolled_under=enrolled_under)
    return _check_language(record, voice_id, language)


def authorize(home: Home, voice_id: str, purpose: str, *, model_consent_id: str, weights_sha256: str | None,  # noqa: ANN201
              language: str | None = None):
    """The consent that covers a clone of ``voice_id`` for ``purpose`` now; ConsentError when none does.

    Parameters
    ----------
    home : Home
    voice_id : str
    purpose : str
    model_consent_id, weights_sha256 : str
        As :func:`enrollment_consent` takes them, from ``voice.json``.
    language : str, optional
        The espeak-ng voice of ``voice.json``: it must speak the language the enrollment logged,
        one the covering consent names.

    Returns
    -------
    guard.consent.Consent
    """
    enrolled_under = enrollment_consent(home, voice_id, model_consent_id=model_consent_id,
                                        weights_sha256=weights_sha256, language=language)
    return _allowed(home, voice_id, purpose, enrolled_under=enrolled_under, language=language)


def enrolled_voices(home: Home) -> list[str]:
    """The ids of the voices this home's ledger enrolled and did not delete, sorted."""
    deleted = _by_voice(home, "voice.deleted")
    return sorted(vid for vid in _by_voice(home, "voice.enrolled") if vid not in deleted)


def unknown_voice(home: Home, voice_id: str) -> str:
    """``unknown voice 'x' (enrolled: amy, bea)``: what to say of a voice id the ledger never enrolled.

    Only the voices the ledger enrolled (and did not delete) are listed, never a folder that
    merely sits in ``voices/``.
    """
    return f"unknown voice {voice_id!r} (enrolled: {', '.join(enrolled_voices(home)) or 'none'})"


def absent_voice(home: Home, voice_id: str) -> str:
    """Why a clone of ``voice_id``, whose folder holds no ``voice.json``, is refused, with what to do.

    Its deletion is logged; or it is enrolled and a deletion stopped before it was logged left
    its files in a hidden folder (:func:`guard.ledger.files.interrupted_deletions`: finish the
    deletion or rename the folder back); or it is enrolled and its folder is gone (restore it,
    or log its erasure); or the ledger never enrolled it (:func:`unknown_voice`).

    Parameters
    ----------
    home : Home
    voice_id : str
        A well-formed voice id (:func:`cloner.voice.check_voice_id`).

    Returns
    -------
    str
        One line, without "clone refused: ".
    """
    deleted = deletion(home, voice_id)
    if deleted is not None:
        return (f"voice {voice_id!r} was deleted at {deleted.time.isoformat()} (ledger event {deleted.seq}); a "
                f"deleted voice is never cloned again")
    if not enrollments(home, voice_id):
        return unknown_voice(home, voice_id)
    folder = home.voices_dir / voice_id
    asides = interrupted_deletions(home, voice_id)
    if asides:
        return (f"voice {voice_id!r} is enrolled in the ledger but its model is not in {folder}: "
                f"{interrupted_deletion_advice(home, voice_id, asides)}")
    return (f"voice {voice_id!r} is enrolled in the ledger but its model is missing from {folder}; restore the "
            f"folder from a backup, or log its erasure with `voiceguard voices delete {voice_id} --reason TEXT`")


def consent_refusal(home: Home, voice_id: str, *, enrolled_under: str, first: Iterable[str] = (),
                    language: str | None = None) -> str | None:
    """Why clone's consent check refuses ``voice_id`` for every purpose now; None when it allows one.

    Each purpose is put to the check :func:`authorize` makes (:func:`guard.consent.check_enrolled`,
    then the voice's language against the covering consent's), ``first`` (the enrollment
    consent's purposes) before the others; a voice that is refused costs one check per purpose.

    Parameters
    ----------
    home : Home
    voice_id : str
    enrolled_under : str
        The consent id of the voice's ``voice.enrolled`` event.
    first : iterable of str
        Purposes to try first; the refusal returned is that of the first purpose tried.
    language : str, optional
        The espeak-ng voice of the voice's ``voice.json``; not checked when None.

    Returns
    -------
    str or None
        The first refusal's message, or None when a clone for some purpose would be allowed.
    """
    from guard.consent.record import PURPOSES

    first = [p for p in first if p in PURPOSES]
    refusal = None
    for purpose in first + [p for p in PURPOSES if p not in first]:
        try:
            _allowed(home, voice_id, purpose, enrolled_under=enrolled_under, language=language)
        except ConsentError as exc:
            refusal = refusal or str(exc)
            continue
        return None
    return refusal


def _consent_status(records: dict, consent_id: object) -> str | None:
    """The status of consent ``consent_id`` among ``records`` (id -> Consent) now: "renewed" when it expired and a
    renewal by its speaker is valid, "unknown" when the home lacks it, None when no consent id is known."""
    from guard import consent

    if consent_id is None:
        return None
    base = records.get(str(consent_id))
    if base is None:
        return "unknown"
    now = base.status()
    if now == "expired" and any(c.status() == "valid" and consent.renews(c, base) for c in records.values()):
        return "renewed"  # the speaker's own renewal covers clones now
    return now


def consent_states(home: Home, voices: list[dict]) -> list[dict]:
    """Each voice summary with ``consent_status``: its enrollment consent's status now ("renewed" when it expired
    and the speaker's own renewal is valid; "unknown" when the consent is not in the home; None when the voice has
    no known consent id)."""
    from guard import consent

    records = {c.consent_id: c for c in consent.list_consents(home)}
    return [{**v, "consent_status": _consent_status(records, v.get("consent_id"))} for v in voices]


# Every key of a voice of `voiceguard voices list --json`, in order; each is present for every voice (None when
# unknown): what its voice.json says, its state, its enrollment consent's status, its deletion, its folder's error.
VOICE_KEYS = ("voice_id", "consent_id", "language", "sample_rate", "created_at", "speech_s", "format_version",
              "state", "problems", "consent_status", "deleted_at", "deletion_event", "error")
# Consent statuses that name a refused voice's state (consent-revoked, ...); a refusal under a valid or renewed
# consent (its statement recording missing or changed) is "consent-refused".
REFUSING_STATUSES = ("revoked", "expired", "not-yet-valid", "unknown")


def voice_states(home: Home, voices: list[dict]) -> list[dict]:
    """Each voice with ``state``, ``problems`` and ``consent_status``, plus the voices the ledger enrolled whose
    folder is gone.

    ``state`` is "ok" (clones work), "deleted" (its ``voice.deleted`` event is logged: clones
    are refused, and files of it still on disk, its folder or a hidden one, are named, to be
    removed again), "consent-revoked", "consent-expired", "consent-not-yet-valid",
    "consent-unknown" or "consent-refused" (clone's consent check, :func:`consent_refusal`,
    refuses every purpose), "incomplete" (its model or kept recordings are missing or changed),
    "deletion-interrupted" (its folder was moved aside by a deletion stopped before it was
    logged: finish it, or rename the folder back), "missing" (enrolled in the ledger, no folder
    and no deletion logged), "not-enrolled" (a folder no enrollment record matches: clones are
    refused) or "unreadable" (``voice.json`` missing or corrupt). ``problems`` lists what is
    wrong in short phrases, empty when nothing is. Deletion, enrollment and consent are judged
    by the checks clones are refused by, in the order clone makes them.

    Parameters
    ----------
    home : Home
    voices : list of dict
        :func:`cloner.voice.list_voices` of ``home``.

    Returns
    -------
    list of dict
        Sorted by voice id, each with every key of :data:`VOICE_KEYS`, None for what is not
        known (a voice with no readable ``voice.json`` has its consent id and enrollment time
        from the ledger when it is enrolled there).
    """
    from guard import consent

    enrolled, deleted = _by_voice(home, "voice.enrolled"), _by_voice(home, "voice.deleted")
    on_disk = [_state_on_disk(home, v, enrolled.get(v["voice_id"], []), _first(deleted, v["voice_id"]))
               for v in voices]
    listed = {v["voice_id"] for v in voices}
    gone = [_state_gone(home, vid, events[0], _first(deleted, vid)) for vid, events in enrolled.items()
            if vid not in listed]
    records = {c.consent_id: c for c in consent.list_consents(home)}
    judged = [_with_asides(home, _judge_consent(home, v, records)) for v in on_disk + gone]
    return sorted(judged, key=lambda v: v["voice_id"])


def _entry(summary: dict, enrolled: list[Event]) -> dict:
    """A voice of the list with every key of :data:`VOICE_KEYS`: ``summary`` (:func:`cloner.voice.list_voices`),
    the consent id and time of its first ``voice.enrolled`` event where the summary lacks them, None for the rest."""
    ledger = {"consent_id": enrolled[0].body.get("consent_id"), "created_at": enrolled[0].time.isoformat()} \
        if enrolled else {}
    return {**dict.fromkeys(VOICE_KEYS), "problems": [], **ledger, **summary}


def _deleted(home: Home, entry: dict, deleted: Event) -> dict:
    """``entry`` of a voice whose deletion is logged, naming its files still on disk (its folder, hidden ones)."""
    vid = entry["voice_id"]
    left = voice_leftovers(home, vid)
    still = [f"its files are still in {', '.join(map(str, left))} (the audit notes erasure-incomplete): remove "
             f"them with `voiceguard voices delete {vid} --reason TEXT`"] if left else []
    return {**entry, "state": "deleted", "problems": still, "deleted_at": deleted.time.isoformat(),
            "deletion_event": deleted.seq}


def _state_on_disk(home: Home, summary: dict, events: list[Event], deleted: Event | None) -> dict:
    """The state of a voice with a folder: deleted, unreadable, not-enrolled, incomplete or ok (its consent is
    judged after)."""
    from cloner.voice import missing_parts, read_meta, voice_folder

    entry = _entry(summary, events)
    if deleted is not None:
        return _deleted(home, entry, deleted)
    if entry["error"] is not None:
        return {**entry, "state": "unreadable", "problems": [entry["error"]]}
    try:
        folder = voice_folder(home, summary["voice_id"])
        meta = read_meta(folder)
        event = _enrollment(home, summary["voice_id"], events, None, model_consent_id=str(meta.get("consent_id")),
                            weights_sha256=meta.get("weights_sha256"), language=summary.get("language"))
    except (CloneError, ParameterError) as exc:  # changed since it was listed, or an id no folder may have
        return {**entry, "state": "unreadable", "problems": [str(exc)], "error": str(exc)}
    except ConsentError as exc:
        return {**entry, "state": "not-enrolled", "problems": [str(exc)]}
    problems = missing_parts(folder, meta, recordings=event.body.get("files") or {})
    return {**entry, "state": "incomplete" if problems else "ok", "problems": problems}


def _state_gone(home: Home, voice_id: str, enrolled: Event, deleted: Event | None) -> dict:
    """The state of a voice the ledger enrolled whose folder is gone: deleted, deletion-interrupted or missing."""
    entry = _entry({"voice_id": voice_id}, [enrolled])
    if deleted is not None:
        return _deleted(home, entry, deleted)
    asides = interrupted_deletions(home, voice_id)
    if asides:
        return {**entry, "state": "deletion-interrupted",
                "problems": [interrupted_deletion_advice(home, voice_id, asides)]}
    return {**entry, "state": "missing",
            "problems": [f"its folder {home.voices_dir / voice_id} is gone: restore it from a backup, or log its "
                         f"erasure with `voiceguard voices delete {voice_id} --reason TEXT`"]}


def _judge_consent(home: Home, entry: dict, records: dict) -> dict:
    """``entry`` with ``consent_status``; an enrolled voice (ok or incomplete) that clone's consent check refuses
    for every purpose gets the state ``consent-<status>`` (or ``consent-refused``), the refusal first in its
    problems, as clone checks the consent before it loads the model."""
    status = _consent_status(records, entry["consent_id"])
    entry = {**entry, "consent_status": status}
    if entry["state"] not in ("ok", "incomplete"):
        return entry
    record = records.get(str(entry["consent_id"]))
    refusal = consent_refusal(home, entry["voice_id"], enrolled_under=str(entry["consent_id"]),
                              first=record.purposes if record is not None else (), language=entry["language"])
    if refusal is None:
        return entry
    state = f"consent-{status}" if status in REFUSING_STATUSES else "consent-refused"
    return {**entry, "state": state, "problems": [refusal, *entry["problems"]]}


def _with_asides(home: Home, entry: dict) -> dict:
    """``entry`` with a problem naming the folders a deletion of the voice, stopped before it was logged, left aside
    while the voice's folder is in place (a deleted or deletion-interrupted voice names them already)."""
    if entry["state"] in ("deleted", "deletion-interrupted"):
        return entry
    asides = interrupted_deletions(home, entry["voice_id"])
    if not asides:
        return entry
    return {**entry, "problems": [*entry["problems"], interrupted_deletion_advice(home, entry["voice_id"], asides)]}
