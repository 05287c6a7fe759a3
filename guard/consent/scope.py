"""Which consents may cover a clone of an enrolled voice: the enrolled speaker's own, and only while
the consent the voice was enrolled under stands.

A voice is enrolled under one consent. A later consent for the same voice id counts for its
clones only when it is a renewal by the same speaker: the same subject, and, when the voice was
enrolled under a spoken statement, a spoken statement whose speaker embedding matches the
enrollment statement's. A licence or a stranger's grant for that voice id never widens what the
voice may be used for. Revoking the enrollment consent stops every clone of the voice for good:
cloning that speaker again takes a new enrollment (a new voice id) under a new consent.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from guard.consent.record import PURPOSES, Consent, as_utc, check_voice_id, name_key
from guard.errors import ConsentError
from guard.home import Home


def renews(candidate: Consent, enrolled: Consent, *, speaker_threshold: float | None = None) -> bool:
    """Whether ``candidate`` is the enrolled speaker's own consent for the same voice.

    Parameters
    ----------
    candidate, enrolled : Consent
        ``enrolled`` is the consent the voice was enrolled under.
    speaker_threshold : float in [-1, 1], optional
        Cosine similarity of the two statements' speaker embeddings at or above which they are
        one speaker; default :data:`guard.consent.SPEAKER_THRESHOLD`.

    Returns
    -------
    bool
        True for ``enrolled`` itself; for another consent, True when it names the same voice and
        subject, has the same kind of evidence, and (for a spoken statement) was spoken by the
        same speaker.
    """
    if candidate.consent_id == enrolled.consent_id:
        return True
    if candidate.voice_id != enrolled.voice_id or name_key(candidate.subject) != name_key(enrolled.subject):
        return False
    if candidate.evidence.get("kind") != enrolled.evidence.get("kind"):
        # a statement cannot renew a licence: there is no recording of the licensed voice to
        # compare its speaker with, so anyone could read one in the subject's name
        return False
    if enrolled.evidence.get("kind") != "statement":
        return True
    from guard import speaker
    from guard.consent import SPEAKER_THRESHOLD

    threshold = SPEAKER_THRESHOLD if speaker_threshold is None else speaker_threshold
    try:
        a = np.asarray(candidate.evidence["speaker_embedding"], dtype=np.float32)
        b = np.asarray(enrolled.evidence["speaker_embedding"], dtype=np.float32)
        return speaker.similarity(a, b) >= threshold
    except (KeyError, TypeError, ValueError):
        return False


def check_evidence(home: Home, record: Consent) -> None:
    """ConsentError when a consent's kept statement recording is missing or no longer the one it was granted on.

    A decision must not rest on evidence the audit would fail: the statement is hashed again
    (a few milliseconds) and compared with the hash its signed record keeps.
    """
    from guard.digest import sha256_file

    evidence = record.evidence
    if evidence.get("kind") != "statement":
        return
    kept = home.stored_file(str(evidence.get("file", "")))
    try:
        same = sha256_file(kept) == evidence.get("sha256")
    except OSError:
        raise ConsentError(f"consent {record.consent_id}: its statement recording {kept} is missing or unreadable; "
                           f"restore it from a backup (`voiceguard audit` lists what else is missing)") from None
    if not same:
        raise ConsentError(f"consent {record.consent_id}: its statement recording {kept} was changed after the consent "
                           f"was granted; restore it from a backup and run `voiceguard audit`")


def check_enrolled(home: Home, voice_id: str, purpose: str, *, enrolled_under: str,
                   at: datetime | None = None) -> Consent:
    """The consent that allows a clone of the enrolled voice ``voice_id`` for ``purpose`` at ``at``.

    Parameters
    ----------
    home : Home
    voice_id : str
    purpose : str
        From :data:`PURPOSES`.
    enrolled_under : str
        The consent id the voice was enrolled under (its ``voice.enrolled`` ledger event).
    at : datetime, optional
        Default now.

    Returns
    -------
    Consent
        The newest valid consent of the enrolled speaker (:func:`renews`) that covers ``purpose``.

    Raises
    ------
    ConsentError
        The enrollment consent is unknown, of another voice, or revoked; the purpose is unknown or
        not covered by the enrolled speaker's consents (the message lists what they cover); or
        every covering consent is expired, revoked or not yet valid.
    """
    from guard.consent import list_consents

    voice_id = check_voice_id(voice_id)
    t = as_utc(at)
    records = list_consents(home)
    enrolled = next((c for c in records if c.consent_id == enrolled_under), None)
    if enrolled is None or enrolled.voice_id != voice_id:
        raise ConsentError(f"voice {voice_id!r} was enrolled under consent {enrolled_under!r}, which is not a consent "
                           f"for it in {home.root}; run `voiceguard audit`")
    if enrolled.revoked_at is not None and t >= enrolled.revoked_at:
        raise ConsentError(f"consent {enrolled.consent_id}, under which voice {voice_id!r} was enrolled, was revoked at "
                           f"{enrolled.revoked_at.isoformat()}; no clone of this voice; to clone it again, enroll "
                           f"the speaker's recordings under a new voice id with a new consent")
    own = [c for c in records if renews(c, enrolled)]
    own_ids = {c.consent_id for c in own}
    covered = sorted({p for c in own for p in c.purposes}, key=PURPOSES.index)
    if purpose not in PURPOSES:
        raise ConsentError(f"unknown purpose {purpose!r}; the consent of voice {voice_id!r} covers "
                           f"{', '.join(covered)}")
    covering = [c for c in own if purpose in c.purposes]
    if not covering:
        message = (f"purpose {purpose!r} is outside the consent of voice {voice_id!r} (its enrolled speaker "
                   f"{enrolled.subject!r} agreed to {', '.join(covered)})")
        stranger = next((c for c in records if c.voice_id == voice_id and purpose in c.purposes and c.consent_id not in own_ids), None)
        if stranger is not None:
            message += (f"; consent {stranger.consent_id} (subject {stranger.subject!r}, evidence "
                        f"{stranger.evidence.get('kind')}) is not the enrolled speaker's own and does not count")
        raise ConsentError(message)
    valid = [c for c in covering if c.status(t) == "valid"]
    if valid:
        chosen = max(valid, key=lambda c: c.created_at)
        for record in [enrolled] + ([chosen] if chosen.consent_id != enrolled.consent_id else []):
            check_evidence(home, record)
        return chosen
    last = max(covering, key=lambda c: c.created_at)
    raise ConsentError(f"consent {last.consent_id} for voice {voice_id!r} is {last.status(t)}; the enrolled speaker "
                       f"can renew it with `voiceguard consent grant {voice_id} ...`")
