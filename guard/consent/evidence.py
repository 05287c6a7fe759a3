"""Evidence for a consent: a licence text, or a spoken statement checked, kept and fingerprinted.

A statement recording backs one consent. It must say that consent's statement (overall, and
each of its subject, operator, purposes and expiry date: :mod:`guard.consent.statement`),
and its bytes must not already back another consent, or a revoked one: a recording that
says one thing cannot become the evidence of something else, and a withdrawn consent cannot
be granted again from its old recording.

The copy kept in the home's ``consents/`` folder is made only under the ledger's write lock,
just before the grant's event is committed (:func:`keep_statement`), and taken back if the
commit does not happen; a grant killed in between leaves a file no consent refers to, which the
audit notes (a half-made copy is removed by the next grant: :func:`sweep_statements`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import numpy as np

from guard.consent.record import Consent, name_key
from guard.consent.statement import StatementMatch
from guard.digest import sha256_file
from guard.errors import AudioError, ConsentError, GuardError
from guard.home import Home

EMBED_RATE = 16000
# Thresholds of the statement check (see guard.consent.statement); the measurements behind them
# are in guard/consent/__init__.py.
STATEMENT_THRESHOLD = 0.50
NAME_THRESHOLD = 0.50
PURPOSE_THRESHOLD = 0.50
DATE_THRESHOLD = 0.60
STATEMENTS_FOLDER = "consents"
# The names grant gives what it writes there: a kept statement, and its copy while it is made.
KEPT_NAME = re.compile(r"consent-[0-9a-f]{16}\.[^./]+")
PARTIAL_NAME = re.compile(r"\.consent-[0-9a-f]{16}\.[^./]+\.partial")


def licence_evidence(text: str) -> dict:
    """The evidence of a research corpus licence; ConsentError when the text is empty."""
    text = text.strip()
    if not text:
        raise ConsentError("license text is empty")
    return {"kind": "license", "text": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}


_FIELD_NAMES = {"expires": "expiry date"}


def _field_threshold(field: str) -> float:
    if field == "expires":
        return DATE_THRESHOLD
    return PURPOSE_THRESHOLD if field.startswith("purpose:") else NAME_THRESHOLD


def _same_terms(c: Consent, *, voice_id: str, subject: str, operator: str, purposes: Sequence[str], day: date) -> bool:
    return (c.voice_id == voice_id and name_key(c.subject) == name_key(subject)
            and name_key(c.operator) == name_key(operator)
            and tuple(c.purposes) == tuple(purposes) and c.last_day == day)


def check_not_granted(existing: Sequence[Consent], *, kind: str, digest: str, voice_id: str, subject: str,
                      operator: str, purposes: Sequence[str], day: date) -> None:
    """Refuse a grant that an unrevoked consent already records: same terms, same evidence (kind and SHA-256).

    A grant retried after its process was killed once it had committed would otherwise log a
    second consent for one agreement.

    Raises
    ------
    ConsentError
        Naming the consent that already records it.
    """
    for c in existing:
        if (c.revoked_at is None and c.evidence.get("kind") == kind and c.evidence.get("sha256") == digest
                and _same_terms(c, voice_id=voice_id, subject=subject, operator=operator, purposes=purposes, day=day)):
            raise ConsentError(f"consent {c.consent_id} already records this agreement (same voice, subject, operator, "
                               f"purposes, expiry and evidence); nothing was added")


def check_reuse(wav: Path, digest: str, existing: Sequence[Consent], *, voice_id: str, subject: str, operator: str,
                purposes: Sequence[str], day: date, audio: np.ndarray | None = None, home: Home | None = None) -> None:
    """Refuse a recording that already backs a consent on other terms, or a revoked one.

    The same bytes (SHA-256), or, when ``audio`` (the recording at 16 kHz) is given, a copy
    of a kept statement re-encoded, trimmed or sped up (:func:`guard.consent.fingerprint.similarity`).
    With ``home``, each kept statement is read where that home keeps it (a moved or copied
    home's own ``consents/``), not at the path stored at its grant.

    Raises
    ------
    ConsentError
        Naming the consent the recording already backs.
    """
    for c in existing:
        if c.evidence.get("kind") != "statement":
            continue
        if c.evidence.get("sha256") != digest and not _copy_of(audio, c, home):
            continue
        if not _same_terms(c, voice_id=voice_id, subject=subject, operator=operator, purposes=purposes, day=day):
            raise ConsentError(f"{wav}: this recording (or a copy of it) is already the evidence of consent {c.consent_id} (voice "
                               f"{c.voice_id!r}, subject {c.subject!r}, operator {c.operator!r}, purposes "
                               f"{', '.join(c.purposes)}, until {c.last_day.isoformat()}); a statement backs one "
                               f"consent: record the speaker reading this consent's `voiceguard consent template`")
        if c.revoked_at is not None:
            raise ConsentError(f"{wav}: this recording (or a copy of it) is the evidence of consent {c.consent_id}, which was revoked; "
                               f"a new consent needs a new recording of the speaker")


def _copy_of(audio: np.ndarray | None, c: Consent, home: Home | None) -> bool:
    """Whether ``audio`` is a copy of consent ``c``'s kept statement recording (read in ``home`` when given)."""
    from guard.audio import load
    from guard.consent.fingerprint import SAME_RECORDING, similarity

    stored = c.evidence.get("file")
    if audio is None or not stored:
        return False
    kept = home.stored_file(str(stored)) if home is not None else Path(str(stored))
    if not kept.is_file():
        return False
    try:
        return similarity(load(kept, sample_rate=EMBED_RATE), audio) >= SAME_RECORDING
    except GuardError:  # an unreadable kept file is the audit's to report
        return False


def statement_refusal(match: StatementMatch, *, day: date) -> str | None:
    """Why a decoded statement does not back this consent, or None when it does.

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
    missing = [(k, v) for k, v in match.fields.items() if v < _field_threshold(k)]
    if missing:
        said = ", ".join(f"{_FIELD_NAMES.get(k, k.replace('purpose:', 'purpose '))} ({v:.2f} of its words heard, "
                         f"need {_field_threshold(k):.2f})" for k, v in missing)
        return (f"the statement does not say this consent's {said}; the recording must name this subject, "
                f"operator, every purpose and the expiry date, as `voiceguard consent template` prints them")
    return None


def statement_evidence(home: Home, consent_id: str, wav: Path, *, voice_id: str, subject: str, operator: str,
                       purposes: Sequence[str], day: date, existing: Sequence[Consent]) -> dict:
    """Check a statement recording and describe it as evidence, naming where its copy will be kept.

    Nothing is written: :func:`keep_statement` copies the recording to ``evidence["file"]``
    once the grant holds the ledger's write lock.

    Raises
    ------
    AudioError
        The file cannot be read or has no usable speech (the message names the file).
    ConsentError
        It does not say this consent's statement, or it already backs another consent.
    """
    from guard import speaker
    from guard.audio import load
    from guard.consent.statement import match_statement
    from guard.consent.template import template

    wav = Path(wav)
    y = load(wav, sample_rate=EMBED_RATE)
    digest = sha256_file(wav)
    check_reuse(wav, digest, existing, voice_id=voice_id, subject=subject, operator=operator,
                purposes=purposes, day=day, audio=y, home=home)
    try:
        match = match_statement(y, sample_rate=EMBED_RATE, subject=subject, operator=operator, purposes=purposes,
                                expires=day)
        embedding = speaker.embed_speaker(y, sample_rate=EMBED_RATE)
    except AudioError as exc:
        raise AudioError(f"{wav}: {exc}; record the speaker reading the statement again") from None
    reason = statement_refusal(match, day=day)
    if reason is not None:
        raise ConsentError(f"{wav}: {reason}")
    kept = home.root.resolve() / STATEMENTS_FOLDER / f"{consent_id}{wav.suffix.lower() or '.wav'}"
    return {"kind": "statement", "file": str(kept), "sha256": digest,
            "duration_s": round(y.shape[0] / EMBED_RATE, 3),
            "template": template(subject=subject, operator=operator, purposes=purposes, expires=day),
            "match_score": round(float(match.overall), 4), "match_threshold": STATEMENT_THRESHOLD,
            "field_scores": {k: round(float(v), 4) for k, v in match.fields.items()},
            "speaker_embedding": [round(float(v), 6) for v in embedding]}


def keep_statement(wav: Path, evidence: Mapping) -> Path:
    """Copy the statement recording ``wav`` to ``evidence["file"]`` (0600), all or nothing.

    Meant to run under the ledger's write lock, just before the grant's event is committed
    (``precondition`` of :meth:`guard.ledger.Ledger.append`): the copy is made under a
    temporary name, checked against ``evidence["sha256"]`` and then renamed into place.

    Raises
    ------
    ConsentError
        ``wav`` is gone or no longer has the bytes that were checked.
    """
    kept = Path(evidence["file"])
    kept.parent.mkdir(mode=0o700, exist_ok=True)
    partial = kept.with_name(f".{kept.name}.partial")
    try:
        try:
            shutil.copyfile(wav, partial)
        except OSError as exc:
            raise ConsentError(f"{wav}: cannot be copied into the home ({exc.strerror}); nothing was granted") from None
        os.chmod(partial, 0o600)
        if sha256_file(partial) != evidence["sha256"]:
            raise ConsentError(f"{wav}: the recording changed while it was being checked; nothing was granted, "
                               f"grant the consent again")
        os.replace(partial, kept)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return kept


def stray_statements(home: Home, referenced: set[str]) -> list[Path]:
    """Files in the home's ``consents/`` folder whose names are not in ``referenced``, sorted."""
    folder = home.root / STATEMENTS_FOLDER
    try:
        return sorted(p for p in folder.iterdir() if p.name not in referenced and not p.is_dir())
    except OSError:  # no such folder yet, or one that cannot be listed (its statements are checked one by one)
        return []


def sweep_statements(home: Home) -> list[Path]:
    """Remove the half-made statement copies of grants killed while copying (``.consent-*.partial``).

    Must run under the ledger's write lock: only a grant holding it makes such a file, and
    renames or removes it before letting go. A whole copy that no consent names (a grant
    killed between its rename and its commit, a window of milliseconds) is never removed
    here: it might be the evidence of a consent in a ledger restored from a backup; the audit
    notes it instead.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    for path in stray_statements(home, set()):
        if PARTIAL_NAME.fullmatch(path.name):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed
