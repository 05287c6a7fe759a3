"""Which consents cover a clone of an enrolled voice; expiry bounds; statement scoring and reuse (no audio)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from guard import consent
from guard.cli import cli
from guard.consent.evidence import check_reuse
from guard.consent.record import MAX_EXPIRY_YEARS, Consent, as_date, latest_expiry
from guard.consent.statement import score_hypothesis, statement_pieces
from guard.consent.template import statement_text, terms_text
from guard.errors import ConsentError, ParameterError
from guard.home import Home

SOON = date.today() + timedelta(days=30)
NOW = datetime.now(timezone.utc)


def licence(home: Home, *, subject: str = "Reader One", purposes=("research",), voice_id: str = "corpus-1"):  # noqa: ANN001, ANN201
    return consent.grant(home, voice_id=voice_id, subject=subject, operator="Lab", purposes=purposes, expires=SOON,
                         license_text="CC BY 4.0")


def record(cid: str, *, subject: str = "Ada", kind: str = "statement", embedding=(1.0, 0.0), voice_id: str = "ada",  # noqa: ANN001
           purposes=("audiobook",), sha: str = "ab" * 32, last_day: date = SOON) -> Consent:
    evidence = {"kind": kind, "sha256": sha}
    if kind == "statement":
        evidence["speaker_embedding"] = list(embedding)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return Consent(cid, voice_id, subject, "Studio", tuple(purposes), ("en",), NOW, end, evidence, NOW)


# -- renews: only the enrolled speaker's own consent counts -------------------------------------------

@pytest.mark.parametrize(("candidate", "expected"), [
    (record("c-enrolled"), True),
    (record("c2", subject="  ada "), True),                                   # same subject, same voice
    (record("c2", subject="Ada", embedding=(0.9, 0.1)), True),                # same speaker, slightly apart
    (record("c2", subject="Somebody Else"), False),                           # another subject
    (record("c2", kind="license"), False),                                    # a licence cannot renew a statement
    (record("c2", embedding=(0.0, 1.0)), False),                              # another speaker's statement
    (record("c2", voice_id="other"), False),
])
def test_renews_a_statement_enrollment(candidate: Consent, expected: bool) -> None:
    assert consent.renews(candidate, record("c-enrolled")) is expected


def test_renews_a_licence_enrollment() -> None:
    enrolled = record("c1", kind="license")
    assert consent.renews(record("c2", kind="license"), enrolled)
    assert not consent.renews(record("c2", kind="license", subject="Mallory"), enrolled)
    # anyone can read a statement in the subject's name: it does not renew a licence
    assert not consent.renews(record("c2", kind="statement"), enrolled)


# -- check_enrolled --------------------------------------------------------------------------------------

def test_a_strangers_consent_does_not_widen_the_voice(home: Home) -> None:
    own = licence(home)
    stranger = licence(home, subject="Somebody Else", purposes=("research", "detector-training"))
    assert consent.check_enrolled(home, "corpus-1", "research", enrolled_under=own.consent_id).consent_id == own.consent_id
    with pytest.raises(ConsentError, match="outside the consent of voice 'corpus-1'") as info:
        consent.check_enrolled(home, "corpus-1", "detector-training", enrolled_under=own.consent_id)
    assert f"consent {stranger.consent_id} (subject 'Somebody Else'" in str(info.value)
    assert "does not count" in str(info.value) and "agreed to research" in str(info.value)


def test_a_renewal_by_the_same_subject_counts(home: Home) -> None:
    own = licence(home)
    renewal = licence(home, purposes=("research", "detector-training"))
    got = consent.check_enrolled(home, "corpus-1", "detector-training", enrolled_under=own.consent_id)
    assert got.consent_id == renewal.consent_id
    later = own.expires_at + timedelta(seconds=1)  # both expired: the message says so
    with pytest.raises(ConsentError, match="is expired"):
        consent.check_enrolled(home, "corpus-1", "research", enrolled_under=own.consent_id, at=later)


def test_revoking_the_enrollment_consent_stops_every_clone(home: Home) -> None:
    own = licence(home)
    licence(home, purposes=("research", "detector-training"))  # a valid renewal
    licence(home, subject="Somebody Else")
    consent.revoke(home, own.consent_id, reason="withdrawn")
    for purpose in ("research", "detector-training"):
        with pytest.raises(ConsentError, match=f"consent {own.consent_id}, under which voice 'corpus-1' was enrolled, "
                                               f"was revoked .*under a new voice id"):
            consent.check_enrolled(home, "corpus-1", purpose, enrolled_under=own.consent_id)
    before = own.created_at + timedelta(microseconds=1)
    assert consent.check_enrolled(home, "corpus-1", "research", enrolled_under=own.consent_id, at=before)


@pytest.mark.parametrize(("voice_id", "purpose", "enrolled", "match"), [
    ("corpus-1", "marketing", None, "unknown purpose 'marketing'; the consent of voice 'corpus-1' covers research"),
    ("corpus-1", "research", "consent-nope", "enrolled under consent 'consent-nope', which is not a consent for it"),
    ("other", "research", None, "which is not a consent for it"),
    ("Bad Id", "research", None, "voice id"),
])
def test_check_enrolled_bad_input(home: Home, voice_id: str, purpose: str, enrolled: str | None, match: str) -> None:
    own = licence(home)
    with pytest.raises(ConsentError, match=match):
        consent.check_enrolled(home, voice_id, purpose, enrolled_under=enrolled or own.consent_id)


# -- expiry bounds ------------------------------------------------------------------------------------------

def test_expiry_is_bounded_at_ten_years(home: Home) -> None:
    today = datetime.now(timezone.utc).date()
    last = latest_expiry(today)
    assert MAX_EXPIRY_YEARS == 10 and last.year == today.year + 10
    assert latest_expiry(date(2028, 2, 29)) == date(2038, 2, 28)
    with pytest.raises(ConsentError, match=r"more than 10 years ahead; the latest allowed is"):
        consent.grant(home, voice_id="v", subject="A", operator="B", purposes=["research"], expires="9999-12-31",
                      license_text="CC")
    with pytest.raises(ConsentError, match="more than 10 years"):
        consent.grant(home, voice_id="v", subject="A", operator="B", purposes=["research"],
                      expires=last + timedelta(days=1), license_text="CC")
    assert consent.list_consents(home) == []
    assert consent.grant(home, voice_id="v", subject="A", operator="B", purposes=["research"], expires=last,
                         license_text="CC").last_day == last


@pytest.mark.parametrize(("value", "match"), [
    ("2027-02-29", "is not a date that exists"),
    ("2027-13-01", "is not a date that exists"),
    ("soon", "YYYY-MM-DD"),
])
def test_as_date_says_why(value: str, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        as_date(value)


@pytest.mark.parametrize(("command", "expires", "message"), [
    ("grant", "9999-12-31", "9999-12-31 is more than 10 years ahead"),
    ("grant", "3000-01-01", "more than 10 years ahead"),
    ("grant", "2027-02-29", "'2027-02-29' is not a date that exists (day is out of range for month)"),
    ("template", "9999-12-31", "more than 10 years ahead"),
    ("template", "2027-02-29", "is not a date that exists"),
    ("template", "tomorrow", "'tomorrow' is not a date YYYY-MM-DD"),
])
def test_cli_expiry_is_a_usage_error(runner, home: Home, command: str, expires: str, message: str) -> None:  # noqa: ANN001
    args = ["--subject", "A", "--operator", "B", "--purpose", "research", "--expires", expires]
    if command == "grant":
        args = ["corpus-1", *args, "--license", "CC", "--json"]
    res = runner.invoke(cli, ["--home", str(home.root), "consent", command, *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output and res.stdout == ""
    assert consent.list_consents(home) == []


# -- statement scoring ------------------------------------------------------------------------------------

CLAIM = {"subject": "Nova Synth", "operator": "QA Labs", "purposes": ["audiobook", "accessibility"],
         "expires": date(2027, 6, 30), "code": "471926"}


def _heard(**changes) -> list[str]:  # noqa: ANN003
    from guard.asr import words

    return words(statement_text(**(CLAIM | changes)))


@pytest.mark.parametrize(("claim", "expires"), [
    (CLAIM, date(2027, 6, 30)),
    (CLAIM | {"subject": "persona nova (synthetic)", "purposes": ["research", "audiobook", "game"]}, date(2031, 1, 21)),
    (CLAIM | {"purposes": ["detector-training", "assistant"]}, date(2030, 12, 1)),
])
def test_statement_pieces_are_the_template(claim: dict, expires: date) -> None:
    from guard.asr import words

    args = claim | {"expires": expires}
    pieces = statement_pieces(**args)
    assert [w for text, _ in pieces for w in words(text)] == words(statement_text(**args))
    match = score_hypothesis(words(statement_text(**args)), pieces)
    assert match.overall == 1.0 and set(match.fields.values()) == {1.0} and match.other_date == ()
    assert match.code_heard == args["code"] and "code" in match.fields
    terms = {k: v for k, v in args.items() if k != "code"}  # without a code: the terms alone, no code field
    assert [w for text, _ in statement_pieces(**terms) for w in words(text)] == words(terms_text(**terms))
    assert "code" not in score_hypothesis(words(terms_text(**terms)), statement_pieces(**terms)).fields


@pytest.mark.parametrize(("said", "field", "score"), [
    ({"subject": "Somebody Else"}, "subject", 0.0),
    ({"operator": "Shady Corp"}, "operator", 0.0),
    ({"purposes": ["game", "dubbing"]}, "purpose:audiobook", 0.0),
    ({"expires": date(2029, 12, 31)}, "expires", 0.4),  # "twenty twenty" of the year
])
def test_a_changed_field_scores_low_on_that_field(said: dict, field: str, score: float) -> None:
    match = score_hypothesis(_heard(**said), statement_pieces(**CLAIM))
    assert match.fields[field] == pytest.approx(score)
    assert match.overall > 0.8  # the overall score alone cannot tell: this is why fields are scored
    assert min(match.fields.values()) == pytest.approx(score)


def test_another_date_heard_is_named() -> None:
    match = score_hypothesis(_heard(expires=date(2028, 6, 30)), statement_pieces(**CLAIM))
    assert match.other_date == ("eight",) and match.fields["expires"] == pytest.approx(0.8)
    assert score_hypothesis(_heard(), statement_pieces(**CLAIM)).other_date == ()


# -- a statement recording backs one consent -------------------------------------------------------------

def test_statement_reuse_is_refused() -> None:
    wav, sha = Path("s.wav"), "ab" * 32
    first = record("c1", sha=sha)
    same = {"voice_id": "ada", "subject": "ada", "operator": "Studio", "purposes": ("audiobook",), "day": SOON}
    check_reuse(wav, sha, [first], **same)  # the same terms again: allowed
    check_reuse(wav, "cd" * 32, [first], **(same | {"operator": "Shady Corp"}))  # other bytes, no audio to compare: not a copy
    for change in ({"voice_id": "mallory"}, {"subject": "Mallory"}, {"operator": "Shady Corp"},
                   {"purposes": ("audiobook", "game")}, {"day": SOON + timedelta(days=1)}):
        with pytest.raises(ConsentError, match=r"s.wav: this recording \(or a copy of it\) is already the evidence of consent c1"):
            check_reuse(wav, sha, [first], **(same | change))
    revoked = first.with_revocation(NOW, "withdrawn")
    with pytest.raises(ConsentError, match="evidence of consent c1, which was revoked"):
        check_reuse(wav, sha, [revoked], **same)
    check_reuse(wav, sha, [record("c9", kind="license", sha=sha)], **(same | {"subject": "X"}))


def test_a_copy_of_a_statement_is_found_where_a_copied_home_keeps_it(home: Home, tmp_path: Path) -> None:
    from conftest import voiced_glide

    from guard.audio import save

    said = voiced_glide(3.0, seed=11)
    (home.root / "consents").mkdir(exist_ok=True)
    kept = save(home.root / "consents" / "c1.wav", said, sample_rate=16000)  # this (copied) home's own copy
    granted_at = tmp_path / "gone-home" / "consents" / "c1.wav"  # where the grant stored it: that home is gone
    plain = record("c1", sha="ab" * 32)
    first = replace(plain, evidence={**plain.evidence, "file": str(granted_at)})
    reencoded = said[160:] * 0.5  # trimmed and quieter: other bytes, the same recording
    other_terms = {"voice_id": "ada", "subject": "ada", "operator": "Shady Corp", "purposes": ("audiobook",),
                   "day": SOON}
    check_reuse(tmp_path / "s.wav", "cd" * 32, [first], audio=reencoded, **other_terms)  # the stored path: not found
    with pytest.raises(ConsentError, match=r"s.wav: this recording \(or a copy of it\) is already the evidence of "
                                           r"consent c1"):
        check_reuse(tmp_path / "s.wav", "cd" * 32, [first], audio=reencoded, home=home, **other_terms)
    assert kept.is_file()
