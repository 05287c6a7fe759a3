"""Evidence for a consent: a licence text, or a spoken statement checked, kept and fingerprinted.

A statement recording backs one consent. It must say that consent's statement (overall, and
each of its subject, operator, purposes and expiry date: :mod:`guard.consent.statement`; a
subject or operator not in Latin letters cannot be heard, so is refused)
ending with the one-time code of an open challenge issued for exactly these terms (every digit
heard in place: :mod:`guard.consent.challenge`), and its bytes must not already back another
consent, or a revoked one: a recording that says one thing cannot become the evidence of
something else, and a withdrawn consent cannot be granted again from its old recording.

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
from datetime import date, datetime
from pathlib import Path

import numpy as np

from guard.consent.challenge import TEMPLATE_FIX, candidates
from guard.consent.record import Consent, name_key
from guard.consent.template import spoken_names
from guard.consent.verdict import STATEMENT_THRESHOLD, choose_candidate
from guard.digest import sha256_file
from guard.errors import AudioError, ConsentError, GuardError
from guard.home import Home

EMBED_RATE = 16000
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


def _same_terms(c: Consent, *, voice_id: str, subject: str, operator: str, purposes: Sequence[str], day: date) -> bool:
    """Whether consent ``c`` has these terms, its languages aside."""
    return (c.voice_id == voice_id and name_key(c.subject) == name_key(subject)
            and name_key(c.operator) == name_key(operator)
            and tuple(c.purposes) == tuple(purposes) and c.last_day == day)


def _same_languages(c: Consent, languages: Sequence[str]) -> bool:
    """Whether consent ``c`` names exactly ``languages`` (in any order)."""
    return set(c.languages) == set(languages)


def _only_languages_differ(wav: Path, c: Consent, languages: Sequence[str]) -> ConsentError:
    """The refusal of statement ``wav``, already the evidence of consent ``c`` on these terms but other languages."""
    return ConsentError(f"{wav}: this recording (or a copy of it) is already the evidence of consent {c.consent_id}, "
                        f"on the same terms except its languages ({', '.join(c.languages)}; this grant names "
                        f"{', '.join(languages)}); a statement backs one consent: if consent {c.consent_id}'s "
                        f"languages are wrong, revoke it (`voiceguard consent revoke {c.consent_id} --reason TEXT`), "
                        f"and have the speaker read a new `voiceguard consent template` (a new code) for a grant "
                        f"with the languages wanted")


def check_not_granted(existing: Sequence[Consent], *, kind: str, digest: str, voice_id: str, subject: str,
                      operator: str, purposes: Sequence[str], day: date, languages: Sequence[str],
                      wav: Path | None = None) -> None:
    """Refuse a grant that an unrevoked consent already records: same terms and languages, same evidence (kind and
    SHA-256); and a statement already behind an unrevoked consent that differs only in its languages.

    A grant retried after its process was killed once it had committed would otherwise log a
    second consent for one agreement. A licence on other languages is another agreement: granted.
    ``wav``: the statement recording (``kind`` "statement"), named in the refusal.

    Raises
    ------
    ConsentError
        Naming the consent that already records it (or, for a statement, that only the languages
        differ, and what to do).
    """
    for c in existing:
        if (c.revoked_at is None and c.evidence.get("kind") == kind and c.evidence.get("sha256") == digest
                and _same_terms(c, voice_id=voice_id, subject=subject, operator=operator, purposes=purposes, day=day)):
            if _same_languages(c, languages):
                raise ConsentError(f"consent {c.consent_id} already records this agreement (same voice, subject, "
                                   f"operator, purposes, languages, expiry and evidence); nothing was added")
            if kind == "statement":
                raise _only_languages_differ(Path(wav if wav is not None else "statement"), c, languages)


def check_reuse(wav: Path, digest: str, existing: Sequence[Consent], *, voice_id: str, subject: str, operator: str,
                purposes: Sequence[str], day: date, languages: Sequence[str] | None = None,
                audio: np.ndarray | None = None, home: Home | None = None) -> None:
    """Refuse a recording that already backs a consent on other terms (languages included), or a revoked one.

    The same bytes (SHA-256), or, when ``audio`` (the recording at 16 kHz) is given, a copy
    of a kept statement re-encoded, trimmed or sped up (:func:`guard.consent.fingerprint.similarity`).
    With ``home``, each kept statement is read where that home keeps it (a moved or copied
    home's own ``consents/``), not at the path stored at its grant. ``languages``: the grant's language
    tags (None: not compared).

    Raises
    ------
    ConsentError
        Naming the consent the recording already backs (and, when only its languages differ, saying so).
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
        if languages is not None and not _same_languages(c, languages):
            raise _only_languages_differ(wav, c, languages)


def check_code_unused(wav: Path, challenge_id: str, existing: Sequence[Consent]) -> None:
    """Refuse a grant whose consent code another consent already cites (checked again under the ledger's write lock).

    Raises
    ------
    ConsentError
        Naming the consent that used the code.
    """
    for c in existing:
        if c.evidence.get("challenge_id") == challenge_id:
            raise ConsentError(f"{wav}: consent code {challenge_id} was already used by consent {c.consent_id}; a code "
                               f"backs one consent: {TEMPLATE_FIX}")


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


def statement_evidence(home: Home, consent_id: str, wav: Path, *, voice_id: str, subject: str, operator: str,
                       purposes: Sequence[str], day: date, languages: Sequence[str], existing: Sequence[Consent],
                       at: datetime) -> dict:
    """Check a statement recording and describe it as evidence, naming where its copy will be kept.

    Nothing is written: :func:`keep_statement` copies the recording to ``evidence["file"]``
    once the grant holds the ledger's write lock.

    Parameters
    ----------
    languages : sequence of str
        The grant's language tags: the statement names none, so they only take part in the reuse rule
        (:func:`check_reuse`).
    at : datetime
        The time of the grant: the code must not have expired by then.

    Raises
    ------
    AudioError
        The file cannot be read or has no usable speech (the message names the file).
    ConsentError
        The subject or operator has a word the statement check cannot hear (not in Latin letters:
        :func:`guard.consent.template.spoken_name`; refused before the recording is read); it does
        not say this consent's statement with an open code issued for these terms, or it already
        backs another consent.
    """
    from guard import speaker
    from guard.audio import load
    from guard.consent.statement import match_statements

    spoken_names(subject=subject, operator=operator)  # no field of the terms may go unchecked
    wav = Path(wav)
    y = load(wav, sample_rate=EMBED_RATE)
    digest = sha256_file(wav)
    terms = {"subject": subject, "operator": operator, "purposes": purposes}
    check_reuse(wav, digest, existing, voice_id=voice_id, day=day, languages=languages, audio=y, home=home, **terms)
    issued = candidates(home, **terms, expires=day, at=at, consents=existing)
    if not issued:
        raise ConsentError(f"{wav}: no open consent code for these terms (subject, operator, purposes and expiry): "
                           f"{TEMPLATE_FIX}")
    try:
        matches = match_statements(y, sample_rate=EMBED_RATE, **terms, expires=day,
                                   codes=[c.challenge.code for c in issued])
        embedding = speaker.embed_speaker(y, sample_rate=EMBED_RATE)
    except AudioError as exc:
        raise AudioError(f"{wav}: {exc}; record the speaker reading the statement again") from None
    try:
        chosen, match = choose_candidate(list(zip(issued, matches)), day=day)
    except ConsentError as exc:
        raise ConsentError(f"{wav}: {exc}") from None
    kept = home.root.resolve() / STATEMENTS_FOLDER / f"{consent_id}{wav.suffix.lower() or '.wav'}"
    return {"kind": "statement", "file": str(kept), "sha256": digest,
            "duration_s": round(y.shape[0] / EMBED_RATE, 3), "template": chosen.statement,
            "challenge_id": chosen.challenge.challenge_id,
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
