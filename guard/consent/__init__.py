"""Consent: records with spoken or licence evidence, their scope and expiry, and revocation.

A grant is signed with the home's Ed25519 key and written to the ledger as
``consent.granted``; a revocation is a later ``consent.revoked`` event, never an edit. The
cloner calls :func:`check` before every clip and :func:`speaker_matches` at enrollment.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidSignature

from guard.consent.record import (
    LICENSE_PURPOSES,
    PURPOSES,
    STATUSES,
    Consent,
    as_date,
    as_utc,
    check_purposes,
    check_voice_id,
    end_of,
)
from guard.consent.template import key_words, template
from guard.digest import sha256_file
from guard.errors import ConsentError, ParameterError
from guard.home import Home

__all__ = ["PURPOSES", "LICENSE_PURPOSES", "STATUSES", "Consent", "template", "grant", "revoke", "get",
           "list_consents", "check", "speaker_matches", "STATEMENT_THRESHOLD", "SPEAKER_THRESHOLD"]

# A statement must say at least this fraction of the template's words, and of its names, purposes
# and date, in order (guard.asr.match_score). Measured by `voiceguard bench ledger --statement-check`:
# espeak-ng (synthetic) readings of three templates in four voices score 0.07-0.93 against their own
# template (67% accepted; en-us+f3 0.71-0.93, plain "en" 0.15-0.29), 0.00-0.50 against another
# person's template (17% accepted) and 0.00-0.19 for unrelated speech (none accepted). Real speech
# scores far higher: 30 asterisk prompts (8 kHz) against their own text 0.94 on average, all accepted.
# So the check reliably refuses a statement that says something else; one that keeps the wording and
# changes only names, purposes or date is refused most of the time, not always.
STATEMENT_THRESHOLD = 0.30
# Cosine similarity of resemblyzer embeddings at or above which two recordings are taken as one
# speaker: the equal-error threshold on all real speech pooled, measured by
# `voiceguard bench ledger --speaker-eer` (seed 0): librispeech-sample 251 speakers EER 2.0% (at 0.722),
# asterisk Allison vs librispeech at 8 kHz EER 3.0% (at 0.754), pooled EER 2.2% (at 0.731). espeak-ng
# voices are far closer to each other (EER 18.8% at 0.900): this check does not tell two espeak voices apart.
SPEAKER_THRESHOLD = 0.73
EMBED_RATE = 16000
MAX_TEXT_CHARS = 200


def _one_line(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConsentError(f"{name} must be a non-empty text, given {value!r}")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT_CHARS:
        raise ConsentError(f"{name} is {len(text)} characters long; at most {MAX_TEXT_CHARS}")
    return text


def _statement_evidence(home: Home, consent_id: str, wav: Path, text: str, keywords: str) -> dict:
    from guard import asr, speaker
    from guard.audio import load

    wav = Path(wav)
    y = load(wav, sample_rate=EMBED_RATE)
    score = asr.match_score(y, sample_rate=EMBED_RATE, phrase=text, keywords=keywords)
    if score < STATEMENT_THRESHOLD:
        raise ConsentError(f"{wav}: the statement does not say the consent template (match score {score:.2f} < "
                           f"{STATEMENT_THRESHOLD:.2f}); record it again reading `voiceguard consent template` word for word")
    embedding = speaker.embed_speaker(y, sample_rate=EMBED_RATE)
    folder = home.root / "consents"
    folder.mkdir(mode=0o700, exist_ok=True)
    kept = folder / f"{consent_id}{wav.suffix.lower() or '.wav'}"
    shutil.copyfile(wav, kept)
    os.chmod(kept, 0o600)
    return {"kind": "statement", "file": str(kept.resolve()), "sha256": sha256_file(kept),
            "duration_s": round(y.shape[0] / EMBED_RATE, 3), "template": text,
            "match_score": round(float(score), 4), "match_threshold": STATEMENT_THRESHOLD,
            "speaker_embedding": [round(float(v), 6) for v in embedding]}


def grant(home: Home, *, voice_id: str, subject: str, operator: str, purposes: Sequence[str],
          expires: date | str, languages: Sequence[str] = ("en",), statement_wav: Path | None = None,
          license_text: str | None = None) -> Consent:
    """Record a consent, with exactly one kind of evidence, and log it as ``consent.granted``.

    Parameters
    ----------
    home : Home
    voice_id : str
        ``[a-z0-9][a-z0-9_-]{0,63}``.
    subject, operator : str
        The person whose voice it is, and who may use it.
    purposes : sequence of str
        From :data:`PURPOSES`; a licence allows only :data:`LICENSE_PURPOSES`.
    expires : date or "YYYY-MM-DD"
        Last day the consent is valid (through the end of that day, UTC); must not be past.
    languages : sequence of str
    statement_wav : Path, optional
        The subject reading :func:`template`; checked by speech recognition, kept in the home
        with its SHA-256 and speaker embedding.
    license_text : str, optional
        The licence of a research corpus.

    Raises
    ------
    ConsentError
        Bad voice id, unknown purpose, already expired, both or neither evidence, a licence
        for a non-research purpose, or a statement that does not say the template.
    """
    voice_id = check_voice_id(voice_id)
    subject = _one_line(subject, "subject")
    operator = _one_line(operator, "operator")
    purposes = check_purposes(purposes)
    day = as_date(expires)
    now = datetime.now(timezone.utc)
    if end_of(day) <= now:
        raise ConsentError(f"consent would already be expired: expires={day.isoformat()} is in the past")
    langs = tuple(_one_line(x, "language").lower() for x in ([languages] if isinstance(languages, str) else languages))
    if not langs:
        raise ConsentError("at least one language is needed, e.g. languages=('en',)")
    if (statement_wav is None) == (license_text is None):
        raise ConsentError("give exactly one kind of evidence: a spoken statement (--statement WAV) or a licence "
                           "(--license TEXT)")
    consent_id = f"consent-{secrets.token_hex(8)}"
    if license_text is not None:
        outside = [p for p in purposes if p not in LICENSE_PURPOSES]
        if outside:
            raise ConsentError(f"a licence allows only {', '.join(LICENSE_PURPOSES)}; purposes {', '.join(outside)} "
                               f"need a spoken statement from the speaker")
        text = license_text.strip()
        if not text:
            raise ConsentError("license text is empty")
        evidence = {"kind": "license", "text": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    else:
        text = template(subject=subject, operator=operator, purposes=purposes, expires=day)
        keys = key_words(subject=subject, operator=operator, purposes=purposes, expires=day)
        evidence = _statement_evidence(home, consent_id, Path(statement_wav), text, keys)  # type: ignore[arg-type]
    record = Consent(consent_id, voice_id, subject, operator, purposes, langs, now, end_of(day), evidence, now)
    record = replace(record, signature=home.signing_key().sign(record.message()).hex())
    from guard import ledger

    try:
        ledger.append(home, "consent.granted", {**record.signed_fields(), "signature": record.signature})
    except BaseException:
        if evidence["kind"] == "statement":
            Path(evidence["file"]).unlink(missing_ok=True)
        raise
    return record


def _all(home: Home) -> dict[str, Consent]:
    from guard.ledger import Ledger
    from guard.ledger.canon import load_public_key

    records: dict[str, Consent] = {}
    with Ledger(home) as led:
        key = load_public_key(led.public_key_hex)
        for event in led.events():
            if event.kind == "consent.granted":
                record = Consent.from_dict(event.body)
                try:
                    key.verify(bytes.fromhex(record.signature), record.message())
                except (InvalidSignature, ValueError) as exc:
                    raise ConsentError(f"consent {record.consent_id}: signature does not verify "
                                       f"({type(exc).__name__}); run `voiceguard audit`") from None
                records[record.consent_id] = record
            elif event.kind == "consent.revoked":
                cid = event.body.get("consent_id")
                if cid in records and records[cid].revoked_at is None:
                    records[cid] = records[cid].with_revocation(event.time, str(event.body.get("reason", "")))
    return records


def get(home: Home, consent_id: str) -> Consent:
    """The consent ``consent_id`` with its revocation, if any; ConsentError when unknown."""
    record = _all(home).get(str(consent_id))
    if record is None:
        raise ConsentError(f"no consent {consent_id!r} in {home.root}; `voiceguard consent list` shows them")
    return record


def list_consents(home: Home) -> list[Consent]:
    """Every consent of the home, oldest first."""
    return list(_all(home).values())


def revoke(home: Home, consent_id: str, *, reason: str) -> None:
    """Revoke a consent by appending ``consent.revoked``; clips after this are refused.

    Raises
    ------
    ConsentError
        Unknown consent, already revoked, or an empty reason.
    """
    reason = _one_line(reason, "reason")
    record = get(home, consent_id)
    if record.revoked_at is not None:
        raise ConsentError(f"consent {consent_id} was already revoked at {record.revoked_at.isoformat()}")
    from guard import ledger

    ledger.append(home, "consent.revoked", {"consent_id": record.consent_id, "voice_id": record.voice_id,
                                            "reason": reason})


def check(home: Home, voice_id: str, purpose: str, at: datetime | None = None) -> Consent:
    """The consent that allows ``purpose`` for ``voice_id`` at ``at`` (default now).

    Raises
    ------
    ConsentError
        Unknown voice (no consent), purpose not covered, or every covering consent expired,
        revoked or not yet valid. The message names the consent and its status.
    """
    voice_id = check_voice_id(voice_id)
    if purpose not in PURPOSES:
        raise ConsentError(f"unknown purpose {purpose!r}; allowed: {', '.join(PURPOSES)}")
    t = as_utc(at)
    mine = [c for c in list_consents(home) if c.voice_id == voice_id]
    if not mine:
        raise ConsentError(f"no consent for voice {voice_id!r}; grant one with `voiceguard consent grant {voice_id} ...`")
    covering = [c for c in mine if purpose in c.purposes]
    if not covering:
        covered = sorted({p for c in mine for p in c.purposes})
        raise ConsentError(f"purpose {purpose!r} is outside the consent for voice {voice_id!r} "
                           f"(it covers {', '.join(covered)})")
    valid = [c for c in covering if c.status(t) == "valid"]
    if valid:
        return max(valid, key=lambda c: c.created_at)
    last = max(covering, key=lambda c: c.created_at)
    raise ConsentError(f"consent {last.consent_id} for voice {voice_id!r} is {last.status(t)}")


def speaker_matches(consent: Consent, recordings: Sequence[Path], *,
                    threshold: float = SPEAKER_THRESHOLD) -> tuple[float, bool]:
    """Whether the recordings' speaker is the one who read the consent statement.

    Parameters
    ----------
    consent : Consent
        With statement evidence (its speaker embedding).
    recordings : sequence of Path
        Audio files of the speaker to enroll (at least one).
    threshold : float in [-1, 1]
        Cosine similarity at or above which the speakers match.

    Returns
    -------
    score : float
        Cosine similarity of the recordings' mean embedding and the statement's.
    ok : bool
        ``score >= threshold``.
    """
    from guard import speaker
    from guard.audio import load

    if consent.evidence.get("kind") != "statement":
        raise ConsentError(f"consent {consent.consent_id} has no spoken statement to compare a speaker with")
    if not -1.0 <= threshold <= 1.0:
        raise ParameterError(f"threshold must be within [-1, 1], given threshold={threshold}")
    paths = [Path(p) for p in recordings]
    if not paths:
        raise ConsentError("no recordings to compare with the consent statement")
    reference = np.asarray(consent.evidence["speaker_embedding"], dtype=np.float32)
    embeddings = [speaker.embed_speaker(load(p, sample_rate=EMBED_RATE), sample_rate=EMBED_RATE) for p in paths]
    score = speaker.similarity(speaker.mean_embedding(embeddings), reference)
    return score, score >= threshold
