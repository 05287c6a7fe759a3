"""The spoken statement must say this consent, field by field, and one recording backs one consent (synthetic speech).

Its one-time code (tests/test_consent_challenge.py) is logged in each home with clone_support.issue_code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clone_support import EXPIRES, SR, STATEMENT_CODE, issue_code
from clone_support import NOVA_TERMS as WHO

from cloner import personas
from guard import consent
from guard.audio import save
from guard.consent.template import statement_text
from guard.errors import AudioError, ConsentError
from guard.home import Home


@pytest.fixture
def statement(home: Home, nova_statement: Path) -> Path:
    """Persona nova reading the statement of WHO until EXPIRES, its code issued in ``home``."""
    issue_code(home, **WHO, expires=EXPIRES)
    return nova_statement


def test_own_statement_is_accepted_and_backs_only_its_consent(home: Home, statement: Path) -> None:
    c = consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    fields = c.evidence["field_scores"]
    assert set(fields) == {"subject", "operator", "purpose:research", "purpose:audiobook", "expires", "code"}
    assert min(fields.values()) >= consent.NAME_THRESHOLD and c.evidence["match_score"] >= consent.STATEMENT_THRESHOLD
    for change in ({"voice_id": "mallory"}, {"operator": "Shady Corp"}, {"purposes": ["research"]}):
        args = {"voice_id": "nova", **WHO, **change}
        with pytest.raises(ConsentError, match=f"already the evidence of consent {c.consent_id}"):
            consent.grant(home, expires=EXPIRES, statement_wav=statement, **args)
    consent.revoke(home, c.consent_id, reason="withdrawn")
    with pytest.raises(ConsentError, match="which was revoked; a new consent needs a new recording"):
        consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    # other bytes, same recording: re-encoded, quieter, trimmed, played 3 % fast
    from guard.audio import load, resample

    y = load(statement, sample_rate=SR)
    copies = {"copy.mp3": y, "quiet.flac": 0.5 * y, "trimmed.wav": y[SR // 2:],
              "fast.wav": resample(y, orig_sr=SR, target_sr=int(SR / 1.03))}
    for name, audio in copies.items():
        copy = save(statement.parent / name, audio, sample_rate=SR)
        with pytest.raises(ConsentError, match=rf"or a copy of it\) is the evidence of consent {c.consent_id}, which was revoked"):
            consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=copy, **WHO)
    assert len(consent.list_consents(home)) == 1


def test_recording_similarity_tells_copies_from_other_readings() -> None:
    from guard.audio import transcode
    from guard.consent.fingerprint import SAME_RECORDING, similarity

    nova = personas.get("nova")
    a = nova.speak(statement_text(**WHO, expires=EXPIRES, code=STATEMENT_CODE), sample_rate=16000)
    other = nova.speak(statement_text(**WHO, expires=EXPIRES.replace(month=6), code=STATEMENT_CODE), sample_rate=16000)
    assert similarity(a, transcode(a, sample_rate=16000, codec="opus", bitrate_bps=16000)) >= SAME_RECORDING
    assert similarity(a, other) < SAME_RECORDING  # another date read: another recording
    assert similarity(a, a[:8000]) == 0.0 and similarity(a[:100], a[:100]) == 0.0  # lengths apart; too short


@pytest.mark.parametrize(("change", "match"), [
    ({"operator": "Shady Corp"}, r"does not say this consent's operator \(0\.00 of its words heard"),
    ({"expires": EXPIRES.replace(year=EXPIRES.year + 1)}, "names another expiry date|expiry date"),
])
def test_a_claim_the_statement_does_not_say_is_refused(home: Home, statement: Path, change: dict, match: str) -> None:
    args = {"voice_id": "nova", "expires": EXPIRES, **WHO, **change}
    issue_code(home, **{k: v for k, v in args.items() if k != "voice_id"})  # the code of the claimed terms, as said
    with pytest.raises(ConsentError, match=match) as info:
        consent.grant(home, statement_wav=statement, **args)
    assert str(info.value).startswith(f"{statement}: ")
    assert consent.list_consents(home) == [] and not list((home.root / "consents").glob("*"))


@pytest.mark.parametrize(("y", "match"), [
    (np.zeros(SR * 2, dtype=np.float32), "no speech to recognise: the audio is silent"),
    (np.full(10, 0.1, dtype=np.float32), "too short to recognise"),
])
def test_unusable_statement_audio_names_the_file(home: Home, tmp_path: Path, y: np.ndarray, match: str) -> None:
    issue_code(home, **WHO, expires=EXPIRES)
    path = save(tmp_path / "bad-statement.wav", y, sample_rate=SR)
    with pytest.raises(AudioError, match=match) as info:
        consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=path, **WHO)
    assert str(info.value).startswith(f"{path}: ") and "record the speaker" in str(info.value)
    assert consent.list_consents(home) == []


def test_two_grants_of_one_recording_at_once_give_one_consent(home: Home, statement: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the rival grant lands after this one checked the recording and before it is logged
    from guard import ledger

    append = ledger.append
    raced: list[str] = []

    def rival_first(home_, kind, body, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if kind == "consent.granted" and not raced:
            raced.append("x")
            raced.append(consent.grant(home, voice_id="mallory", expires=EXPIRES, statement_wav=statement,
                                       **WHO).consent_id)
        return append(home_, kind, body, **kwargs)

    monkeypatch.setattr(ledger, "append", rival_first)
    with pytest.raises(ConsentError, match="is already the evidence of consent") as refused:
        consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    (kept,) = consent.list_consents(home)
    assert kept.voice_id == "mallory" and kept.consent_id == raced[-1] and raced[-1] in str(refused.value)
    assert [p.name for p in (home.root / "consents").iterdir()] == [Path(kept.evidence["file"]).name]


def test_a_statement_recording_changed_after_the_grant_stops_every_decision(home: Home, statement: Path) -> None:
    c = consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    assert consent.check(home, "nova", "research").consent_id == c.consent_id
    kept = Path(c.evidence["file"])
    kept.write_bytes(kept.read_bytes()[:-100])  # another recording put in its place
    for decide in (lambda: consent.check(home, "nova", "research"),
                   lambda: consent.get_valid(home, c.consent_id, voice_id="nova", needed_for="enrollment"),
                   lambda: consent.check_enrolled(home, "nova", "research", enrolled_under=c.consent_id)):
        with pytest.raises(ConsentError, match="its statement recording .* was changed after the consent was granted"):
            decide()
    kept.unlink()
    with pytest.raises(ConsentError, match="is missing or unreadable; restore it from a backup"):
        consent.check(home, "nova", "research")


def test_a_statement_granted_again_on_the_same_terms_is_refused(home: Home, statement: Path) -> None:
    first = consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    with pytest.raises(ConsentError, match=f"consent {first.consent_id} already records this agreement"):
        consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    assert len(consent.list_consents(home)) == 1 and len(list((home.root / "consents").iterdir())) == 1


def _snapshot(home: Home, where: Path) -> Home:
    """A copy of ``home`` as it is on disk now: what a process killed at this point leaves behind."""
    import shutil

    shutil.copytree(home.root, where, ignore=shutil.ignore_patterns("*-shm"))  # SQLite rebuilds the index
    return Home(where)


@pytest.mark.parametrize("killed", ["before the ledger is opened", "with its copy placed, before the commit"])
def test_a_grant_killed_before_its_commit_leaves_at_most_a_noted_statement(home: Home, statement: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       killed: str) -> None:
    from guard import ledger
    from guard.ledger.audit import audit_home

    append = ledger.append
    left: list[Home] = []

    def kill_here() -> None:  # a kill leaves the disk as it is: copy it, then stop as Ctrl-C would
        left.append(_snapshot(home, tmp_path / "left"))
        raise KeyboardInterrupt

    def interrupted(home_, kind, body, precondition=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if killed.startswith("before"):
            kill_here()

        def then_killed() -> None:
            precondition()
            kill_here()

        return append(home_, kind, body, precondition=then_killed, **kwargs)

    monkeypatch.setattr(ledger, "append", interrupted)
    with pytest.raises(KeyboardInterrupt):
        consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    monkeypatch.setattr(ledger, "append", append)
    assert not list((home.root / "consents").glob("*"))  # interrupted: the copy taken back
    (dead,) = left
    strays = sorted((dead.root / "consents").glob("*")) if (dead.root / "consents").is_dir() else []
    assert len(strays) == (0 if killed.startswith("before") else 1)  # killed: at most the copy under the lock
    report = audit_home(dead)
    assert report.ok and [n.id for n in report.notes] == [str(p) for p in strays], (report.failures, report.notes)
    granted = consent.grant(dead, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    # the whole copy left by the kill is kept for people to judge (it might be a consent's in a backup)
    assert sorted((dead.root / "consents").iterdir()) == sorted([*strays, Path(granted.evidence["file"])])
    again = audit_home(dead)
    assert again.ok and [n.id for n in again.notes] == [str(p) for p in strays]


def test_a_grant_interrupted_after_its_commit_keeps_its_statement(home: Home, statement: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.ledger import store

    def interrupted(*args: object) -> None:  # Ctrl-C as the checkpoint file is written: the consent has landed
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "write_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        consent.grant(home, voice_id="nova", expires=EXPIRES, statement_wav=statement, **WHO)
    (granted,) = consent.list_consents(home)
    assert Path(granted.evidence["file"]).is_file()
    assert consent.check(home, "nova", "research").consent_id == granted.consent_id  # its evidence still checks
