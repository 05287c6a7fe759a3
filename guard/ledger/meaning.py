"""The audit's meaning checks: every clip and enrollment within a valid, unrevoked consent; files intact.

Failures: ``bad-consent-signature``, ``duplicate-consent``, ``unknown-consent``, ``consent-scope``
(wrong voice or purpose), ``consent-not-valid`` (expired or not yet valid at the event's time),
``after-revocation``, ``not-enrolled-speaker`` (a clip of an enrolled voice under a consent that is
neither the one it was enrolled under nor that speaker's renewal, :func:`guard.consent.renews`;
a clip after the enrollment consent was revoked is ``after-revocation``), ``duplicate-payload``,
``file-hash-mismatch``, and ``missing-file`` (a consent statement or a voice model the log refers
to is gone; a clip that has moved is only counted). Clips of a voice with no enrollment in the
log (another generator using guard's provenance) are checked against the consent they cite.

A file in a home's ``consents/`` folder that no consent refers to fails nothing: it is noted
(``unreferenced-file``), since a grant killed before its event was committed leaves one behind
(the next grant removes a half-made copy; a whole one is left for people to judge).
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from guard.digest import sha256_file
from guard.errors import GuardError
from guard.home import Home
from guard.ledger.canon import load_public_key, parse_time
from guard.ledger.report import AuditReport, Failure


def _check_file(report: AuditReport, ident: str, path: object, digest: object, *, what: str | None,
                home: Home | None = None) -> None:
    """Compare a file with its stored hash; ``what`` names a file that must exist (None: may have moved).

    With ``home``, a stored path into a home's ``consents/`` or ``voices/`` is read in that home
    (:meth:`guard.home.Home.stored_file`): a moved or copied home checks its own files.
    """
    if not path:
        return
    p = home.stored_file(str(path)) if home is not None else Path(str(path))
    if not p.is_file():
        if what is None:
            report.checked["files_missing"] += 1
        else:
            report.fail("missing-file", ident, f"{what} {p} is missing; restore it from a backup")
        return
    report.checked["files"] += 1
    try:
        actual = sha256_file(p)
    except OSError as exc:
        report.fail("file-hash-mismatch", ident, f"{p} cannot be read ({exc.strerror})")
        return
    if actual != digest:
        staged = _stranded_clip(p, digest) if what is None else None
        if staged is not None:
            report.fail("file-hash-mismatch", ident, f"{p} is not the recorded clip: an interrupted clone left that "
                                                     f"at {staged}; the next `voiceguard clone` into {p.parent} "
                                                     f"moves it into place (or move it by hand)")
        else:
            report.fail("file-hash-mismatch", ident, f"{p} no longer matches the SHA-256 stored in the ledger")


def _stranded_clip(path: Path, digest: object) -> Path | None:
    """The copy of ``path`` with SHA-256 ``digest`` that an interrupted clone left in its staging folder, if any.

    :func:`cloner.pipeline.clone` builds a clip at ``.voiceguard-<hex>/<name>`` beside its
    final name and renames it after the record is written (:mod:`cloner.recover`).
    """
    for staged in sorted(path.parent.glob(f".voiceguard-*/{glob.escape(path.name)}")):
        try:
            if staged.is_file() and sha256_file(staged) == digest:
                return staged
        except OSError:
            continue
    return None


def check_meaning(events: Sequence[dict[str, Any] | None], public_key: str, report: AuditReport, *,
                  files: bool, home: Home | None = None) -> None:
    """Check what the (parsed) events mean; ``files``: compare stored hashes with files on disk (a home's own
    statement and model files in ``home`` when given)."""
    from guard.consent.record import Consent

    key = load_public_key(public_key)
    consents: dict[str, Consent] = {}
    unverified: dict[str, Failure] = {}
    revoked: dict[str, Any] = {}
    payloads: dict[str, str] = {}
    enrolled: dict[str, str] = {}  # voice id -> the consent it was enrolled under
    statements: set[str] = set()  # names of the statement files consent events refer to
    for event in events:
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
                statements.add(_statement_name(home, body))
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
            ev = record.evidence
            if ev.get("kind") == "statement" and files:
                _check_file(report, f"{ident} ({record.consent_id})", ev.get("file"), ev.get("sha256"),
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
            _check_use(report, kind, ident, body, t, consents, unverified, revoked, payloads, enrolled, files, home)
    if files and home is not None:
        _note_strays(report, home, statements)


def _statement_name(home: Home, body: dict[str, Any]) -> str:
    """The name, in ``home``'s consents/ folder, of the statement file a consent event names ("" for none)."""
    evidence = body.get("evidence")
    path = evidence.get("file") if isinstance(evidence, dict) else None
    if not isinstance(path, str) or not path:
        return ""
    stored = home.stored_file(path)
    return stored.name if stored.parent == home.root / "consents" else ""


def _note_strays(report: AuditReport, home: Home, referenced: set[str]) -> None:
    """Note each file in the home's consents/ folder that no consent event refers to."""
    from guard.consent.evidence import KEPT_NAME, PARTIAL_NAME, stray_statements

    for path in stray_statements(home, referenced):
        if PARTIAL_NAME.fullmatch(path.name):
            why = ("a half-made statement copy of a consent grant that was stopped; the next "
                   "`voiceguard consent grant` removes it")
        elif KEPT_NAME.fullmatch(path.name):
            why = ("a statement copy of a consent grant stopped before it was logged (or of a consent that a "
                   "restored ledger lacks); remove it if no backup of the ledger names it")
        else:
            why = "not a file voiceguard wrote there; remove it if nothing needs it"
        report.note("unreferenced-file", path, f"no consent refers to it: {why}")


def _check_use(report: AuditReport, kind: str, ident: str, body: dict[str, Any], t: Any, consents: dict,
               unverified: dict[str, Failure], revoked: dict, payloads: dict[str, str], enrolled: dict[str, str],
               files: bool, home: Home | None) -> None:
    """A clip or an enrollment: its consent, scope, time and files; a clip of an enrolled voice, its speaker.

    ``enrolled`` maps each voice id to the consent of its first enrollment, and grows here.
    """
    report.checked["clips" if kind == "clip.generated" else "enrollments"] += 1
    cid, vid = body.get("consent_id"), body.get("voice_id")
    if kind == "voice.enrolled" and isinstance(vid, str):
        enrolled.setdefault(vid, str(cid))
    what = f"{ident} ({kind} {body.get('record_id', vid)})"
    record = consents.get(cid)
    if record is None:
        report.fail("unknown-consent", what, f"cites consent {cid!r}, which was never granted before it",
                    cause=unverified.get(str(cid)))
        return
    if record.voice_id != vid:
        report.fail("consent-scope", what, f"voice {vid!r} is not the consent's voice {record.voice_id!r}")
    purpose = body.get("purpose")
    if purpose is not None and purpose not in record.purposes:
        report.fail("consent-scope", what, f"purpose {purpose!r} is outside consent {cid} ({', '.join(map(str, record.purposes))})")
    if cid in revoked and t >= revoked[cid]:
        report.fail("after-revocation", what, f"made after consent {cid} was revoked at {revoked[cid].isoformat()}")
    else:
        status = record.status(t)
        if status != "valid":
            report.fail("consent-not-valid", what, f"consent {cid} was {status} at {t.isoformat()}")
    if kind == "clip.generated":
        payload = str(body.get("payload"))
        if payload in payloads:
            report.fail("duplicate-payload", what, f"payload {payload} already used by {payloads[payload]}")
        payloads[payload] = what
        if files:
            _check_file(report, what, body.get("audio_path"), body.get("audio_sha256"), what=None)
        _check_speaker(report, what, vid, record, consents.get(enrolled.get(vid)) if isinstance(vid, str) else None,
                       t, revoked)
    elif files:
        _check_file(report, what, body.get("model_path"), body.get("model_sha256"), what="the voice model",
                    home=home)


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
