"""Names the statement check cannot hear: a subject or operator in another script is refused, never left unchecked.

The recogniser spells only Latin letters (accents dropped) and digits (guard.asr.words). A name in
Cyrillic, CJK, Greek or Arabic used to vanish from the check, so that a recording naming anyone
else passed with "statement match 1.0"; now `consent template` and a spoken grant refuse it,
naming the field and the fix, while a licence consent keeps any name. The speech is synthetic
(persona nova, deterministic), made once for the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clone_support import EXPIRES, SR, STATEMENT_CODE, issue_code

from cloner import personas
from guard import consent
from guard.asr import unspelt, words
from guard.audio import save
from guard.cli import cli
from guard.consent.challenge import challenges
from guard.consent.statement import score_hypothesis, statement_pieces
from guard.consent.template import spoken_name, statement_text
from guard.errors import ConsentError, ParameterError
from guard.home import Home
from guard.ledger import Ledger

PURPOSES = ["audiobook"]
FIX = "give the name as it is spoken, in Latin letters (a transliteration, as in a passport)"
# What the recording says (the QA report's repro): a subject and operator other than the claimed ones.
SAID = {"subject": "John Smith", "operator": "Evil Corp"}
# Claimed terms the recording does not say, each with the name the check used to leave out.
UNHEARD_TERMS = [
    pytest.param({"subject": "Иван Петров", "operator": "ООО Ромашка"}, "subject", "Иван Петров", id="cyrillic"),
    pytest.param({"subject": "李小龍", "operator": "Evil Corp"}, "subject", "李小龍", id="cjk-subject"),
    pytest.param({"subject": "John Smith", "operator": "東京スタジオ"}, "operator", "東京スタジオ", id="cjk-operator"),
    pytest.param({"subject": "Γιώργος Παπαδόπουλος", "operator": "Evil Corp"}, "subject", "Γιώργος Παπαδόπουλος",
                 id="greek"),
    pytest.param({"subject": "محمد علي", "operator": "Evil Corp"}, "subject", "محمد علي", id="arabic"),
]
NO_WORD = "has no word in Latin letters, which the statement check needs: "


def _error(field: str, name: str) -> str:
    return f"the {field} {name!r} {NO_WORD}{FIX}"


def _consents_logged(home: Home) -> int:
    with Ledger(home) as led:
        return len(list(led.events("consent.granted")))


@pytest.fixture(scope="module")
def said_statement(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Persona nova reading the statement of SAID (John Smith, Evil Corp) with STATEMENT_CODE."""
    text = statement_text(**SAID, purposes=PURPOSES, expires=EXPIRES, code=STATEMENT_CODE)
    return save(tmp_path_factory.mktemp("said") / "statement.wav", personas.get("nova").speak(text, sample_rate=SR),
                sample_rate=SR)


# -- what the recogniser can spell ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "spelt", "unheard"), [
    ("Zoë Ñúñez-Åström", ["zoe", "nunez", "astrom"], []),
    ("Søren Østergaard, Łukasz Straße", ["soren", "ostergaard", "lukasz", "strasse"], []),
    ("Ærø Œuvre Þór Guðrún", ["aero", "oeuvre", "thor", "gudrun"], []),
    ("Hawaiʻi Studio 54", ["hawaii", "studio", "fifty", "four"], []),  # a modifier letter is no word of its own
    ("Иван Петров", [], ["Иван", "Петров"]),
    ("李小龍", [], ["李小龍"]),
    ("Γιώργος", [], ["Γιώργος"]),
    ("محمد علي", [], ["محمد", "علي"]),
    ("Иван-Smith", ["smith"], ["Иван"]),
    ("Studio ٣", ["studio"], ["٣"]),  # an Arabic-Indic digit
])
def test_words_spells_latin_letters_and_unspelt_names_the_rest(text: str, spelt: list[str], unheard: list[str]) -> None:
    assert words(text) == spelt
    assert unspelt(text) == unheard


# -- spoken_name: the rule ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kept"), [
    ("Zoë  Ñúñez-Åström", "Zoë Ñúñez-Åström"),
    ("Søren Østergaard", "Søren Østergaard"),
    ("O'Brien & Sons, 3M", "O'Brien & Sons, 3M"),
])
def test_a_name_in_latin_letters_is_kept(name: str, kept: str) -> None:
    assert spoken_name(name, "subject") == kept


@pytest.mark.parametrize(("name", "message"), [
    ("Иван Петров", _error("subject", "Иван Петров")),
    ("李小龍", _error("subject", "李小龍")),
    ("Γιώργος Παπαδόπουλος", _error("subject", "Γιώργος Παπαδόπουλος")),
    ("محمد علي", _error("subject", "محمد علي")),
    ("!!! ...", _error("subject", "!!! ...")),
    ("Ɓello Smith", f"the subject 'Ɓello Smith' has words not in Latin letters ('Ɓello'), which the statement "
                    f"check cannot hear: {FIX}"),  # a Latin letter with no spelling in ASCII
    ("Иван Smith", "the subject 'Иван Smith' has words not in Latin letters ('Иван'), which the statement check "
                   f"cannot hear: {FIX}"),
    ("  ", "subject must be a non-empty text"),
])
def test_a_name_the_check_cannot_hear_is_refused_with_the_fix(name: str, message: str) -> None:
    with pytest.raises(ConsentError) as info:
        spoken_name(name, "subject")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("terms", "field", "name"), UNHEARD_TERMS)
def test_statement_text_and_pieces_refuse_a_name_the_check_cannot_hear(terms: dict, field: str, name: str) -> None:
    for make in (statement_text, statement_pieces):
        with pytest.raises(ConsentError, match=f"^the {field} '{name}' has no word in Latin letters"):
            make(**terms, purposes=PURPOSES, expires=EXPIRES, code=STATEMENT_CODE)


def test_every_field_of_a_latin_name_with_accents_is_scored() -> None:
    terms = {"subject": "Zoë Ñúñez-Åström", "operator": "Søren Østergaard Studio", "purposes": PURPOSES,
             "expires": EXPIRES}
    match = score_hypothesis(words(statement_text(**terms, code=STATEMENT_CODE)),
                             statement_pieces(**terms, code=STATEMENT_CODE))
    assert match.fields == {"subject": 1.0, "operator": 1.0, "purpose:audiobook": 1.0, "expires": 1.0, "code": 1.0}


def test_a_field_with_no_word_to_hear_is_never_left_out_of_the_scores() -> None:
    pieces = [("I,", None), ("Иван Петров", "subject"), ("agree that", None), ("Evil Corp", "operator")]
    with pytest.raises(ParameterError, match="subject field 'Иван Петров' has no word the recogniser can hear"):
        score_hypothesis(words("I John Smith agree that Evil Corp"), pieces)


# -- the library: template and grant -------------------------------------------------------------------------------

@pytest.mark.parametrize(("terms", "field", "name"), UNHEARD_TERMS)
def test_template_refuses_a_name_the_check_cannot_hear_and_logs_no_code(home: Home, terms: dict, field: str,
                                                                       name: str) -> None:
    with pytest.raises(ConsentError) as info:
        consent.template(home, **terms, purposes=PURPOSES, expires=EXPIRES)
    assert str(info.value) == _error(field, name)
    assert challenges(home) == []


@pytest.mark.parametrize(("terms", "field", "name"), [
    *UNHEARD_TERMS,
    pytest.param({"subject": "Иван Smith", "operator": "Evil Corp"}, "subject", "Иван Smith", id="partly-latin"),
])
def test_a_statement_naming_someone_else_for_unheard_terms_is_refused(home: Home, said_statement: Path, terms: dict,
                                                                     field: str, name: str) -> None:
    # the QA repro: a code logged for the claimed terms (as a template of the old code, or a ledger written by
    # hand, would have), and a recording of "I, John Smith, agree that Evil Corp ..." with that code
    issue_code(home, **terms, purposes=PURPOSES, expires=EXPIRES)
    with pytest.raises(ConsentError, match=f"^the {field} '{name}' has (no word in|words not in) Latin letters"):
        consent.grant(home, voice_id="ivan", purposes=PURPOSES, expires=EXPIRES, statement_wav=said_statement, **terms)
    assert consent.list_consents(home) == [] and _consents_logged(home) == 0
    assert not (home.root / "consents").exists() or not list((home.root / "consents").iterdir())


def test_a_latin_name_with_accents_is_still_granted_with_every_field_scored(home: Home, tmp_path: Path) -> None:
    terms = {"subject": "Zoë Ñúñez-Åström", "operator": "Søren Østergaard Studio", "purposes": PURPOSES,
             "expires": EXPIRES}
    issue_code(home, **terms)
    text = statement_text(**terms, code=STATEMENT_CODE)
    wav = save(tmp_path / "zoe.wav", personas.get("nova").speak(text, sample_rate=SR), sample_rate=SR)
    granted = consent.grant(home, voice_id="zoe", statement_wav=wav, **terms)
    fields = granted.evidence["field_scores"]
    assert set(fields) == {"subject", "operator", "purpose:audiobook", "expires", "code"}
    assert fields["subject"] >= consent.NAME_THRESHOLD and fields["operator"] >= consent.NAME_THRESHOLD
    assert granted.subject == "Zoë Ñúñez-Åström"


def test_a_licence_consent_keeps_a_name_in_any_script(home: Home) -> None:
    granted = consent.grant(home, voice_id="corpus-ru", subject="Иван Петров", operator="ООО Ромашка",
                            purposes=["research"], expires=EXPIRES, license_text="CC BY 4.0")
    assert (granted.subject, granted.operator) == ("Иван Петров", "ООО Ромашка")
    assert consent.check(home, "corpus-ru", "research").consent_id == granted.consent_id


# -- the CLI --------------------------------------------------------------------------------------------------------

def _consent(runner, home: Home, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "consent", *args])


def _terms_args(terms: dict) -> list[str]:
    return ["--subject", terms["subject"], "--operator", terms["operator"], "--purpose", PURPOSES[0],
            "--expires", EXPIRES.isoformat()]


@pytest.mark.parametrize("as_json", [[], ["--json"]])
@pytest.mark.parametrize(("terms", "field", "name"), UNHEARD_TERMS[:3])
def test_cli_template_refuses_in_one_line_and_issues_no_code(runner, home: Home, terms: dict, field: str,  # noqa: ANN001
                                                             name: str, as_json: list[str]) -> None:
    res = _consent(runner, home, "template", *_terms_args(terms), *as_json)
    assert res.exit_code == 1, res.output
    assert res.stdout == "" and res.stderr == f"Error: {_error(field, name)}\n"
    assert challenges(home) == []


def test_cli_grant_with_a_statement_refuses_in_one_line_and_grants_nothing(runner, home: Home,  # noqa: ANN001
                                                                           said_statement: Path) -> None:
    terms = {"subject": "Иван Петров", "operator": "ООО Ромашка"}
    issue_code(home, **terms, purposes=PURPOSES, expires=EXPIRES)
    res = _consent(runner, home, "grant", "ivan", *_terms_args(terms), "--statement", str(said_statement))
    assert res.exit_code == 1, res.output
    assert res.stdout == "" and res.stderr == f"Error: {_error('subject', 'Иван Петров')}\n"  # no "Checking..." first
    assert _consents_logged(home) == 0


def test_cli_grant_with_a_licence_keeps_a_name_in_any_script(runner, home: Home) -> None:  # noqa: ANN001
    res = _consent(runner, home, "grant", "corpus-1", "--subject", "李小龍", "--operator", "東京スタジオ",
                   "--purpose", "research", "--expires", EXPIRES.isoformat(), "--license", "CC BY 4.0", "--json")
    assert res.exit_code == 0, res.output
    granted = json.loads(res.stdout)
    assert (granted["subject"], granted["operator"], granted["purposes"]) == ("李小龍", "東京スタジオ", ["research"])
    assert _consents_logged(home) == 1
