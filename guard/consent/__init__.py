"""Consent: records with spoken or licence evidence, their scope and expiry, and revocation.

A spoken statement is read from :func:`template`, which issues a one-time code in the home
(``consent.challenge``, :mod:`guard.consent.challenge`); a grant accepts the recording only with
the code of an open challenge issued for its terms. A grant is signed with the home's Ed25519
key and written to the ledger as ``consent.granted``; a revocation is a later
``consent.revoked`` event, never an edit. The cloner calls :func:`check_enrolled` before every
clip (only the enrolled speaker's own consent counts) and :func:`speaker_matches` at enrollment.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidSignature

from guard.consent.challenge import VALID_DAYS, issue_statement, template
from guard.consent.evidence import (
    check_code_unused,
    check_not_granted,
    check_reuse,
    keep_statement,
    licence_evidence,
    statement_evidence,
    sweep_statements,
)
from guard.consent.record import (
    LICENSE_PURPOSES,
    MAX_EXPIRY_YEARS,
    PURPOSES,
    STATUSES,
    Consent,
    as_date,
    as_utc,
    check_expiry,
    check_languages,
    check_purposes,
    check_voice_id,
    end_of,
    one_line,
)
from guard.consent.scope import check_enrolled, check_evidence, renews
from guard.consent.template import spoken_names
from guard.consent.verdict import (
    DATE_THRESHOLD,
    NAME_THRESHOLD,
    PURPOSE_THRESHOLD,
    STATEMENT_THRESHOLD,
)
from guard.digest import sha256_file
from guard.errors import AudioError, ConsentError, ParameterError
from guard.home import Home

__all__ = ["PURPOSES", "LICENSE_PURPOSES", "STATUSES", "MAX_EXPIRY_YEARS", "VALID_DAYS", "Consent", "template",
           "issue_statement", "grant", "revoke",
           "get", "get_valid", "list_consents", "check", "check_enrolled", "renews", "speaker_matches", "STATEMENT_THRESHOLD",
           "NAME_THRESHOLD", "PURPOSE_THRESHOLD", "DATE_THRESHOLD", "SPEAKER_THRESHOLD",
           "SPEAKER_THRESHOLD_EACH", "SPEAKER_THRESHOLD_WINDOW", "SpeakerMatch"]

# The statement check (guard.consent.statement, guard.consent.verdict): the recording is decoded
# once, with the claimed statement, ~500 common words and every month, ordinal, number, year and
# purpose word in the language model. It must say STATEMENT_THRESHOLD of the statement's words in
# order; NAME_THRESHOLD of the subject's and of the operator's words; PURPOSE_THRESHOLD of every
# purpose's words; DATE_THRESHOLD of the expiry's day, month and year words, with no other month,
# ordinal or number heard where the date is said; and, since consent codes, every digit of an open
# code issued for these terms, with no other digit where the code is said (measured by
# eval/bench_consent_code.py). Before codes, measured on espeak-ng speech (synthetic: personas
# nova, orson, juniper and en-us+f3, each reading four statements, scored against its own claim and
# against claims with another subject, operator, purposes or date; 144 decodes): own claims scored
# 0.76-1.00 overall and 12/16 were accepted (the 4 refused each had one name or purpose misheard);
# claims with another subject, operator or purposes scored 0.67-0.95 overall (so the overall score
# cannot tell) but 0.00 on the changed field: 0/64 accepted; another day 0/16, another year 3/16,
# another month 8/16 (the recogniser hears neither month), a date years apart 0/16 accepted.
# Cosine similarity of resemblyzer embeddings at or above which two recordings are taken as one
# speaker: the equal-error threshold on all real speech pooled, measured by
# `voiceguard bench ledger --speaker-eer` (seed 0): librispeech-sample 251 speakers EER 2.0% (at 0.722),
# asterisk Allison vs librispeech at 8 kHz EER 3.0% (at 0.754), pooled EER 2.2% (at 0.731). espeak-ng
# voices are far closer to each other (EER 18.8% at 0.900): this check does not tell two espeak voices apart.
SPEAKER_THRESHOLD = 0.73
# Cosine similarity at or above which each enrollment recording on its own is taken as the statement's
# speaker (beside SPEAKER_THRESHOLD on all recordings together). One 2-5 s take embeds noisier than a whole
# statement, so genuine takes score lower one by one. Measured (seed 0) on takes against a statement by the
# same speaker: librispeech-sample (213 speakers: first 6 s as the statement, the rest in 2-5 s takes) 0/473
# takes below 0.60 (lowest 0.660; 2-2.5 s takes median 0.85), the same takes band-limited to 8 kHz 0/473
# (lowest 0.639), with white noise at 20 dB SNR 4/473 (where the mean check already refuses 19/213 speakers);
# asterisk Allison at 8 kHz (5 statements of ~20 s, 154 takes) 0/770 (lowest 0.650); espeak personas nova,
# orson, juniper (a statement each, 64 script sentences each) 0/192 (lowest 0.832); random 30-take
# enrollments refused 0/1000 (Allison) and 0/600 (personas). Another speaker's takes: librispeech pairs
# 20.8% of 100276 takes at or above 0.60; persona orson's takes against nova's statement 0.47-0.57 (0/64 at
# or above), so 1, 3, 6 or 15 of them among 30 nova takes are refused 200/200 draws each, where the mean
# check alone refused 0/200 even at 15. A block of a real speaker who sounds close enough passes (about 6%
# of random librispeech speakers for a 15-take block, modelled), and no threshold tells nova from juniper.
# `voiceguard bench ledger --speaker-eer` re-measures it (per_recording): at 8 kHz other speakers' takes pass
# 0.60 about two times in three (65.7% of 2,365 LibriSpeech takes against Allison's statements), so for
# telephone-band enrollments the check on all recordings together is the main guard.
SPEAKER_THRESHOLD_EACH = 0.60
# Cosine similarity that every window of every enrollment recording must reach: the encoder embeds each
# recording as windows of 1.6 s of speech, one every 0.77 s (guard.speaker.embed_speaker_windows, at no
# extra cost), so a recording that holds another voice for about a window or more is refused even when
# the whole of it passes SPEAKER_THRESHOLD_EACH. Measured (seed 0, the takes and statements above, each
# take's lowest window): genuine takes refused 0/473 on librispeech-sample (lowest window 0.660), 0/473
# band-limited to 8 kHz (0.548), 0/473 with white noise at 20 dB SNR (0.516), 0/180 whole 6-11 s
# librispeech takes clean (0.673) and at 8 kHz (0.548), asterisk Allison 0/770 (0.611), personas 0/192
# (0.696); so 30-take enrollments 0/1000 (Allison) and 0/600 (personas). At 0.55 band and noise lose
# 1/473 and 2/473 takes, at 0.60 6/473 and 10/473 (a refused 30-take enrollment in about 3 of 10 on a
# telephone band), hence 0.50. Splices (the first or last part of each of 30 script takes by persona
# nova, the rest by orson, against nova's statement; and orson's statement with nova's speech), takes
# refused by either per-recording check: the consenting voice's share 15-35 %: 11-29 of 30; 50 %: 4-18
# of 30; 65 %: 0-2 of 30; 80 %: 0 of 30. So an enrollment whose every take is at least half another
# voice is refused (the QA's 50/35/25 % splices were accepted before), one where another voice holds a
# third of each take sometimes passes, and one where it holds a fifth (~0.6 s of a 3 s take, less than a
# window) passes. No threshold tells two espeak personas apart (nova's windows against juniper's 0.82).
SPEAKER_THRESHOLD_WINDOW = 0.50
EMBED_RATE = 16000


def grant(home: Home, *, voice_id: str, subject: str, operator: str, purposes: Sequence[str],
          expires: date | str, languages: Sequence[str] = ("en",), statement_wav: Path | None = None,
          license_text: str | None = None, notify: Callable[[str], None] | None = None) -> Consent:
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
        Last day the consent is valid (through the end of that day, UTC); must not be past, nor
        more than :data:`MAX_EXPIRY_YEARS` years ahead.
    languages : str or sequence of str
        Language tags (:func:`guard.consent.record.check_languages`: ``en``, ``en-gb``), lowercased. They
        are the operator's declaration: the spoken statement names no language, so they are not
        checked against the recording. A tag covers itself and the tags it prefixes (``en``
        covers ``en-us``; :func:`guard.consent.record.language_covered`).
    statement_wav : Path, optional
        The subject reading :func:`template`; checked by speech recognition (overall and field
        by field, and its one-time code: that of a challenge of this home issued for exactly
        these terms, not expired now and cited by no other consent; the evidence names it as
        ``challenge_id``), kept in the home with its SHA-256 and speaker embedding. A recording that
        already backs a consent on other terms, or a revoked one, is refused. The copy is
        put in the home's ``consents/`` folder only while the grant holds the ledger's write
        lock, and taken back unless the consent is committed; a copy left by a grant killed
        in between is noted by the audit.
    license_text : str, optional
        The licence of a research corpus.
    notify : callable(str), optional
        Told, once every cheap check has passed, that the statement recording is being checked
        (speech recognition takes seconds); not called for a licence.

    Raises
    ------
    ConsentError
        Bad voice id, unknown purpose, a language that is not a tag, already expired or too far
        ahead, both or neither evidence, an unrevoked consent with these terms, languages and
        evidence already (a licence on other languages is a new consent; a statement recording
        already behind a consent that differs only in its languages is refused, saying so), a
        licence for a non-research purpose, a statement that does not say this consent's template,
        no open code for these terms or a code heard that is none of them (expired or already
        used: named), or a statement recording already used for another consent.
    AudioError
        The statement recording is unreadable or has no usable speech (the file is named).
    """
    voice_id = check_voice_id(voice_id)
    subject = one_line(subject, "subject")
    operator = one_line(operator, "operator")
    purposes = check_purposes(purposes)
    day = as_date(expires)
    now = datetime.now(timezone.utc)
    check_expiry(day, today=now.date())
    if end_of(day) <= now:
        raise ConsentError(f"consent would already be expired: expires={day.isoformat()} is in the past")
    langs = check_languages(languages)
    if (statement_wav is None) == (license_text is None):
        raise ConsentError("give exactly one kind of evidence: a spoken statement (--statement WAV) or a licence "
                           "(--license TEXT)")
    consent_id = f"consent-{secrets.token_hex(8)}"
    existing = list_consents(home)
    # the same agreement granted again (a retry after a grant was killed once it had committed)
    if license_text is not None:
        kind, evidence = "license", licence_evidence(license_text)
        digest: str | None = evidence["sha256"]
    else:
        wav = Path(statement_wav)  # type: ignore[arg-type]
        kind, digest = "statement", sha256_file(wav) if wav.is_file() else None  # unreadable: named below
    terms = {"voice_id": voice_id, "subject": subject, "operator": operator, "purposes": purposes, "day": day,
             "languages": langs, "wav": None if statement_wav is None else Path(statement_wav)}
    if digest is not None:
        check_not_granted(existing, kind=kind, digest=digest, **terms)
    if license_text is not None:
        outside = [p for p in purposes if p not in LICENSE_PURPOSES]
        if outside:
            raise ConsentError(f"a licence allows only {', '.join(LICENSE_PURPOSES)}; purposes {', '.join(outside)} "
                               f"need a spoken statement from the speaker")
    else:
        spoken_names(subject=subject, operator=operator)  # a name the check cannot hear: refused before any work
        if notify is not None and wav.is_file():  # a missing file is named at once, below
            notify("Checking the statement (speech recognition and speaker embedding)...")
        evidence = statement_evidence(home, consent_id, wav, voice_id=voice_id, subject=subject, operator=operator,
                                      purposes=purposes, day=day, languages=langs, existing=existing, at=now)
    record = Consent(consent_id, voice_id, subject, operator, purposes, langs, now, end_of(day), evidence, now)
    record = replace(record, signature=home.signing_key().sign(record.message()).hex())
    from guard import ledger

    def still_unused() -> None:  # under the ledger's write lock: two grants of one recording at once
        existing = list_consents(home)
        if digest is not None:
            check_not_granted(existing, kind=kind, digest=digest, **terms)
        if evidence["kind"] == "statement":
            check_reuse(Path(statement_wav), evidence["sha256"], existing, voice_id=voice_id,  # type: ignore[arg-type]
                        subject=subject, operator=operator, purposes=purposes, day=day, languages=langs)
            check_code_unused(Path(statement_wav), evidence["challenge_id"], existing)  # type: ignore[arg-type]
        sweep_statements(home)  # half-made copies of grants killed while copying
        if evidence["kind"] == "statement":  # last: nothing that could refuse the grant follows
            keep_statement(Path(statement_wav), evidence)  # type: ignore[arg-type]

    def take_back() -> None:  # the event was not committed: no consent refers to the copy (named by this grant's id)
        if evidence["kind"] == "statement":
            with contextlib.suppress(OSError):  # a copy left behind is swept by the next grant
                Path(evidence["file"]).unlink(missing_ok=True)

    ledger.append(home, "consent.granted", {**record.signed_fields(), "signature": record.signature},
                  precondition=still_unused, on_abort=take_back)
    return record


def _all(home: Home) -> dict[str, Consent]:
    from guard.ledger import Ledger
    from guard.ledger.canon import load_public_key

    records: dict[str, Consent] = {}
    with Ledger(home) as led:
        # checked against the signed tree head: a revocation deleted or edited behind the ledger's
        # back must not read as no revocation
        events = led.verified_events()
        key = load_public_key(led.public_key_hex)
        for event in events:
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


def get_valid(home: Home, consent_id: str, *, voice_id: str, needed_for: str) -> Consent:
    """The consent ``consent_id`` if it names ``voice_id`` and is valid now; ConsentError otherwise.

    Parameters
    ----------
    needed_for : str
        What the caller is about to do, for the refusal ("enrollment", "a clip's record").
    """
    record = get(home, consent_id)
    if record.voice_id != voice_id:
        raise ConsentError(f"consent {consent_id} is for voice {record.voice_id!r}, not {voice_id!r}")
    status = record.status()
    if status != "valid":
        raise ConsentError(f"consent {consent_id} for voice {voice_id!r} is {status}; {needed_for} needs a valid "
                           f"consent")
    check_evidence(home, record)
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
    reason = one_line(reason, "reason")

    def not_yet_revoked() -> Consent:  # checked again under the ledger's write lock: two revokes at once
        record = get(home, consent_id)
        if record.revoked_at is not None:
            raise ConsentError(f"consent {consent_id} was already revoked at {record.revoked_at.isoformat()}")
        return record

    record = not_yet_revoked()
    from guard import ledger

    ledger.append(home, "consent.revoked", {"consent_id": record.consent_id, "voice_id": record.voice_id,
                                            "reason": reason}, precondition=not_yet_revoked)


def check(home: Home, voice_id: str, purpose: str, at: datetime | None = None) -> Consent:
    """A consent for ``voice_id`` that allows ``purpose`` at ``at`` (default now), whoever granted it.

    For a voice enrolled through the cloner use :func:`check_enrolled`, which counts only the
    enrolled speaker's own consent; this answers for voice ids with no enrollment (another
    generator logging its clips through :mod:`guard.provenance`).

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
        chosen = max(valid, key=lambda c: c.created_at)
        check_evidence(home, chosen)
        return chosen
    last = max(covering, key=lambda c: c.created_at)
    raise ConsentError(f"consent {last.consent_id} for voice {voice_id!r} is {last.status(t)}")


@dataclass(frozen=True)
class SpeakerMatch:
    """How well enrollment recordings match the speaker of a consent statement.

    Unpacks as ``(score, ok)``, the pair :func:`speaker_matches` returned before it checked each
    recording: ``score, ok = speaker_matches(...)``.

    Attributes
    ----------
    score : float in [-1, 1]
        Cosine similarity of the recordings' mean embedding and the statement's.
    threshold : float
        What ``score`` must reach.
    recordings : tuple of Path
        The recordings, in the order given.
    scores : tuple of float
        Each recording's cosine similarity to the statement, in the order of ``recordings``.
    each_threshold : float
        What every one of ``scores`` must reach.
    window_scores : tuple of float
        Each recording's lowest similarity of a 1.6 s window of its speech to the statement, in the
        order of ``recordings`` (empty: windows were not checked).
    window_threshold : float
        What every one of ``window_scores`` must reach.
    """

    score: float
    threshold: float
    recordings: tuple[Path, ...]
    scores: tuple[float, ...]
    each_threshold: float
    window_scores: tuple[float, ...] = ()
    window_threshold: float = SPEAKER_THRESHOLD_WINDOW

    @property
    def mean_ok(self) -> bool:
        """The recordings together sound like the statement's speaker."""
        return self.score >= self.threshold

    @property
    def mismatched(self) -> list[tuple[Path, float]]:
        """``(recording, score)`` of each recording below ``each_threshold``, in the order given."""
        return [(p, s) for p, s in zip(self.recordings, self.scores) if s < self.each_threshold]

    @property
    def mixed(self) -> list[tuple[Path, float]]:
        """``(recording, lowest window score)`` of each recording that passes as a whole but has a window
        below ``window_threshold`` (part of it another voice), in the order given."""
        return [(p, w) for p, s, w in zip(self.recordings, self.scores, self.window_scores)
                if s >= self.each_threshold and w < self.window_threshold]

    @property
    def ok(self) -> bool:
        """The recordings together, every one of them and every window of each match the statement's speaker."""
        return self.mean_ok and not self.mismatched and not self.mixed

    def __iter__(self) -> Iterator[float | bool]:
        return iter((self.score, self.ok))


def speaker_matches(consent: Consent, recordings: Sequence[Path], *, threshold: float = SPEAKER_THRESHOLD,
                    each_threshold: float = SPEAKER_THRESHOLD_EACH,
                    window_threshold: float = SPEAKER_THRESHOLD_WINDOW) -> SpeakerMatch:
    """Whether the recordings' speaker is the one who read the consent statement, together and one by one.

    Each recording is embedded once, as a whole and in 1.6 s windows of its speech; the mean of the
    embeddings must reach ``threshold``, each embedding on its own ``each_threshold`` and each window
    ``window_threshold``, so neither a block of another speaker's takes nor a set of takes each half or
    more another speaker's speech passes (as measured; single spliced takes and shorter foreign parts
    can: see :data:`SPEAKER_THRESHOLD_WINDOW`).

    Parameters
    ----------
    consent : Consent
        With statement evidence (its speaker embedding).
    recordings : sequence of Path
        Audio files of the speaker to enroll (at least one).
    threshold : float in [-1, 1]
        Cosine similarity at or above which the recordings together match.
    each_threshold : float in [-1, 1]
        Cosine similarity at or above which one recording matches; default
        :data:`SPEAKER_THRESHOLD_EACH`, measured on 2-5 s takes.
    window_threshold : float in [-1, 1]
        Cosine similarity at or above which one 1.6 s window matches; default
        :data:`SPEAKER_THRESHOLD_WINDOW`.

    Returns
    -------
    SpeakerMatch
        ``.ok`` when all three hold; ``.mismatched`` names the recordings below ``each_threshold``,
        ``.mixed`` the others with a window below ``window_threshold``.
        Unpacks as ``(score, ok)``.

    Raises
    ------
    ConsentError
        The consent has no spoken statement, or there are no recordings.
    ParameterError
        A threshold outside [-1, 1].
    AudioError
        A recording that cannot be read or holds too little speech, named.
    """
    from guard import speaker

    if consent.evidence.get("kind") != "statement":
        raise ConsentError(f"consent {consent.consent_id} has no spoken statement to compare a speaker with")
    for name, value in (("threshold", threshold), ("each_threshold", each_threshold),
                        ("window_threshold", window_threshold)):
        if not -1.0 <= value <= 1.0:
            raise ParameterError(f"{name} must be within [-1, 1], given {name}={value}")
    paths = tuple(Path(p) for p in recordings)
    if not paths:
        raise ConsentError("no recordings to compare with the consent statement")
    reference = np.asarray(consent.evidence["speaker_embedding"], dtype=np.float32)
    embedded = [_embed_recording(p) for p in paths]
    embeddings = [whole for whole, _ in embedded]
    lowest = tuple(float(np.min(windows @ (reference / np.linalg.norm(reference)))) for _, windows in embedded)
    return SpeakerMatch(score=speaker.similarity(speaker.mean_embedding(embeddings), reference), threshold=threshold,
                        recordings=paths, scores=tuple(speaker.similarity(e, reference) for e in embeddings),
                        each_threshold=each_threshold, window_scores=lowest, window_threshold=window_threshold)


def _embed_recording(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The speaker embedding of one recording (shape (256,)) and of each 1.6 s window of its speech
    (shape (w, 256)), all L2-normalised; an AudioError names the file."""
    from guard import speaker
    from guard.audio import load

    y = load(path, sample_rate=EMBED_RATE)  # its errors name the file
    try:
        return speaker.embed_speaker_windows(y, sample_rate=EMBED_RATE)
    except AudioError as exc:
        raise AudioError(f"{path}: {exc}") from None
