"""The audit's meaning checks: every clip and enrollment within a valid, unrevoked consent; files intact.

Failures: ``bad-consent-signature``, ``duplicate-consent``, ``unknown-consent``, ``consent-scope``
(wrong voice or purpose, or an enrollment in a language the consent does not name:
:func:`guard.consent.record.language_covered`; for an enrollment logged before enrollments named a language, the one its
voice folder's ``voice.json`` speaks, and when that folder is gone it is noted, ``language-unchecked``),
``voice-changed`` (a voice folder's ``voice.json`` speaks another language than its enrollment
logged: clone refuses it), ``consent-not-valid`` (expired or not yet valid at the event's time),
``after-revocation``, ``not-enrolled-speaker`` (a clip of an enrolled voice under a consent that is
neither the one it was enrolled under nor that speaker's renewal, :func:`guard.consent.renews`;
a clip after the enrollment consent was revoked is ``after-revocation``), ``duplicate-payload``
(one watermark payload logged twice: two clips, two marks, or a clip and a mark),
``file-hash-mismatch``, ``missing-file`` (a consent statement, a voice model, or one of the
enrollment recordings kept beside a model in a home's ``voices/<id>/recordings/``, that the log
refers to is gone; a clip that has moved is noted, ``clip-missing``), ``after-deletion`` (a clip or an
enrollment of a voice after its ``voice.deleted`` event) and ``bad-deletion`` (a ``voice.deleted``
event of a voice not enrolled before it, naming another consent than its enrollment's, or of a
voice already deleted). Clips of a voice with no enrollment in the log (another generator using
guard's provenance) are checked against the consent they cite.

A voice whose deletion is logged is expected to have lost its model and recordings: that is not
a failure. Its files still in the home (a deletion that was stopped, a folder restored from a
backup) are noted (``erasure-incomplete``). Consent statements stay: they are the evidence of the
consent under which the voice's earlier clips were made.

A clip (a file outside the home, in its owner's hands) that no longer matches its record is
noted (``clip-changed``), not failed, as a deleted or moved clip is (``clip-missing``, and
counted in ``files_missing``): the log and its consents are intact. The home's own files (statements, models, recordings) must match.

A mark (``audio.marked``: audio marked with ``voiceguard watermark embed``, any recording, no
voice or consent behind it) is counted (``marks``), its payload held to the same one-use rule
as clips' and its file compared as a clip's is: changed is noted (``mark-changed``), missing
noted (``mark-missing``) and counted in ``files_missing``. The mark is logged before its file is renamed into place, so an
embed killed in between leaves the logged file at a hidden ``.voiceguard-<hex>-<name>`` beside
its path; the note names it.

A file in a home's ``consents/`` folder that no consent refers to fails nothing: it is noted
(``unreferenced-file``), since a grant killed before its event was committed leaves one behind
(the next grant removes a half-made copy; a whole one is left for people to judge).

A watermark key rotation (``key.rotated``) is checked by :mod:`guard.ledger.keys`; one-time consent
codes (``consent.challenge``) and the spoken consents citing them by :mod:`guard.ledger.challenges`
(``bad-challenge``; a spoken consent citing none is noted, ``no-challenge``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature

from guard.consent.record import language_covered, language_tag
from guard.errors import GuardError
from guard.home import Home
from guard.ledger.canon import load_public_key, parse_time
from guard.ledger.files import (
    ERASE_FIX,
    VOICE_META_FILE,
    check_file,
    check_recordings,
    enrolled_folder,
    folder_language,
    interrupted_deletions,
    note_erasure_left,
    note_strays,
    statement_name,
)
from guard.ledger.keys import (
    KeyFiles,
    check_marking_key,
    check_rotation,
    keys_readable,
    note_unlogged_keys,
)
from guard.ledger.report import AuditReport, Failure


@dataclass
class _Erasures:
    """Voice deletions: ``logged`` maps a voice id to (position, "event N") of its first ``voice.deleted``
    event in the whole log; ``done`` maps it to "event N" of the deletions met so far, in order."""

    logged: dict[str, tuple[int, str]]
    done: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Sequence[dict[str, Any] | None]) -> _Erasures:
        logged: dict[str, tuple[int, str]] = {}
        for position, event in enumerate(events):
            if event is not None and event.get("kind") == "voice.deleted":
                vid = event["body"].get("voice_id")
                if isinstance(vid, str):
                    logged.setdefault(vid, (position, f"event {event.get('seq')}"))
        return cls(logged)

    def erased_after(self, vid: object, position: int) -> str | None:
        """"event N" of the deletion of ``vid`` that follows the event at ``position``, or None."""
        found = self.logged.get(vid) if isinstance(vid, str) else None
        return found[1] if found is not None and found[0] > position else None


def check_meaning(events: Sequence[dict[str, Any] | None], public_key: str, report: AuditReport, *,
                  files: bool, home: Home | None = None) -> None:
    """Check what the (parsed) events mean; ``files``: compare stored hashes with files on disk (a home's own
    statement and model files in ``home`` when given)."""
    from guard.consent.record import Consent
    from guard.ledger.challenges import ChallengeLog, check_challenge, check_citation

    key = load_public_key(public_key)
    consents: dict[str, Consent] = {}
    unverified: dict[str, Failure] = {}
    revoked: dict[str, Any] = {}
    payloads: dict[str, str] = {}
    enrolled: dict[str, str] = {}  # voice id -> the consent it was enrolled under
    statements: set[str] = set()  # names of the statement files consent events refer to
    erasures = _Erasures.of(events)
    # a copy handed to an auditor without its keys/ (audited against a pinned public key), or whose keys/ this user
    # may not read (0700), has no key files to check
    keys = KeyFiles(home) if files and home is not None and keys_readable(home) else None
    codes = ChallengeLog()
    for position, event in enumerate(events):
        if event is None:
            continue
        kind, body, seq = event.get("kind"), event["body"], event.get("seq")
        ident = f"event {seq}"
        try:
            t = parse_time(str(event.get("time")))
        except ValueError:
            report.fail("malformed-event", ident, f"bad time {event.get('time')!r}")
            continue
        if kind == "consent.granted":
            report.checked["consents"] += 1
            if home is not None:
                statements.add(statement_name(home, body))
            try:
                record = Consent.from_dict(body)
                key.verify(bytes.fromhex(record.signature), record.message())
            except (GuardError, InvalidSignature, ValueError) as exc:
                cid = str(body.get("consent_id"))
                unverified[cid] = report.fail("bad-consent-signature", f"{ident} ({cid})",
                                              f"consent record does not verify: {type(exc).__name__}")
                continue
            if record.consent_id in consents:
                report.fail("duplicate-consent", ident, f"consent {record.consent_id} granted twice")
            consents[record.consent_id] = record
            check_citation(report, f"{ident} ({record.consent_id})", record, codes)
            ev = record.evidence
            if ev.get("kind") == "statement" and files:
                check_file(report, f"{ident} ({record.consent_id})", ev.get("file"), ev.get("sha256"),
                            what="the consent statement recording", home=home)
        elif kind == "consent.revoked":
            report.checked["revocations"] += 1
            cid = body.get("consent_id")
            if cid not in consents:
                report.fail("unknown-consent", ident, f"revokes consent {cid!r}, which was never granted before it",
                            cause=unverified.get(str(cid)))
            elif cid not in revoked:
                revoked[cid] = t
        elif kind in ("clip.generated", "voice.enrolled"):
            _check_use(report, kind, ident, body, t, consents, unverified, revoked, payloads, enrolled, files, home,
                       erasures, position)
            if kind == "clip.generated":
                check_marking_key(report, f"{ident} ({kind} {body.get('record_id')})", body, keys)
        elif kind == "voice.deleted":
            _check_deletion(report, ident, body, enrolled, erasures)
        elif kind == "clone.refused":
            report.checked["refusals"] += 1
        elif kind == "audio.marked":
            _check_mark(report, ident, body, payloads, files)
            check_marking_key(report, f"{ident} ({kind} {body.get('record_id')})", body, keys)
        elif kind == "key.rotated":
            check_rotation(report, ident, body, keys)
        elif kind == "consent.challenge":
            check_challenge(report, ident, body, t, codes)
    if files and home is not None:
        note_strays(report, home, statements)
        note_unlogged_keys(report, keys)


def _check_use(report: AuditReport, kind: str, ident: str, body: dict[str, Any], t: Any, consents: dict,
               unverified: dict[str, Failure], revoked: dict, payloads: dict[str, str], enrolled: dict[str, str],
               files: bool, home: Home | None, erasures: _Erasures, position: int) -> None:
    """A clip or an enrollment: its consent, scope, time and files; a clip of an enrolled voice, its speaker.

    ``enrolled`` maps each voice id to the consent of its first enrollment, and grows here.
    ``position`` is the event's place in the log, to tell whether the voice's deletion follows it.
    """
    report.checked["clips" if kind == "clip.generated" else "enrollments"] += 1
    cid, vid = body.get("consent_id"), body.get("voice_id")
    what = f"{ident} ({kind} {body.get('record_id', vid)})"
    if isinstance(vid, str) and vid in erasures.done:
        report.fail("after-deletion", what, f"made after voice {vid!r} was deleted ({erasures.done[vid]})")
    if kind == "voice.enrolled" and isinstance(vid, str):
        enrolled.setdefault(vid, str(cid))
    record = consents.get(cid)
    if record is None:
        report.fail("unknown-consent", what, f"cites consent {cid!r}, which was never granted before it",
                    cause=unverified.get(str(cid)))
        return
    _check_scope(report, what, body, record)
    if cid in revoked and t >= revoked[cid]:
        report.fail("after-revocation", what, f"made after consent {cid} was revoked at {revoked[cid].isoformat()}")
    else:
        status = record.status(t)
        if status != "valid":
            report.fail("consent-not-valid", what, f"consent {cid} was {status} at {t.isoformat()}")
    if kind == "clip.generated":
        payload = str(body.get("payload")).strip().lower()  # one payload however its hex is written
        if payload in payloads:
            report.fail("duplicate-payload", what, f"payload {payload} already used by {payloads[payload]}")
        payloads[payload] = what
        if files:
            check_file(report, what, body.get("audio_path"), body.get("audio_sha256"), what=None)
        _check_speaker(report, what, vid, record, consents.get(enrolled.get(vid)) if isinstance(vid, str) else None,
                       t, revoked)
    elif files:
        erased = erasures.erased_after(vid, position)
        if erased is not None:
            note_erasure_left(report, str(vid), body, erased, home)
        else:
            fix = f"; {ERASE_FIX.format(vid=vid)}"
            check_file(report, what, body.get("model_path"), body.get("model_sha256"), what="the voice model",
                        home=home, fix=fix)
            check_recordings(report, what, str(vid), body, home, fix=fix)
            _check_folder_language(report, what, str(vid), body, record, home)


def _check_scope(report: AuditReport, what: str, body: dict[str, Any], record: Any) -> None:
    """A clip or an enrollment within its consent ``record``: the consent's voice, one of its purposes (a clip's), and
    one of its languages (an enrollment's ``language``; events logged before enrollments named it have none)."""
    vid, cid = body.get("voice_id"), record.consent_id
    if record.voice_id != vid:
        report.fail("consent-scope", what, f"voice {vid!r} is not the consent's voice {record.voice_id!r}")
    purpose = body.get("purpose")
    if purpose is not None and purpose not in record.purposes:
        report.fail("consent-scope", what, f"purpose {purpose!r} is outside consent {cid} ({', '.join(map(str, record.purposes))})")
    language = body.get("language")
    if language is not None and not language_covered(str(language), record.languages):
        report.fail("consent-scope", what, f"language {language!r} is outside consent {cid}, whose speaker consented "
                                           f"to {', '.join(map(str, record.languages))}")


def _check_folder_language(report: AuditReport, what: str, vid: str, body: dict[str, Any], record: Any,
                           home: Home | None) -> None:
    """The language voice ``vid``'s folder speaks (its voice.json, :func:`guard.ledger.files.folder_language`), as clone
    reads it: the one its enrollment ``body`` logged (``voice-changed`` otherwise), or, for an enrollment logged
    before enrollments named a language, one its consent ``record`` covers (``consent-scope`` otherwise; noted,
    ``language-unchecked``, when the folder is gone, unless a stopped deletion holds it)."""
    from guard.consent.record import LANGUAGE_TAG

    if home is None:
        return
    folder = enrolled_folder(home, body)
    if folder is None:  # no model in the home's voices/ (another generator's): no folder to read
        return
    spoken = folder_language(folder) if folder.is_dir() else None
    logged = body.get("language")
    if spoken is not None and not LANGUAGE_TAG.fullmatch(spoken):  # a voice given by its name: clone looks it up
        if logged is None:
            report.note("language-unchecked", what, f"{folder / VOICE_META_FILE} names espeak-ng voice {spoken!r}, not "
                                                    f"a language tag, and the enrollment logged no language: "
                                                    f"{_unchecked(record)}")
        return
    if logged is not None:
        if spoken is not None and spoken != language_tag(logged):
            report.fail("voice-changed", what, f"the voice folder of {vid!r} speaks {spoken} ({folder / VOICE_META_FILE}), "
                                               f"but its enrollment logged {logged}, so clone refuses it; restore "
                                               f"{VOICE_META_FILE} from a backup, or enroll the voice again to change "
                                               f"its language")
        return
    if spoken is None:
        # a folder whose voice.json names no language cannot be cloned; one moved aside by a stopped deletion is noted
        # (deletion-interrupted) and checked once it is back
        if not folder.is_dir() and not interrupted_deletions(home, vid):
            report.note("language-unchecked", what, f"the enrollment logged no language (it predates enrollments "
                                                    f"naming one) and voice {vid!r} has no folder in "
                                                    f"{home.voices_dir}: {_unchecked(record)}")
    elif not language_covered(spoken, record.languages):
        report.fail("consent-scope", what, f"voice {vid!r} speaks {spoken} ({folder / VOICE_META_FILE}; its enrollment "
                                           f"predates enrollments naming a language), a language consent "
                                           f"{record.consent_id} does not cover (its speaker consented to "
                                           f"{', '.join(map(str, record.languages))}), so clone refuses it; enroll "
                                           f"the voice again under a consent that names {spoken}")


def _unchecked(record: Any) -> str:
    """The end of a ``language-unchecked`` note: what could not be checked against consent ``record``."""
    return (f"whether the voice speaks a language consent {record.consent_id} covers "
            f"({', '.join(map(str, record.languages))}) could not be checked")


def _check_mark(report: AuditReport, ident: str, body: dict[str, Any], payloads: dict[str, str], files: bool) -> None:
    """An ``audio.marked`` event: its payload used by no clip or mark before it; its file compared like a clip's."""
    report.checked["marks"] += 1
    what = f"{ident} (audio.marked {body.get('record_id')})"
    payload = str(body.get("payload")).strip().lower()  # one payload however its hex is written
    if payload in payloads:
        report.fail("duplicate-payload", what, f"payload {payload} already used by {payloads[payload]}")
    payloads[payload] = what
    if files:
        check_file(report, what, body.get("audio_path"), body.get("audio_sha256"), what=None, mark=True)


def _check_deletion(report: AuditReport, ident: str, body: dict[str, Any], enrolled: dict[str, str],
                    erasures: _Erasures) -> None:
    """A ``voice.deleted`` event: of a voice enrolled before it, under the consent it was enrolled under, once."""
    report.checked["deletions"] += 1
    vid, cid = body.get("voice_id"), body.get("consent_id")
    what = f"{ident} (voice.deleted {vid})"
    if vid in erasures.done:
        report.fail("bad-deletion", what, f"voice {vid!r} was already deleted ({erasures.done[vid]})")
        return
    if vid not in enrolled:
        report.fail("bad-deletion", what, f"deletes voice {vid!r}, which was never enrolled before it")
    elif cid != enrolled[vid]:
        report.fail("bad-deletion", what, f"names consent {cid!r}, but voice {vid!r} was enrolled under consent "
                                          f"{enrolled[vid]}")
    if isinstance(vid, str):
        erasures.done[vid] = ident


def _check_speaker(report: AuditReport, what: str, vid: object, record: Any, base: Any, t: Any, revoked: dict) -> None:
    """A clip of voice ``vid`` under consent ``record``, the voice enrolled under ``base`` (None: not enrolled in
    this log): covered by the enrolled speaker's own consent, made before that consent was revoked."""
    from guard.consent.scope import renews

    if base is None:
        return  # a voice enrolled under an unknown consent is reported at its enrollment
    cid, under = record.consent_id, base.consent_id
    if not renews(record, base):
        report.fail("not-enrolled-speaker", what, f"cites consent {cid} (subject {record.subject!r}), which is neither "
                    f"consent {under} that voice {vid!r} was enrolled under (subject {base.subject!r}) nor its "
                    f"speaker's renewal")
    elif under != cid and under in revoked and t >= revoked[under]:
        report.fail("after-revocation", what, f"made after consent {under}, under which voice {vid!r} was enrolled, "
                    f"was revoked at {revoked[under].isoformat()}")
