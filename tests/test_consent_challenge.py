"""One-time consent codes: `consent template` issues and logs one, a spoken grant needs an open one, the audit checks them.

The speech tests reuse the session's statement (tests/conftest.py ``nova_statement``: persona
nova, synthetic, reading clone_support.NOVA_TERMS with clone_support.STATEMENT_CODE) and log its
code in each home with clone_support.issue_code; the audit's tamperings are consents logged
directly, signed by the home's key (no speech recognition involved).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from clone_support import EXPIRES, NOVA_TERMS, SR, STATEMENT_CODE, issue_code

from guard import consent, ledger
from guard.cli import cli
from guard.consent.challenge import VALID_DAYS, Candidate, Challenge, challenges, terms_sha256
from guard.consent.record import Consent, end_of
from guard.consent.statement import score_hypothesis, statement_pieces
from guard.consent.template import code_words, statement_text
from guard.consent.verdict import choose_candidate, says_code
from guard.errors import ConsentError
from guard.home import Home
from guard.ledger import Ledger
from guard.ledger.audit import audit_home

TERMS = {**NOVA_TERMS, "expires": EXPIRES}
OTHER_CODE = "305817"
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()
ADA = ["--subject", "Ada Lovelace", "--operator", "Example Studio", "--purpose", "research", "--purpose", "audiobook",
       "--expires", NEXT_YEAR]


def _logged_challenges(home: Home) -> list:
    with Ledger(home) as led:
        return list(led.events("consent.challenge"))


# -- consent template -----------------------------------------------------------------------------------------------

def test_template_logs_a_challenge_and_prints_the_statement_with_its_code(runner, home: Home) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "consent", "template", *ADA])
    assert res.exit_code == 0, res.output
    (event,) = _logged_challenges(home)
    body = event.body
    assert set(body) == {"challenge_id", "code", "terms_sha256", "valid_until"}
    terms = {"subject": "Ada Lovelace", "operator": "Example Studio", "purposes": ["audiobook", "research"],
             "expires": NEXT_YEAR}
    assert res.stdout == statement_text(**terms, code=body["code"]) + "\n"  # the product: on stdout, as before codes
    assert res.stdout.endswith(f"I can withdraw this consent at any time. My consent code is {code_words(body['code'])}.\n")
    assert res.stderr == (f"Consent code {body['challenge_id']} is valid until {body['valid_until']}, for a grant on "
                          f"exactly these terms; record the speaker reading the whole statement, code included.\n")
    assert body["terms_sha256"] == terms_sha256(**terms)
    lasts = datetime.fromisoformat(body["valid_until"]) - event.time
    assert timedelta(days=VALID_DAYS, minutes=-1) <= lasts <= timedelta(days=VALID_DAYS)


def test_template_json_gives_statement_id_code_and_validity_and_each_call_a_new_code(runner, home: Home) -> None:  # noqa: ANN001
    outs = []
    for _ in range(2):
        res = runner.invoke(cli, ["--home", str(home.root), "consent", "template", *ADA, "--json"])
        assert res.exit_code == 0 and res.stderr == "", res.output
        outs.append(json.loads(res.stdout))
    assert [set(o) for o in outs] == [{"statement", "challenge_id", "code", "valid_until"}] * 2
    logged = [e.body for e in _logged_challenges(home)]
    assert [(o["challenge_id"], o["code"], o["valid_until"]) for o in outs] == \
        [(b["challenge_id"], b["code"], b["valid_until"]) for b in logged]
    assert outs[0]["challenge_id"] != outs[1]["challenge_id"]
    assert all(len(o["code"]) == 6 and o["code"].isdigit() and o["statement"].endswith(code_words(o["code"]) + ".")
               for o in outs)


def test_template_needs_a_home(runner, tmp_path: Path) -> None:  # noqa: ANN001
    missing = tmp_path / "nowhere"
    res = runner.invoke(cli, ["--home", str(missing), "consent", "template", *ADA])
    assert res.exit_code == 1 and res.stdout == "" and res.stderr.count("\n") == 1
    assert res.stderr.startswith("Error: voiceguard home ") and f"run `voiceguard init --home {missing}" in res.stderr
    assert not missing.exists()


def test_library_template_issues_its_code_in_the_home_and_refuses_bad_terms(home: Home) -> None:
    text = consent.template(home, **TERMS)
    (issued,) = challenges(home)
    assert text == statement_text(**TERMS, code=issued.code)
    assert issued.terms_sha256 == terms_sha256(**TERMS)
    with pytest.raises(ConsentError, match="is in the past"):
        consent.template(home, **{**TERMS, "expires": date(2001, 1, 1)})
    with pytest.raises(ConsentError, match="subject must be a non-empty text"):
        consent.template(home, **{**TERMS, "subject": "  "})
    assert len(challenges(home)) == 1  # a refused template logs nothing


def test_terms_digest_is_of_exactly_the_terms() -> None:
    base = terms_sha256(**TERMS)
    assert terms_sha256(**{**TERMS, "subject": " persona  nova (synthetic) "}) == base  # spaces collapsed, as grant does
    assert terms_sha256(**{**TERMS, "purposes": list(reversed(TERMS["purposes"]))}) == base
    for change in ({"subject": "Persona Nova (synthetic)"}, {"operator": "voiceguard test"}, {"purposes": ["research"]},
                   {"expires": EXPIRES + timedelta(days=1)}):
        assert terms_sha256(**{**TERMS, **change}) != base, change


# -- the code in a statement, scored (no speech) --------------------------------------------------------------------

@pytest.mark.parametrize(("said", "ok"), [
    ("four seven one nine two six", True),
    ("four seven one nine two", False),  # a digit missing
    ("four seven one nine two five", False),  # a digit changed
    ("four seven one one nine two six", False),  # a digit too many
    ("seven four one nine two six", False),  # two swapped
    ("four seven one nine two six six", False),  # a digit after it
    ("", False),  # no code said
])
def test_the_code_must_be_heard_digit_for_digit(said: str, ok: bool) -> None:
    from guard.asr import words

    heard = words(statement_text(**TERMS, code=STATEMENT_CODE).removesuffix(f"{code_words(STATEMENT_CODE)}.") + said)
    match = score_hypothesis(heard, statement_pieces(**TERMS, code=STATEMENT_CODE))
    assert says_code(match, STATEMENT_CODE) is ok
    assert match.code_heard == "".join(str("zero one two three four five six seven eight nine".split().index(w))
                                       for w in said.split())


def _candidate(code: str, closed: str | None = None) -> Candidate:
    challenge = Challenge.draft(code=code, terms_sha256=terms_sha256(**TERMS), now=datetime.now(timezone.utc))
    return Candidate(challenge, statement_text(**TERMS, code=code), closed)


def _scored(candidates: list[Candidate], said: str) -> list:
    from guard.asr import words

    return [(c, score_hypothesis(words(said), statement_pieces(**TERMS, code=c.challenge.code))) for c in candidates]


def test_the_open_code_said_is_chosen_among_several() -> None:
    issued = [_candidate(OTHER_CODE), _candidate(STATEMENT_CODE), _candidate("000000", closed="used")]
    chosen, match = choose_candidate(_scored(issued, statement_text(**TERMS, code=STATEMENT_CODE)), day=EXPIRES)
    assert chosen is issued[1] and match.code_heard == STATEMENT_CODE


@pytest.mark.parametrize(("issued", "said", "message"), [
    ([_candidate(OTHER_CODE)], STATEMENT_CODE,
     r"^the consent code heard \('471926'\) does not match any open code for these terms; record the speaker reading"),
    ([_candidate(STATEMENT_CODE, closed="consent code challenge-x expired at then")], STATEMENT_CODE,
     "^consent code challenge-x expired at then$"),
    ([_candidate(STATEMENT_CODE, closed="consent code challenge-x was already used by consent c1")], STATEMENT_CODE,
     "^consent code challenge-x was already used by consent c1$"),
    ([_candidate(OTHER_CODE, closed="expired")], STATEMENT_CODE,
     r"^the consent code heard \('471926'\) does not match any open code, and none is open for these terms: run "
     r"`voiceguard consent template` with the same terms"),
])
def test_why_no_code_backs_the_grant_is_named(issued: list[Candidate], said: str, message: str) -> None:
    with pytest.raises(ConsentError, match=message):
        choose_candidate(_scored(issued, statement_text(**TERMS, code=said)), day=EXPIRES)


def test_a_statement_that_fails_its_wording_is_refused_for_that_before_its_code() -> None:
    said = statement_text(**{**TERMS, "operator": "Shady Corp"}, code=OTHER_CODE)
    with pytest.raises(ConsentError, match="does not say this consent's operator"):
        choose_candidate(_scored([_candidate(STATEMENT_CODE)], said), day=EXPIRES)


# -- consent grant --------------------------------------------------------------------------------------------------

def test_grant_accepts_the_statement_read_with_its_open_code(home: Home, nova_statement: Path) -> None:
    from guard.consent.cli import show_lines

    issued = issue_code(home, **TERMS)
    c = consent.grant(home, voice_id="nova", statement_wav=nova_statement, **TERMS)
    ev = c.evidence
    assert ev["challenge_id"] == issued.challenge_id and ev["field_scores"]["code"] == 1.0
    assert ev["template"] == statement_text(**TERMS, code=STATEMENT_CODE)
    report = audit_home(home)
    assert report.ok and report.notes == [] and report.checked["challenges"] == 1, (report.failures, report.notes)
    assert f"consent code: {issued.challenge_id} (issued by `voiceguard consent template`)" in show_lines(c)


@pytest.mark.parametrize(("issue", "message"), [
    ({"code": OTHER_CODE}, r"(the consent code heard \('\d+'\) does not match|no consent code was heard, so none "
                           r"matches) any open code for these terms; record the speaker reading the statement "
                           r"`voiceguard consent template` printed, its code included$"),
    ({"days_ago": VALID_DAYS + 1}, r"consent code challenge-[0-9a-f]{16} expired at .* \(14 days after it was issued\): "
                                   r"run `voiceguard consent template` with the same terms"),
    ({"terms": {**TERMS, "operator": "Shady Corp"}},
     r"no open consent code for these terms \(subject, operator, purposes and expiry\): run `voiceguard consent "
     r"template` with the same terms, and record the speaker reading it$"),
    (None, "no open consent code for these terms"),
])
def test_grant_refuses_a_statement_without_an_open_code_for_its_terms(home: Home, nova_statement: Path, issue: dict | None,
                                                                      message: str) -> None:
    if issue is not None:
        issue_code(home, **issue.get("terms", TERMS), code=issue.get("code", STATEMENT_CODE),
                   days_ago=issue.get("days_ago", 0.0))
    with pytest.raises(ConsentError, match=message) as refused:
        consent.grant(home, voice_id="nova", statement_wav=nova_statement, **TERMS)
    assert str(refused.value).startswith(f"{nova_statement}: ") and "\n" not in str(refused.value)
    assert consent.list_consents(home) == [] and not list((home.root / "consents").glob("*"))


@pytest.fixture(scope="module")
def second_take(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Persona nova reading the same statement and code again, slower: another recording, not a copy (synthetic)."""
    from cloner import personas
    from guard.audio import save

    slower = dataclasses.replace(personas.get("nova"), rate_wpm=150)
    return save(tmp_path_factory.mktemp("take2") / "take2.wav",
                slower.speak(statement_text(**TERMS, code=STATEMENT_CODE), sample_rate=SR), sample_rate=SR)


def test_a_code_backs_one_consent(home: Home, nova_statement: Path, second_take: Path) -> None:
    issued = issue_code(home, **TERMS)
    first = consent.grant(home, voice_id="nova", statement_wav=nova_statement, **TERMS)
    with pytest.raises(ConsentError, match=rf"consent code {issued.challenge_id} was already used by consent "
                                           rf"{first.consent_id}; a code backs one consent: run `voiceguard consent "
                                           rf"template` with the same terms"):
        consent.grant(home, voice_id="nova-2", statement_wav=second_take, **TERMS)
    issue_code(home, **TERMS, code=OTHER_CODE)  # a new code does not make the take with the used one pass
    with pytest.raises(ConsentError, match=f"consent code {issued.challenge_id} was already used by consent"):
        consent.grant(home, voice_id="nova-2", statement_wav=second_take, **TERMS)
    assert [c.consent_id for c in consent.list_consents(home)] == [first.consent_id]


def test_two_grants_citing_one_code_at_once_give_one_consent(home: Home, nova_statement: Path, second_take: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the rival grant lands after this one chose the code and before it is logged: refused under the write lock
    append = ledger.append
    raced: list[str] = []

    def rival_first(home_, kind, body, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if kind == "consent.granted" and not raced:
            raced.append("x")
            raced.append(consent.grant(home, voice_id="nova-2", statement_wav=second_take, **TERMS).consent_id)
        return append(home_, kind, body, **kwargs)

    issued = issue_code(home, **TERMS)
    monkeypatch.setattr(ledger, "append", rival_first)
    with pytest.raises(ConsentError, match=f"consent code {issued.challenge_id} was already used by consent") as refused:
        consent.grant(home, voice_id="nova", statement_wav=nova_statement, **TERMS)
    assert f"already used by consent {raced[-1]};" in str(refused.value)
    (kept,) = consent.list_consents(home)
    assert kept.consent_id == raced[-1] and kept.evidence["challenge_id"] == issued.challenge_id
    assert [p.name for p in (home.root / "consents").iterdir()] == [Path(kept.evidence["file"]).name]
    assert audit_home(home).ok


# -- the audit ------------------------------------------------------------------------------------------------------

def _log_consent(home: Home, name: str, *, challenge_id: str | None, terms: dict = TERMS,
                 created_at: datetime | None = None) -> Consent:
    """A spoken consent citing ``challenge_id`` (none: granted before codes), signed and logged as grant would (no speech)."""
    kept = home.root / "consents" / f"{name}.wav"
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(f"RIFF {name} reading the statement".encode())
    now = created_at or datetime.now(timezone.utc)
    evidence = {"kind": "statement", "file": str(kept), "sha256": hashlib.sha256(kept.read_bytes()).hexdigest()}
    if challenge_id is not None:
        evidence["challenge_id"] = challenge_id
    record = Consent(consent_id=name, voice_id="nova", subject=terms["subject"], operator=terms["operator"],
                     purposes=tuple(terms["purposes"]), languages=("en",), valid_from=now, expires_at=end_of(terms["expires"]),
                     evidence=evidence, created_at=now)
    ledger.append(home, "consent.granted", {**record.signed_fields(),
                                            "signature": home.signing_key().sign(record.message()).hex()})
    return record


def _failures(home: Home, kind: str) -> list[tuple[str, str]]:
    return [(f.id, f.detail) for f in audit_home(home).failures if f.kind == kind]


def test_the_audit_passes_a_consent_citing_its_code_and_notes_one_granted_before_codes(home: Home) -> None:
    issued = issue_code(home, **TERMS)
    _log_consent(home, "consent-0000000000000001", challenge_id=issued.challenge_id)
    report = audit_home(home)
    assert report.ok and report.notes == [] and report.checked["challenges"] == 1, (report.failures, report.notes)
    _log_consent(home, "consent-0000000000000002", challenge_id=None)
    report = audit_home(home)
    assert report.ok and [(n.kind, n.id) for n in report.notes] == [("no-challenge", "event 2 (consent-0000000000000002)")]
    assert "cites no one-time consent code" in report.notes[0].detail


def _tamper_never_issued(home: Home) -> str:
    _log_consent(home, "consent-0000000000000001", challenge_id="challenge-" + "0" * 16)
    return "cites consent code 'challenge-0000000000000000', which was not issued before it"


def _tamper_issued_after(home: Home) -> str:
    draft = Challenge.draft(code=STATEMENT_CODE, terms_sha256=terms_sha256(**TERMS), now=datetime.now(timezone.utc))
    _log_consent(home, "consent-0000000000000001", challenge_id=draft.challenge_id)
    ledger.append(home, "consent.challenge", draft.body())
    return f"cites consent code '{draft.challenge_id}', which was not issued before it"


def _tamper_other_terms(home: Home) -> str:
    issued = issue_code(home, **{**TERMS, "operator": "Shady Corp"})
    _log_consent(home, "consent-0000000000000001", challenge_id=issued.challenge_id)
    return f"cites consent code {issued.challenge_id} (event 0), issued for other terms"


def _tamper_expired(home: Home) -> str:
    issued = issue_code(home, **TERMS, days_ago=VALID_DAYS + 1)
    _log_consent(home, "consent-0000000000000001", challenge_id=issued.challenge_id)
    return f"after consent code {issued.challenge_id} (event 0) expired at {issued.valid_until.isoformat()}"


def _tamper_used_twice(home: Home) -> str:
    issued = issue_code(home, **TERMS)
    _log_consent(home, "consent-0000000000000001", challenge_id=issued.challenge_id)
    _log_consent(home, "consent-0000000000000002", challenge_id=issued.challenge_id)
    return f"cites consent code {issued.challenge_id} (event 0), already used by consent consent-0000000000000001"


@pytest.mark.parametrize("tamper", [_tamper_never_issued, _tamper_issued_after, _tamper_other_terms, _tamper_expired,
                                    _tamper_used_twice])
def test_the_audit_fails_a_consent_citing_a_code_it_may_not(home: Home, tamper) -> None:  # noqa: ANN001
    detail = tamper(home)
    (failure,) = _failures(home, "bad-challenge")
    assert detail in failure[1] and failure[0].endswith(")")
    assert {f.kind for f in audit_home(home).failures} == {"bad-challenge"}


def _body(**changes: object) -> dict:
    draft = Challenge.draft(code=STATEMENT_CODE, terms_sha256=terms_sha256(**TERMS), now=datetime.now(timezone.utc))
    return {**draft.body(), **changes}


@pytest.mark.parametrize(("body", "detail"), [
    (_body(challenge_id="challenge-XYZ"), "challenge_id 'challenge-XYZ' is not 'challenge-' and 16 lower-case hex"),
    (_body(code="12345"), "a consent code is 6 digits, given '12345'"),
    (_body(code=471926), "a consent code is 6 digits, given 471926"),
    (_body(terms_sha256="ab"), "terms_sha256 'ab' is not 64 lower-case hex digits"),
    (_body(valid_until="soon"), "valid_until 'soon' is not an ISO 8601 time"),
    ({k: v for k, v in _body().items() if k != "code"}, "a consent code is 6 digits, given None"),
    (_body(valid_until=(datetime.now(timezone.utc) + timedelta(days=VALID_DAYS + 1)).isoformat()),
     "days after the code was issued"),
])
def test_a_malformed_challenge_is_a_malformed_event(home: Home, body: dict, detail: str) -> None:
    ledger.append(home, "consent.challenge", body)
    report = audit_home(home)
    (failure,) = report.failures
    assert failure.kind == "malformed-event" and failure.id.startswith("event 0 (consent.challenge ")
    assert detail in failure.detail and report.checked["challenges"] == 1
    assert challenges(home) == []  # a grant never offers a malformed code


def test_a_challenge_issued_twice_is_a_malformed_event(home: Home) -> None:
    body = _body()
    ledger.append(home, "consent.challenge", body)
    ledger.append(home, "consent.challenge", body)
    (failure,) = audit_home(home).failures
    assert (failure.kind, failure.id) == ("malformed-event", f"event 1 (consent.challenge {body['challenge_id']})")
    assert failure.detail == f"challenge {body['challenge_id']} was already issued (event 0)"


# -- how the demo and the benchmarks have a persona consent ---------------------------------------------------------

class _Reader:
    """Stands in for a persona: 'reads' any text as a seeded tone (no speech synthesis needed here)."""

    def speak(self, text: str, *, sample_rate: int):  # noqa: ANN201
        from conftest import tone

        return tone(220.0 + len(text) % 50, 1.0, sample_rate)


def test_a_refused_reading_is_read_again_with_a_new_code(home: Home, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from eval.bench_consent_code import grant_read_statement
    from guard.errors import ParameterError

    asked: list[dict] = []

    def grant(home_: Home, **kwargs: object) -> str:  # the recogniser misses the first reading's code
        asked.append(kwargs)
        if len(asked) == 1:
            raise ConsentError(f"{kwargs['statement_wav']}: the consent code heard ('1') does not match any open code")
        return "granted"

    monkeypatch.setattr(consent, "grant", grant)
    told: list[str] = []
    granted, statement, wav = grant_read_statement(home, _Reader(), voice_id="v", terms=TERMS, wav=tmp_path / "s.wav",
                                                   sample_rate=SR, attempts=3, notify=told.append)
    first, second = challenges(home)
    assert granted == "granted" and statement == statement_text(**TERMS, code=second.code) and wav.is_file()
    assert told == ["reading 1 refused (the consent code heard ('1') does not match any open code); a new code was "
                    "issued and read again"]
    assert [a["voice_id"] for a in asked] == ["v", "v"] and first.challenge_id != second.challenge_id

    def refuse(home_: Home, **kwargs: object) -> None:
        raise ConsentError("the statement does not say this consent's operator")

    monkeypatch.setattr(consent, "grant", refuse)
    with pytest.raises(ConsentError, match="does not say this consent's operator"):  # the last refusal, as it is
        grant_read_statement(home, _Reader(), voice_id="v", terms=TERMS, wav=tmp_path / "s.wav", sample_rate=SR,
                             attempts=2)
    assert len(challenges(home)) == 4  # two more readings, each with its own code
    with pytest.raises(ParameterError, match="attempts must be at least 1, given attempts=0"):
        grant_read_statement(home, _Reader(), voice_id="v", terms=TERMS, wav=tmp_path / "s.wav", sample_rate=SR,
                             attempts=0)
