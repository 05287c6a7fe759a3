"""Consent records: grant rules, scope checks, expiry, revocation, signatures, the template and the CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from guard import consent
from guard.cli import cli
from guard.consent.template import spoken_date
from guard.errors import ConsentError, ParameterError
from guard.home import Home

SOON = date.today() + timedelta(days=30)
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()  # within the 10-year limit on expiry


def licence(home: Home, voice_id: str = "corpus-1", purposes=("research",), expires=SOON) -> consent.Consent:  # noqa: ANN001
    return consent.grant(home, voice_id=voice_id, subject="LibriSpeech reader", operator="Lab", purposes=purposes,
                         expires=expires, license_text="CC BY 4.0")


def test_template_names_everything_in_words(home: Home) -> None:
    expires = date(date.today().year + 1, 3, 14)
    text = consent.template(home, subject="Ada Lovelace", operator="Example Studio", purposes=["research", "audiobook"],
                            expires=expires)
    assert text.startswith("I, Ada Lovelace, agree that Example Studio may use recordings of my voice")
    assert f"for audiobooks and research, until {spoken_date(expires)}. I can withdraw this consent" in text
    assert " My consent code is " in text and text.endswith(".")  # its one-time code: tests/test_consent_challenge.py
    assert not any(c.isdigit() for c in text)
    assert spoken_date(date(2031, 12, 23)) == "the twenty third of December twenty thirty one"
    assert spoken_date(date(2027, 3, 14)) == "the fourteenth of March twenty twenty seven"


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"subject": " "}, ConsentError, "subject"),
    ({"purposes": ["cooking"]}, ConsentError, "unknown purpose"),
    ({"purposes": []}, ConsentError, "at least one purpose"),
    ({"purposes": "research"}, ConsentError, "list of names"),
    ({"expires": "next year"}, ParameterError, "YYYY-MM-DD"),
])
def test_template_rejects_bad_input(home: Home, kwargs: dict, error: type, match: str) -> None:
    args = {"subject": "A", "operator": "B", "purposes": ["research"], "expires": NEXT_YEAR} | kwargs
    with pytest.raises(error, match=match):
        consent.template(home, **args)


def test_licence_grant_is_signed_logged_and_valid(home: Home) -> None:
    c = licence(home)
    assert c.consent_id.startswith("consent-") and c.voice_id == "corpus-1"
    assert c.status() == "valid" and c.evidence["kind"] == "license"
    assert c.expires_at == datetime.combine(SOON + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    home.public_key().verify(bytes.fromhex(c.signature), c.message())
    assert consent.get(home, c.consent_id) == c
    assert [x.consent_id for x in consent.list_consents(home)] == [c.consent_id]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"voice_id": "Amy"}, "voice id must match"),
    ({"voice_id": "-amy"}, "voice id must match"),
    ({"voice_id": "a" * 65}, "voice id must match"),
    ({"voice_id": "amy smith"}, "voice id must match"),
    ({"voice_id": ""}, "voice id must match"),
    ({"purposes": ["audiobook"]}, "a licence allows only research, detector-training"),
    ({"purposes": ["research", "nope"]}, "unknown purpose"),
    ({"expires": date.today() - timedelta(days=1)}, "already be expired"),
    ({"license_text": None}, "exactly one kind of evidence"),
    ({"statement_wav": Path("x.wav")}, "exactly one kind of evidence"),
    ({"license_text": "   "}, "license text is empty"),
    ({"subject": "x" * 500}, "at most 200"),
    ({"languages": []}, "at least one language"),
])
def test_bad_grants_are_refused_and_log_nothing(home: Home, kwargs: dict, match: str) -> None:
    args = {"voice_id": "amy", "subject": "Amy", "operator": "Lab", "purposes": ["research"], "expires": SOON,
            "license_text": "CC BY 4.0"} | kwargs
    with pytest.raises(ConsentError, match=match):
        consent.grant(home, **args)
    assert consent.list_consents(home) == []


def test_check_allows_only_what_the_consent_covers(home: Home) -> None:
    c = licence(home, purposes=("research", "detector-training"))
    assert consent.check(home, "corpus-1", "research").consent_id == c.consent_id
    assert consent.check(home, "corpus-1", "detector-training").consent_id == c.consent_id
    with pytest.raises(ConsentError, match="purpose 'audiobook' is outside the consent"):
        consent.check(home, "corpus-1", "audiobook")
    with pytest.raises(ConsentError, match="unknown purpose"):
        consent.check(home, "corpus-1", "cooking")
    with pytest.raises(ConsentError, match="no consent for voice 'other'"):
        consent.check(home, "other", "research")
    with pytest.raises(ConsentError, match="voice id"):
        consent.check(home, "Bad Id", "research")
    later = datetime.combine(SOON + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    with pytest.raises(ConsentError, match="is expired"):
        consent.check(home, "corpus-1", "research", at=later)
    with pytest.raises(ConsentError, match="is not-yet-valid"):
        consent.check(home, "corpus-1", "research", at=c.created_at - timedelta(seconds=1))
    assert consent.check(home, "corpus-1", "research", at=later - timedelta(microseconds=1))


def test_status_at_times(home: Home) -> None:
    c = licence(home)
    assert c.status(c.created_at - timedelta(days=1)) == "not-yet-valid"
    assert c.status(c.created_at) == "valid"
    assert c.status(c.expires_at) == "expired"
    assert c.status(c.created_at.replace(tzinfo=None) + timedelta(hours=1)) == "valid"  # naive = UTC
    with pytest.raises(ParameterError, match="datetime"):
        c.status("2030-01-01")  # type: ignore[arg-type]


def test_revocation_is_an_event_and_blocks_later_use(home: Home) -> None:
    c = licence(home)
    consent.revoke(home, c.consent_id, reason="the reader asked us to stop")
    revoked = consent.get(home, c.consent_id)
    assert revoked.status() == "revoked" and revoked.revoke_reason == "the reader asked us to stop"
    assert revoked.status(revoked.revoked_at - timedelta(microseconds=1)) == "valid"
    with pytest.raises(ConsentError, match="is revoked"):
        consent.check(home, "corpus-1", "research")
    with pytest.raises(ConsentError, match="already revoked"):
        consent.revoke(home, c.consent_id, reason="again")
    with pytest.raises(ConsentError, match="no consent 'consent-nope'"):
        consent.revoke(home, "consent-nope", reason="x")
    with pytest.raises(ConsentError, match="reason"):
        consent.revoke(home, c.consent_id, reason=" ")
    fresh = licence(home)
    assert consent.check(home, "corpus-1", "research").consent_id == fresh.consent_id


def test_tampered_consent_record_is_refused(home: Home) -> None:
    from guard.errors import LedgerError

    c = licence(home)
    with sqlite3.connect(home.ledger_path) as conn:
        conn.execute("UPDATE events SET canonical = replace(canonical, '\"research\"', '\"audiobook\"')")
    with pytest.raises(LedgerError, match=r"does not match its signed tree head: event 0 \(consent.granted\) was "
                                          r"changed after it was logged"):
        consent.get(home, c.consent_id)
    # the same edit with its leaf hash recomputed still disagrees with the signed root
    with sqlite3.connect(home.ledger_path) as conn:
        (text,) = conn.execute("SELECT canonical FROM events WHERE seq=0").fetchone()
        from guard.ledger import merkle

        conn.execute("UPDATE events SET leaf_hash=? WHERE seq=0", (merkle.leaf_hash(text.encode()).hex(),))
    with pytest.raises(LedgerError, match="do not hash to the root its newest signed tree head signs"):
        consent.get(home, c.consent_id)


def test_speaker_match_needs_a_statement(home: Home) -> None:
    with pytest.raises(ConsentError, match="no spoken statement"):
        consent.speaker_matches(licence(home), [Path("a.wav")])


def run(runner, home: Home, *args: str):  # noqa: ANN001, ANN201
    return runner.invoke(cli, ["--home", str(home.root), "consent", *args])


def test_cli_template_grant_list_show_revoke(runner, home: Home) -> None:  # noqa: ANN001
    res = run(runner, home, "template", "--subject", "Ada", "--operator", "Lab", "--purpose", "game",
              "--expires", NEXT_YEAR)
    assert res.exit_code == 0 and res.stdout.startswith("I, Ada, agree that Lab") and "My consent code is" in res.stdout
    res = run(runner, home, "grant", "corpus-1", "--subject", "Reader", "--operator", "Lab", "--purpose", "research",
              "--purpose", "detector-training", "--expires", SOON.isoformat(), "--license", "CC BY 4.0", "--json")
    assert res.exit_code == 0, res.output
    granted = json.loads(res.stdout)
    assert granted["purposes"] == ["research", "detector-training"] and granted["status"] == "valid"
    cid = granted["consent_id"]
    res = run(runner, home, "list", "--json")
    assert [json.loads(line)["consent_id"] for line in res.stdout.splitlines()] == [cid]
    res = run(runner, home, "show", cid)
    assert res.exit_code == 0 and f"consent_id: {cid}" in res.stderr and res.stdout == ""
    res = run(runner, home, "revoke", cid, "--reason", "done")
    assert res.exit_code == 0 and "Revoked" in res.stderr
    assert json.loads(run(runner, home, "show", cid, "--json").stdout)["status"] == "revoked"


@pytest.mark.parametrize(("args", "code", "message"), [
    (["grant", "corpus-1", "--subject", "R", "--operator", "L", "--purpose", "audiobook", "--expires", NEXT_YEAR,
      "--license", "CC"], 1, "Error: a licence allows only"),
    (["grant", "corpus-1", "--subject", "R", "--operator", "L", "--purpose", "research", "--expires", "2001-01-01",
      "--license", "CC"], 2, "Invalid value for '--expires': 2001-01-01 is in the past"),
    (["template", "--subject", "R", "--operator", "L", "--purpose", "research", "--expires", "2001-01-01"], 2,
     "Invalid value for '--expires': 2001-01-01 is in the past"),
    (["template", "--subject", "R" * 201, "--operator", "L", "--purpose", "research", "--expires", NEXT_YEAR], 2,
     "subject is 201 characters long; at most 200"),
    (["template", "--subject", "   ", "--operator", "L", "--purpose", "research", "--expires", NEXT_YEAR], 2,
     "subject must be a non-empty text"),
    (["grant", "corpus-1", "--subject", "R", "--operator", "L", "--purpose", "research", "--expires", NEXT_YEAR],
     1, "Error: give exactly one kind of evidence"),
    (["grant", "corpus-1", "--subject", "R", "--operator", "L", "--purpose", "research", "--expires", NEXT_YEAR,
      "--statement", "/nonexistent.wav"], 1, "Error:"),
    (["grant", "corpus-1", "--subject", "R", "--operator", "L", "--purpose", "cooking", "--expires", NEXT_YEAR,
      "--license", "CC"], 2, "cooking"),
    (["grant", "corpus-1", "--subject", "R", "--operator", "L", "--purpose", "research", "--expires", "soon",
      "--license", "CC"], 2, "soon"),
    (["show", "consent-nope"], 1, "Error: no consent 'consent-nope'"),
    (["revoke", "consent-nope", "--reason", "x"], 1, "Error: no consent 'consent-nope'"),
])
def test_cli_errors_are_one_line(runner, home: Home, args: list[str], code: int, message: str) -> None:  # noqa: ANN001
    res = run(runner, home, *args)
    assert res.exit_code == code, res.output
    assert message in res.output and "Traceback" not in res.output


def test_cli_list_without_home_says_how_to_create_it(runner, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(tmp_path / "none"), "consent", "list"])
    assert res.exit_code == 1 and "voiceguard init" in res.output


def test_a_revocation_deleted_behind_the_ledgers_back_blocks_every_consent_decision(home: Home) -> None:
    from guard.errors import LedgerError

    c = consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                      expires=date.today() + timedelta(days=30), license_text="CC BY 4.0 corpus")
    consent.revoke(home, c.consent_id, reason="withdrawn")
    conn = sqlite3.connect(home.ledger_path)
    conn.execute("DELETE FROM events WHERE kind='consent.revoked'")
    conn.commit()
    conn.close()
    for decide in (lambda: consent.check(home, "amy", "research"), lambda: consent.get(home, c.consent_id)):
        with pytest.raises(LedgerError, match="inconsistent"):
            decide()


def test_a_log_rebuilt_under_another_key_without_its_revocation_is_refused(home: Home, tmp_path: Path) -> None:
    import shutil

    from guard.errors import LedgerError
    from guard.home import init_home
    from guard.ledger import Ledger, append

    c = consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                      expires=date.today() + timedelta(days=30), license_text="CC BY 4.0 corpus")
    consent.revoke(home, c.consent_id, reason="withdrawn")
    with Ledger(home) as led:
        kept = [e for e in led.events() if e.kind != "consent.revoked"]
    forger, _ = init_home(tmp_path / "forger")  # someone who can write the database but not keys/
    for event in kept:
        body = dict(event.body)
        if event.kind == "consent.granted":
            body["signature"] = forger.signing_key().sign(consent.Consent.from_dict(body).message()).hex()
        append(forger, event.kind, body)
    for suffix in ("-wal", "-shm"):
        home.ledger_path.with_name(home.ledger_path.name + suffix).unlink(missing_ok=True)
    shutil.copy(forger.ledger_path, home.ledger_path)
    with pytest.raises(LedgerError, match="is signed by key .*, not this home's key"):
        consent.get(home, c.consent_id)


def test_two_revokes_at_once_log_one_revocation(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard import ledger
    from guard.ledger import Ledger

    c = licence(home)
    append = ledger.append

    def rival_first(home_, kind, body, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if kind == "consent.revoked" and body["reason"] == "mine":
            consent.revoke(home, c.consent_id, reason="theirs")  # lands between this revoke's check and its log
        return append(home_, kind, body, **kwargs)

    monkeypatch.setattr(ledger, "append", rival_first)
    with pytest.raises(ConsentError, match="was already revoked"):
        consent.revoke(home, c.consent_id, reason="mine")
    with Ledger(home) as led:
        assert [e.body["reason"] for e in led.events("consent.revoked")] == ["theirs"]


def test_the_same_agreement_granted_again_is_refused_naming_the_first(home: Home) -> None:
    first = licence(home)
    with pytest.raises(ConsentError, match=f"consent {first.consent_id} already records this agreement"):
        licence(home)  # a retry after a grant was killed once it had committed
    assert [c.consent_id for c in consent.list_consents(home)] == [first.consent_id]
    other = consent.grant(home, voice_id="corpus-1", subject="LibriSpeech reader", operator="Lab",
                          purposes=["research"], expires=SOON, license_text="CC BY-SA 4.0")  # other evidence: its own
    consent.revoke(home, first.consent_id, reason="withdrawn")
    again = licence(home)  # after a revocation the same terms may be granted anew
    assert len({first.consent_id, other.consent_id, again.consent_id}) == 3


def _logged_statement_consent(home: Home, name: str) -> Path:
    """A consent whose statement evidence is ``consents/<name>``, signed and logged as a grant before consent codes
    would (no speech, no code)."""
    import hashlib

    from guard import ledger

    kept = home.root / "consents" / name
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(b"RIFF a spoken consent statement")
    now = datetime.now(timezone.utc)
    record = consent.Consent(consent_id=kept.stem, voice_id="amy", subject="Amy", operator="Lab",
                             purposes=("research",), languages=("en",), valid_from=now, expires_at=now + timedelta(days=30),
                             evidence={"kind": "statement", "file": str(kept),
                                       "sha256": hashlib.sha256(kept.read_bytes()).hexdigest()}, created_at=now)
    ledger.append(home, "consent.granted", {**record.signed_fields(), "signature": home.signing_key().sign(
        record.message()).hex()})
    return kept


def test_the_audit_notes_statement_copies_no_consent_refers_to_and_a_grant_removes_only_half_made_ones(
        home: Home) -> None:
    from guard.ledger.audit import audit_home

    kept = _logged_statement_consent(home, "consent-0123456789abcdef.wav")
    folder = kept.parent
    whole = folder / "consent-fedcba9876543210.wav"  # killed after its copy was placed, before the commit
    partial = folder / ".consent-fedcba9876543210.flac.partial"  # killed while copying
    foreign = folder / "notes.txt"  # not a name grant writes
    for path in [whole, partial, foreign]:
        path.write_bytes(b"left behind")
    report = audit_home(home)
    assert report.ok, report.failures
    strays = [n for n in report.notes if n.kind != "no-challenge"]  # logged with no consent code, as before codes
    assert sorted(n.id for n in strays) == sorted(str(p) for p in [whole, partial, foreign])
    assert {n.kind for n in report.notes} == {"unreferenced-file", "no-challenge"}
    licence(home)  # any grant sweeps half-made copies, under the ledger's write lock
    # a whole copy might be the evidence of a consent in a ledger restored from a backup: kept, noted
    assert sorted(folder.iterdir()) == sorted([kept, whole, foreign])
    report = audit_home(home)
    strays = [n for n in report.notes if n.kind != "no-challenge"]
    assert report.ok and sorted(n.id for n in strays) == sorted([str(whole), str(foreign)])
    consent.check(home, "amy", "research")  # the referenced statement is untouched and still checks


def test_a_refused_grant_sweeps_nothing(home: Home) -> None:
    first = licence(home)
    stray = home.root / "consents" / ".consent-fedcba9876543210.wav.partial"
    stray.parent.mkdir()
    stray.write_bytes(b"left behind")
    with pytest.raises(ConsentError, match=f"consent {first.consent_id} already records this agreement"):
        licence(home)
    assert stray.is_file()  # refused before the sweep: a refused grant changes nothing
